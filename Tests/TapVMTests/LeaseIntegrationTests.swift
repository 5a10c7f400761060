import Capture
import Foundation
import Glibc
import HostTap
import Synchronization
import Testing
@testable import TapVM
import Wire

/// `tapvm lease` against dnsmasq on throw-away labs: lease and RELEASE, INIT-REBOOT from the lease file, NAK,
/// renew and rebind with a lease cap, conflict detection with DECLINE, pool exhaustion, and 1000 identities on one
/// passthru macvtap. Each test makes its own lab (unique name), takes it down even when an expectation fails, and
/// bounds every wait (tapvm's own --timeout and the command's timeout).
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for network namespaces and macvtap"))
struct LeaseIntegrationTests {
    static let counter = Mutex(0)

    static func uniqueName() -> String {
        let n = counter.withLock { value -> Int in value += 1; return value }
        return "tl\(getpid() % 100_000)-\(n)"
    }

    /// A lab with `configuration`, a fresh state directory, and cleanup of both.
    static func withLab(_ configuration: LabConfiguration = LabConfiguration(),
                        _ body: (LabSegment, String) throws -> Void) throws {
        let lab = try LabSegment(name: uniqueName())
        try lab.up(configuration)
        let state = "/tmp/tapvm-lease-\(lab.name)"
        defer {
            try? lab.down()
            try? FileManager.default.removeItem(atPath: state)
        }
        try body(lab, state)
    }

    static func lease(_ lab: LabSegment, _ arguments: [String], timeout: Double = 60) throws -> (status: Int32, events: [[String: Any]], stderr: String) {
        let result = try CommandLineTests.tapvm(["lease", "--lab", lab.name, "--json"] + arguments, timeout: timeout)
        // With --json the reason for a failure is in the summary line on stdout: keep both for the messages.
        return (result.status, try CommandLineTests.jsonLines(result.standardOutput),
                result.standardError + (result.standardOutput.split(separator: "\n").last.map { "\n" + $0 } ?? ""))
    }

    static func log(_ lab: LabSegment) -> [Substring] {
        ((try? String(contentsOfFile: lab.logFile, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    static func dnsmasqLeases(_ lab: LabSegment) -> String {
        (try? String(contentsOfFile: lab.runDirectory + "/dnsmasq.leases", encoding: .utf8)) ?? ""
    }

    static func events(_ events: [[String: Any]], _ name: String) -> [[String: Any]] {
        events.filter { $0["event"] as? String == name }
    }

    @Test(.timeLimit(.minutes(2)))
    func leaseReportsEveryPhaseThenReleases() throws {
        try Self.withLab { lab, state in
            let run = try Self.lease(lab, ["--seed", "11", "--state-dir", state])
            #expect(run.status == 0, "\(run.stderr)")
            let lease = try #require(Self.events(run.events, "lease").first)
            let mac = try #require(lease["mac"] as? String)
            let address = try #require(lease["address"] as? String)
            #expect(address.hasPrefix("198.51.100."))
            #expect(lease["state"] as? String == "BOUND" && lease["retransmissions"] as? Int == 0)
            let phases = try #require(lease["phases_ms"] as? [String: Double])
            let order = ["discover", "offer", "request", "ack", "bound"].compactMap { phases[$0] }
            #expect(order.count == 5 && order == order.sorted())
            #expect((lease["elapsed_ms"] as? Double ?? 0) >= (phases["bound"] ?? .infinity))

            let summary = try #require(run.events.last)
            #expect(summary["event"] as? String == "lease-summary" && summary["ok"] as? Bool == true)
            #expect(summary["requested"] as? Int == 1 && summary["bound"] as? Int == 1)
            #expect(summary["naks"] as? Int == 0 && summary["declines"] as? Int == 0)
            #expect(summary["leases_per_second"] is Double)

            // RELEASE reached dnsmasq, which dropped the lease; the lease file went with it.
            #expect(Self.log(lab).contains { $0.contains("DHCPRELEASE(srv0) \(address) \(mac)") })
            #expect(!Self.dnsmasqLeases(lab).contains(mac))
            #expect((try? FileManager.default.contentsOfDirectory(atPath: state))?.isEmpty ?? true)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func noReleaseKeepsTheLeaseAndTheNextRunRebootsFromItsFile() throws {
        try Self.withLab { lab, state in
            let first = try Self.lease(lab, ["--seed", "12", "--state-dir", state, "--no-release"])
            #expect(first.status == 0, "\(first.stderr)")
            let lease = try #require(Self.events(first.events, "lease").first)
            let mac = try #require(lease["mac"] as? String)
            let address = try #require(lease["address"] as? String)
            #expect(Self.dnsmasqLeases(lab).contains(mac), "--no-release must keep the lease at the server")
            #expect(!Self.log(lab).contains { $0.contains("DHCPRELEASE") })
            let parsedMAC = try #require(MACAddress(mac))
            let file = LeaseStore(directory: state).path(mac: parsedMAC)
            var info = stat()
            #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o600)

            let show = try CommandLineTests.tapvm(["lease", "--show", "--state-dir", state, "--json"])
            #expect(show.status == 0)
            let shown = try #require(try CommandLineTests.jsonLines(show.standardOutput).first)
            #expect(shown["event"] as? String == "lease-file" && shown["address"] as? String == address && shown["valid"] as? Bool == true)
            let dump = try CommandLineTests.tapvm(["lease", "--show", "--state-dir", state, "--mac", mac])
            #expect(dump.standardOutput.contains("ip_address=\(address)\n") && dump.standardOutput.contains("dhcp_lease_time=3600"))

            // The second run asks for the remembered address at once (INIT-REBOOT): a REQUEST, no DISCOVER.
            let second = try Self.lease(lab, ["--seed", "12", "--state-dir", state])
            #expect(second.status == 0, "\(second.stderr)")
            let rebooted = try #require(Self.events(second.events, "lease").first)
            #expect(rebooted["address"] as? String == address)
            let phases = try #require(rebooted["phases_ms"] as? [String: Any])
            #expect(phases["discover"] is NSNull && phases["request"] is Double)
            let mine = Self.log(lab).filter { $0.contains(mac) }
            #expect(mine.count { $0.contains("DHCPDISCOVER") } == 1, "only the first run may DISCOVER")
            #expect(mine.count { $0.contains("DHCPREQUEST(srv0) \(address)") } == 2)
            #expect(mine.contains { $0.contains("DHCPRELEASE") })
            #expect(!FileManager.default.fileExists(atPath: file), "RELEASE deletes the lease file")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func leaseCapturesAtTheFd() throws {
        try Self.withLab { lab, state in
            let pcap = NSTemporaryDirectory() + "tvmt-lease-\(getpid()).pcap"
            defer { unlink(pcap); unlink(pcap + ".json") }
            let run = try Self.lease(lab, ["--seed", "31", "--state-dir", state, "--pcap", pcap])
            #expect(run.status == 0, "\(run.stderr)")
            // DISCOVER, OFFER, REQUEST, ACK and the RELEASE, as they crossed the fd.
            let records = try PcapReader(path: pcap).readAll()
            let kinds = records.map { FrameFields($0.bytes).kind }.filter { $0.hasPrefix("DHCP") }
            #expect(Array(kinds.prefix(4)) == ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"], "\(kinds)")
            #expect(kinds.contains("DHCPRELEASE"))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func runHonoursNoRelease() throws {
        try Self.withLab { lab, _ in
            let result = try CommandLineTests.tapvm(["run", "--lab", lab.name, "--exit-after", "lease", "--seed", "21",
                                                     "--no-release", "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let lease = try #require(try CommandLineTests.jsonLines(result.standardOutput).first { $0["event"] as? String == "lease" })
            let address = try #require(lease["address"] as? String)
            #expect(Self.dnsmasqLeases(lab).contains(address))
            #expect(!Self.log(lab).contains { $0.contains("DHCPRELEASE") })
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aRememberedAddressOutsideThePoolIsNAKedAndACorruptFileIgnored() throws {
        try Self.withLab { lab, state in
            let first = try Self.lease(lab, ["--seed", "13", "--state-dir", state, "--no-release"])
            try #require(first.status == 0, "\(first.stderr)")
            let macText = try #require(Self.events(first.events, "lease").first?["mac"] as? String)
            let mac = try #require(MACAddress(macText))
            let store = LeaseStore(directory: state)
            var record = try #require(try store.read(mac: mac))
            record.address = IPv4Address(198, 51, 100, 250)
            try store.write(record)

            // INIT-REBOOT for .250: the authoritative dnsmasq NAKs it; the client starts over (asking for .250 in
            // its DISCOVER, which dnsmasq ignores) and is bound inside the pool.
            let second = try Self.lease(lab, ["--seed", "13", "--state-dir", state, "--request-ip", "198.51.100.250"])
            #expect(second.status == 0, "\(second.stderr)")
            #expect(Self.log(lab).contains { $0.contains("DHCPNAK(srv0) 198.51.100.250 \(mac)") })
            let summary = try #require(second.events.last)
            #expect(summary["naks"] as? Int == 1)
            let addressText = try #require(Self.events(second.events, "lease").first?["address"] as? String)
            let address = try #require(IPv4Address(addressText))
            #expect((IPv4Address(198, 51, 100, 50)...IPv4Address(198, 51, 100, 150)).contains(address))

            try "{ this is not a lease".write(toFile: store.path(mac: mac), atomically: true, encoding: .utf8)
            let third = try Self.lease(lab, ["--seed", "13", "--state-dir", state])
            #expect(third.status == 0, "\(third.stderr)")
            let warning = try #require(Self.events(third.events, "warning").first?["message"] as? String)
            #expect(warning.contains("unusable") && !warning.contains("\n"))
            let phases = try #require(Self.events(third.events, "lease").first?["phases_ms"] as? [String: Any])
            #expect(phases["discover"] is Double, "a corrupt file means a fresh INIT")
        }
    }

    /// Changes the server's MAC `after` the guest was bound (bounded: one change, after a fixed delay): the guest
    /// keeps sending its unicast RENEWING REQUEST to the MAC it knows, the server's veth discards frames for another
    /// MAC, and only the broadcast REQUEST of REBINDING gets through.
    static func moveServerMAC(_ lab: LabSegment, after delay: Duration) -> DispatchWorkItem {
        let work = DispatchWorkItem {
            _ = try? SystemCommand.run(["ip", "-n", lab.serverNamespace, "link", "set", "srv0", "address", "02:00:5e:99:99:01"])
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(delay.components.seconds), execute: work)
        return work
    }

    @Test(.timeLimit(.minutes(2)))
    func aLeaseCapRenewsAtT1AndRebindsAtT2WhenTheServerIsUnreachable() throws {
        try Self.withLab { lab, state in
            let renewed = try Self.lease(lab, ["--seed", "15", "--state-dir", state, "--lease-cap", "8", "--renew", "--timeout", "20"])
            #expect(renewed.status == 0, "\(renewed.stderr)")
            let renewal = try #require(Self.events(renewed.events, "renewed").first)
            #expect(renewal["via"] as? String == "RENEWING")
            let start = try #require(renewal["renew_start_ms"] as? Double)
            let leasePhases = try #require(Self.events(renewed.events, "lease").first?["phases_ms"] as? [String: Double])
            let bound = leasePhases["bound"] ?? 0
            #expect((3_000...5_000).contains(start - bound), "T1 is half of the capped 8 s lease")
            #expect(Self.events(renewed.events, "lease").first?["lease_seconds"] as? Int == 8)

            // T1 comes 4 s after the bind, T2 7 s after it; the server's MAC moves at 2 s.
            let move = Self.moveServerMAC(lab, after: .seconds(2))
            let rebound = try Self.lease(lab, ["--seed", "16", "--state-dir", state, "--lease-cap", "8", "--renew", "--timeout", "20"])
            move.cancel()
            #expect(rebound.status == 0, "\(rebound.stderr)")
            let rebinding = try #require(Self.events(rebound.events, "renewed").first)
            #expect(rebinding["via"] as? String == "REBINDING")
            let mac = try #require(Self.events(rebound.events, "lease").first?["mac"] as? String)
            #expect(Self.log(lab).filter { $0.contains(mac) && $0.contains("DHCPACK") }.count == 2)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aConflictMakesTheGuestDeclineAndTakeAnotherAddress() throws {
        try Self.withLab { lab, state in
            let first = try Self.lease(lab, ["--seed", "14", "--state-dir", state + "-1", "--no-release"])
            try #require(first.status == 0, "\(first.stderr)")
            defer { try? FileManager.default.removeItem(atPath: state + "-1") }
            let taken = try #require(Self.events(first.events, "lease").first?["address"] as? String)
            // Another host on the segment now uses that address: a bridge-mode macvlan beside the guest's bridge-mode
            // macvtap on the lab's lower (MACVTAP-FACTS §1: bridge to bridge is delivered), whose kernel answers
            // ARP probes for its own address. dnsmasq still offers the address to the same MAC.
            let host = ["ip", "-n", lab.clientNamespace]
            try SystemCommand.check(host + ["link", "add", "link", lab.lowerInterface, "name", "cf0", "address",
                                            "02:00:5e:88:88:01", "type", "macvlan", "mode", "bridge"])
            try SystemCommand.check(host + ["addr", "add", taken + "/24", "dev", "cf0"])
            try SystemCommand.check(host + ["link", "set", "cf0", "up"])

            let second = try Self.lease(lab, ["--seed", "14", "--state-dir", state, "--acd", "--conflict-restart", "1",
                                              "--timeout", "40"], timeout: 60)
            #expect(second.status == 0, "\(second.stderr)")
            let lease = try #require(Self.events(second.events, "lease").first)
            let address = try #require(lease["address"] as? String)
            #expect(address != taken)
            let phases = try #require(lease["phases_ms"] as? [String: Double])
            let probe = ["ack", "probe_start", "probe_end", "announce", "bound"].compactMap { phases[$0] }
            #expect(probe.count == 5 && probe == probe.sorted())
            let summary = try #require(second.events.last)
            #expect((summary["declines"] as? Int ?? 0) >= 1)
            #expect(Self.log(lab).contains { $0.contains("DHCPDECLINE(srv0) \(taken)") })
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anExhaustedPoolIsAClearFailureNotAHang() throws {
        try Self.withLab(LabConfiguration(poolSize: 2)) { lab, state in
            let started = ContinuousClock.now
            let run = try Self.lease(lab, ["--seed", "17", "--state-dir", state, "--count", "4", "--timeout", "6"], timeout: 40)
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(run.status == 1)
            let leases = Self.events(run.events, "lease")
            #expect(leases.count == 4)
            #expect(leases.count { $0["address"] is String } == 2)
            #expect(leases.count { $0["address"] is NSNull && $0["state"] as? String == "SELECTING" } == 2)
            let summary = try #require(run.events.last)
            #expect(summary["event"] as? String == "lease-summary" && summary["ok"] as? Bool == false)
            #expect(summary["requested"] as? Int == 4 && summary["bound"] as? Int == 2)
            let error = try #require(summary["error"] as? String)
            #expect(error.contains("2 of 4") && error.contains("pool") && !error.contains("\n"))
        }
    }

    @Test(.timeLimit(.minutes(4)))
    func aThousandIdentitiesOnOnePassthruCard() throws {
        try Self.withLab(LabConfiguration(poolSize: 1000)) { lab, state in
            let run = try Self.lease(lab, ["--seed", "18", "--state-dir", state, "--count", "1000", "--parallel", "200",
                                           "--timeout", "120"], timeout: 200)
            #expect(run.status == 0, "\(run.stderr.suffix(500))")
            let leases = Self.events(run.events, "lease")
            #expect(leases.count == 1000)
            #expect(Set(leases.compactMap { $0["address"] as? String }).count == 1000)
            #expect(Set(leases.compactMap { $0["mac"] as? String }).count == 1000)
            let summary = try #require(run.events.last)
            #expect(summary["bound"] as? Int == 1000)
            let rate = try #require(summary["leases_per_second"] as? Double)
            print("tapvm lease --count 1000 --parallel 200 on a 1000-address pool: \(rate) leases/s, naks \(summary["naks"] ?? 0), retransmissions \(summary["retransmissions"] ?? 0)")
            #expect(rate >= 20, "a generous floor; the README reports the real figure")
            // Every lease was released (paced, so dnsmasq's socket keeps up).
            var left = Self.dnsmasqLeases(lab)
            for _ in 0..<30 where !left.isEmpty {
                usleep(100_000)
                left = Self.dnsmasqLeases(lab)
            }
            #expect(left.isEmpty, "\(left.split(separator: "\n").count) leases still held")
        }
    }
}
