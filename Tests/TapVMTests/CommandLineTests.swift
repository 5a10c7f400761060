import Foundation
import Capture
import HostTap
import Wire
import Glibc
import Testing
@testable import TapVM

/// The command-line contract, run against the built `tapvm` binary (tools/test builds it first).
@Suite(.serialized)
struct CommandLineTests {
    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/tapvm").path
    }

    static func tapvm(_ arguments: [String], timeout: Double = 60) throws -> CommandResult {
        try SystemCommand.run([binary] + arguments, timeout: timeout)
    }

    static func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "needs root"), .timeLimit(.minutes(2)))
    func demoJSONFollowsTheContract() throws {
        let name = "tc\(getpid() % 100_000)"
        let pcap = "/tmp/tapvm-test-\(getpid()).pcap"
        defer { unlink(pcap) }
        let result = try Self.tapvm(["demo", "--json", "--name", name, "--seed", "7", "--pcap", pcap])
        let events = try Self.jsonLines(result.standardOutput)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(events.allSatisfy { $0["event"] is String })

        let lease = try #require(events.first { $0["event"] as? String == "lease" })
        #expect((lease["address"] as? String)?.hasPrefix("198.51.100.") == true)
        #expect(lease["prefix_length"] as? Int == 24)
        #expect(lease["router"] as? String == "198.51.100.1")
        #expect(lease["server"] as? String == "198.51.100.1")
        #expect((lease["lease_seconds"] as? Int ?? 0) > 0)
        let phases = try #require(lease["phases_ms"] as? [String: Double])
        let order = ["discover", "offer", "request", "ack", "bound"].compactMap { phases[$0] }
        #expect(order.count == 5 && order == order.sorted())
        #expect((lease["elapsed_ms"] as? Double ?? 0) > (phases["bound"] ?? .infinity) - 1)

        let pings = events.filter { $0["event"] as? String == "ping" }
        #expect(Set(pings.compactMap { $0["direction"] as? String }) == ["guest-to-lan", "lan-to-guest"])
        #expect(pings.allSatisfy { $0["ok"] as? Bool == true && $0["rtt_ms"] is Double })
        // IPv6 (issue 5 contract): both directions over each family.
        #expect(pings.compactMap { $0["family"] as? String }.sorted() == ["ipv4", "ipv4", "ipv6", "ipv6"])
        let addresses = events.filter { $0["event"] as? String == "address" }
        #expect(addresses.compactMap { $0["origin"] as? String } == ["link-local", "slaac"])
        for address in addresses {
            #expect(address["family"] as? String == "ipv6" && address["prefix_length"] as? Int == 64)
            #expect(address["dad"] as? String == "ok" && (address["elapsed_ms"] as? Double ?? 0) > 0)
            #expect((address["address"] as? String).flatMap(IPv6Address.init) != nil)
        }
        #expect((addresses.last?["address"] as? String)?.hasPrefix("2001:db8:1:") == true)
        let router = try #require(events.first { $0["event"] as? String == "router" })
        #expect((router["address"] as? String)?.hasPrefix("fe80::") == true)
        #expect((router["lifetime_seconds"] as? Int ?? 0) > 0 && router["dns"] as? [String] == ["2001:db8:1::1"])

        let summary = try #require(events.last)
        #expect(summary["event"] as? String == "summary" && summary["ok"] as? Bool == true)
        #expect(!(try SystemCommand.run(["ip", "netns", "list"]).standardOutput.contains(name)))

        // The wire capture: a readable pcap, 0600, starting with the guest's DHCPDISCOVER.
        var info = stat()
        #expect(stat(pcap, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let records = try PcapReader(path: pcap).readAll()
        #expect(records.count >= 10)
        let first = try #require(records.first)
        let dhcp = try first.bytes.withUnsafeBytes { bytes in
            let ipv4 = try IPv4Packet(EthernetFrame(bytes).payload)
            return try DHCPMessage(DHCPPacket(UDPDatagram(ipv4.payload).payload))
        }
        #expect(dhcp.messageType == .discover)
        // Every frame the guest sent is at least the 60-byte Ethernet minimum (the kernel would send runts).
        let sent = try records.filter { record in
            try record.bytes.withUnsafeBytes { try EthernetFrame($0).source } == dhcp.clientHardwareAddress
        }
        #expect(sent.count >= 5 && sent.allSatisfy { $0.bytes.count >= 60 })
    }

    @Test(.enabled(if: geteuid() == 0, "needs root"), .timeLimit(.minutes(1)))
    func aReaderThatGoesAwayDoesNotLeaveTheLabBehind() throws {
        let name = "tp\(getpid() % 100_000)"
        let result = try SystemCommand.run(["sh", "-c", #""$1" demo --json --name "$2" | head -n 1"#, "sh", Self.binary, name], timeout: 60)
        #expect(result.standardOutput.contains(#""event":"lease""#))
        #expect(!(try SystemCommand.run(["ip", "netns", "list"]).standardOutput.contains(name)))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func errorsAreOneLineAndNonZero() throws {
        let cases: [([String], String)] = [
            (["run", "--interface", "nosuch0", "--netns", "tvm-no-such-ns", "--exit-after", "lease", "--json"], "tvm-no-such-ns"),
            (["run", "--lab", "nolab-x", "--exit-after", "lease", "--json"], "nolab-x"),
        ]
        for (arguments, mention) in cases {
            let result = try Self.tapvm(arguments, timeout: 20)
            #expect(result.status != 0)
            let summary = try #require(try Self.jsonLines(result.standardOutput).last)
            #expect(summary["event"] as? String == "summary" && summary["ok"] as? Bool == false)
            let error = try #require(summary["error"] as? String)
            #expect(error.contains(mention) && !error.contains("\n"), "\(error)")
        }
    }

    @Test func usageErrorsSayWhatToDo() throws {
        let result = try Self.tapvm(["run", "--exit-after", "lease"], timeout: 20)
        #expect(result.status != 0)
        #expect(result.standardError.contains("exactly one of --interface"))
        let bad = try Self.tapvm(["run", "--lab", "x", "--exit-after", "soon"], timeout: 20)
        #expect(bad.status != 0 && bad.standardError.contains("--exit-after"))
        for value in ["nan", "inf", "1e300"] {
            let restart = try Self.tapvm(["lease", "--lab", "x", "--conflict-restart", value], timeout: 20)
            #expect(restart.status != 0 && restart.standardError.contains("--conflict-restart takes 0 to 3600"))
            #expect(restart.standardError.split(separator: "\n").count <= 3)
        }
        for (arguments, mention) in [(["--ipv6-iid", "stable", "--ipv6-secret", "abc"], "--ipv6-secret"),
                                     (["--ipv6-secret", String(repeating: "ab", count: 16)], "--ipv6-iid stable"),
                                     (["--no-ipv6", "--ping6", "router"], "--ping6"), (["--ping6", "10.0.0.1"], "--ping6"),
                                     (["--quiet-host"], "--quiet-host")] {
            let result = try Self.tapvm(["run", "--lab", "x"] + arguments, timeout: 20)
            #expect(result.status != 0 && result.standardError.contains(mention), "\(arguments): \(result.standardError)")
        }
    }
}

/// `run` on what exists: an existing macvtap by name in its namespace, and an fd handed down by a parent the way
/// libvirt hands one to QEMU.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for network namespaces and macvtap"))
struct AttachTests {
    /// A lab with one bridge-mode macvtap `mvt0` (MAC 02:00:00:00:00:0a) on its lower device.
    static func withMacvtap(_ body: (LabSegment) throws -> Void) throws {
        let lab = try LabSegment(name: "ta\(getpid() % 100_000)")
        try lab.up()
        defer { try? lab.down() }
        try lab.createMacvtap(name: "mvt0", mac: MACAddress(0x02, 0, 0, 0, 0, 0x0a))
        try body(lab)
    }

    /// dnsmasq's log shows the ACK and, because tapvm releases at the end of a run, the RELEASE for mvt0's MAC.
    static func expectAckedAndReleased(_ lease: [String: Any], lab: LabSegment) throws {
        let log = try String(contentsOfFile: lab.logFile, encoding: .utf8)
        let address = try #require(lease["address"] as? String)
        #expect(log.contains("DHCPACK(srv0) \(address) 02:00:00:00:00:0a"), "\(log)")
        #expect(log.contains("DHCPRELEASE(srv0) \(address) 02:00:00:00:00:0a"), "\(log)")
    }

    static func lease(in result: CommandResult) throws -> [String: Any] {
        #expect(result.status == 0, "stdout: \(result.standardOutput) stderr: \(result.standardError)")
        let events = try CommandLineTests.jsonLines(result.standardOutput)
        #expect(events.last?["event"] as? String == "summary" && events.last?["ok"] as? Bool == true)
        return try #require(events.first { $0["event"] as? String == "lease" })
    }

    @Test(.timeLimit(.minutes(1)))
    func runOnAnExistingMacvtapInItsNamespace() throws {
        try Self.withMacvtap { lab in
            let result = try CommandLineTests.tapvm(["run", "--interface", "mvt0", "--netns", lab.clientNamespace,
                                                     "--exit-after", "lease", "--ping", "router", "--json"], timeout: 30)
            let lease = try Self.lease(in: result)
            try Self.expectAckedAndReleased(lease, lab: lab)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func runOnAnInheritedTapFd() throws {
        try Self.withMacvtap { lab in
            // The parent finds the node through sysfs inside the namespace and opens it as fd 5, as libvirt does.
            let dev = try SystemCommand.check(["ip", "netns", "exec", lab.clientNamespace, "sh", "-c",
                                               "cat /sys/class/net/mvt0/macvtap/tap*/dev"]).standardOutput
            let directory = try #require(mkdtemp(strdup("/tmp/tapvm-test-XXXXXX")).map { String(cString: $0) })
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let parts = dev.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").compactMap { UInt32($0) }
            try #require(parts.count == 2)
            try SystemCommand.check(["mknod", directory + "/tap", "c", "\(parts[0])", "\(parts[1])"])
            let script = #"exec 5<>"$1" && rm -f "$1" && exec "$2" run --tap-fd 5 --exit-after lease --json"#
            let result = try SystemCommand.run(["sh", "-c", script, "sh", directory + "/tap", CommandLineTests.binary], timeout: 30)
            let lease = try Self.lease(in: result)
            try Self.expectAckedAndReleased(lease, lab: lab)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func exitAfterSecondsEndsTheRunWithItsLease() throws {
        try Self.withMacvtap { lab in
            let start = ContinuousClock.now
            let result = try CommandLineTests.tapvm(["run", "--interface", "mvt0", "--netns", lab.clientNamespace,
                                                     "--exit-after", "1.5", "--json"], timeout: 30)
            let elapsed = ContinuousClock.now - start
            let lease = try Self.lease(in: result)
            #expect(elapsed >= .milliseconds(1500))
            try Self.expectAckedAndReleased(lease, lab: lab)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func sigtermEndsARunCleanly() throws {
        let lab = try LabSegment(name: "ts\(getpid() % 100_000)")
        try lab.up()
        defer { try? lab.down() }
        // Run until the lease line appears (bounded), then SIGTERM: summary ok, exit 0, the macvtap deleted.
        let script = #"""
            "$1" run --lab "$2" --json > "$3" & pid=$!
            i=0; while [ $i -lt 100 ] && ! grep -q '"event":"lease"' "$3"; do sleep 0.1; i=$((i+1)); done
            kill -TERM $pid; wait $pid; echo "exit=$?"
            """#
        let output = "/tmp/tapvm-test-\(getpid())-term.json"
        defer { unlink(output) }
        let result = try SystemCommand.run(["sh", "-c", script, "sh", CommandLineTests.binary, lab.name, output], timeout: 30)
        let written = try String(contentsOfFile: output, encoding: .utf8)
        #expect(result.standardOutput.contains("exit=0"), "\(result.standardOutput) \(result.standardError) \(written)")
        let events = try CommandLineTests.jsonLines(written)
        #expect(events.first?["event"] as? String == "lease")
        #expect(events.last?["event"] as? String == "summary" && events.last?["interrupted"] as? Bool == true)
        let links = try SystemCommand.check(["ip", "-n", lab.clientNamespace, "-br", "link"]).standardOutput
        #expect(!links.contains("tvm"), "\(links)")
    }

    @Test(.timeLimit(.minutes(1)))
    func aMacvtapHeldByAnotherProcessIsRefused() throws {
        try Self.withMacvtap { lab in
            // This test process holds a queue of mvt0; a second open would split the traffic (MACVTAP-FACTS §6).
            let holder = try TapDevice.open(interface: "mvt0", netns: lab.clientNamespace)
            defer { holder.close() }
            let result = try CommandLineTests.tapvm(["run", "--interface", "mvt0", "--netns", lab.clientNamespace,
                                                     "--exit-after", "lease", "--json"], timeout: 30)
            #expect(result.status != 0)
            let summary = try #require(try CommandLineTests.jsonLines(result.standardOutput).last)
            let error = try #require(summary["error"] as? String)
            #expect(error.contains("already open in pid \(getpid())") && !error.contains("\n"), "\(error)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func notAMacvtapAndNotRootAreOneClearLine() throws {
        try Self.withMacvtap { lab in
            let veth = try CommandLineTests.tapvm(["run", "--interface", "lan0", "--netns", lab.clientNamespace,
                                                   "--exit-after", "lease", "--json"], timeout: 30)
            #expect(veth.status != 0)
            let error = try #require(try CommandLineTests.jsonLines(veth.standardOutput).last?["error"] as? String)
            #expect(error.contains("lan0") && error.contains("macvtap"), "\(error)")
        }
        // As an unprivileged user: one line saying that root is needed, nothing left behind.
        let result = try SystemCommand.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                            CommandLineTests.binary, "lab", "up", "--name", "tnr\(getpid() % 10_000)"], timeout: 20)
        #expect(result.status != 0)
        #expect(result.standardError.contains("needs root"), "\(result.standardError)")
        #expect(!(try SystemCommand.run(["ip", "netns", "list"]).standardOutput.contains("tnr\(getpid() % 10_000)")))
    }
}
