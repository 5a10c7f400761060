import Foundation
import Glibc
import HostTap
import Testing
import Virtio
@testable import TapVM
import Wire

@Suite struct LeaseBenchUnitTests {
    @Test func summaryHasTheMedianOfOddAndEvenCounts() throws {
        let odd = try #require(BenchSummary([3.5, 1.25, 2.0]))
        #expect(odd.median == 2.0 && odd.minimum == 1.25 && odd.maximum == 3.5 && odd.count == 3)
        let even = try #require(BenchSummary([4, 1, 3, 2]))
        #expect(even.median == 2.5 && even.minimum == 1 && even.maximum == 4 && even.count == 4)
        #expect(BenchSummary([]) == nil)
    }

    /// One netlink message in host byte order (netlink(7)): nlmsghdr, ifaddrmsg, then attributes padded to 4.
    static func message(type: UInt16, family: UInt8, index: UInt32, attributes: [(UInt16, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = [family, 24, 0, 0] + withUnsafeBytes(of: index) { Array($0) }
        for (attributeType, value) in attributes {
            let length = UInt16(4 + value.count)
            body += withUnsafeBytes(of: length) { Array($0) } + withUnsafeBytes(of: attributeType) { Array($0) } + value
            while body.count % 4 != 0 { body.append(0) }
        }
        let length = UInt32(16 + body.count)
        return withUnsafeBytes(of: length) { Array($0) } + withUnsafeBytes(of: type) { Array($0) }
            + [0, 0] + [0x11, 0, 0, 0] + [0x22, 0, 0, 0] + body
    }

    static let datagram: [UInt8] =
        message(type: 20, family: 10, index: 7, attributes: [(1, [UInt8](repeating: 0x20, count: 16))])  // IPv6: not ours
        + message(type: 20, family: 2, index: 9, attributes: [(2, [198, 51, 100, 9])])                     // other interface
        + message(type: 21, family: 2, index: 7, attributes: [(2, [198, 51, 100, 21])])                    // RTM_DELADDR
        + message(type: 20, family: 2, index: 7, attributes: [(1, [198, 51, 100, 66]), (3, Array("x".utf8) + [0]),
                                                              (2, [198, 51, 100, 77])])                    // ours: IFA_LOCAL wins

    @Test func newAddressMessagesForTheInterfaceAreFoundAndOthersIgnored() {
        let found = Self.datagram.withUnsafeBytes { BenchAddressMonitor.newIPv4Addresses(in: $0, interfaceIndex: 7) }
        #expect(found == [IPv4Address(198, 51, 100, 77)])
        let other = Self.datagram.withUnsafeBytes { BenchAddressMonitor.newIPv4Addresses(in: $0, interfaceIndex: 9) }
        #expect(other == [IPv4Address(198, 51, 100, 9)])
    }

    /// A datagram cut anywhere never traps, and a cut message is not reported.
    @Test func everyTruncationIsHandled() {
        let last = Self.datagram.count - Self.message(type: 20, family: 2, index: 7, attributes: [(1, [198, 51, 100, 66]),
                                                                                             (3, Array("x".utf8) + [0]), (2, [198, 51, 100, 77])]).count
        for cut in 0..<Self.datagram.count {
            let found = Array(Self.datagram[..<cut]).withUnsafeBytes {
                BenchAddressMonitor.newIPv4Addresses(in: $0, interfaceIndex: 7)
            }
            #expect(found.isEmpty, "cut at \(cut) of \(Self.datagram.count), last message at \(last)")
        }
        var lying = Self.datagram
        lying[0] = 0xff  // the first message claims more bytes than there are
        #expect(lying.withUnsafeBytes { BenchAddressMonitor.newIPv4Addresses(in: $0, interfaceIndex: 7) }.isEmpty)
    }

    @Test func tapvmsTimeIsCutIntoPartsFromItsLeaseLine() throws {
        let line = #"{"event":"lease","address":"198.51.100.60","phases_ms":{"discover":0.250,"offer":0.750,"request":0.875,"ack":1.500,"bound":1.750},"elapsed_ms":5.500}"#
        let event = try #require(LeaseBench.Context.jsonObject(line))
        let phases = try #require(LeaseBench.TapVMPhases(leaseEvent: event, total: 9.0))
        #expect(phases == LeaseBench.TapVMPhases(startAndReport: 3.5, attach: 3.75, boot: 0.25, exchange: 1.5))
        #expect(phases.values.reduce(0, +) == 9.0)
        #expect(LeaseBench.TapVMPhases(leaseEvent: ["event": "lease"], total: 9.0) == nil)
    }

    @Test func durationsBecomePollTimeoutsRoundedUp() {
        #expect(Duration.milliseconds(1500).pollTimeoutMilliseconds == 1500)
        #expect(Duration.microseconds(1).pollTimeoutMilliseconds == 1)
        #expect(Duration.zero.pollTimeoutMilliseconds == 0)
        #expect(Duration.seconds(-1).pollTimeoutMilliseconds == 0)
        #expect(Duration.seconds(3600).pollTimeoutMilliseconds == 3_600_000)  // the shared one: callers loop to their deadline
    }
}

@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for network namespaces"))
struct LeaseBenchIntegrationTests {
    /// A process spawned from a namespace thread runs in that namespace (no `ip -n`), and the monitor created there
    /// sees the address it adds.
    @Test(.timeLimit(.minutes(1)))
    func theMonitorSeesAnAddressAddedByAProcessSpawnedInTheNamespace() throws {
        let namespace = "tvbt-\(getpid())"
        try SystemCommand.check(["ip", "netns", "add", namespace])
        defer { _ = try? SystemCommand.run(["ip", "netns", "del", namespace]) }
        try SystemCommand.check(["ip", "-n", namespace, "link", "add", "vA", "type", "veth", "peer", "name", "vB"])
        try SystemCommand.check(["ip", "-n", namespace, "link", "set", "vA", "up"])
        let ip = try #require(SystemCommand.locate("ip"))
        let seen = try NetworkNamespace.perform(in: namespace) { () -> IPv4Address? in
            let index = if_nametoindex("vA")
            guard index != 0, let monitor = try? BenchAddressMonitor(),
                  let process = try? BenchProcess.spawn([ip, "-4", "address", "add", "198.51.100.77/24", "dev", "vA"],
                                                        environment: [], output: 2, errors: 2) else { return nil }
            defer { process.terminate() }
            return monitor.waitForAddress(interfaceIndex: index, until: .now + .seconds(10))?.address
        }
        #expect(seen == IPv4Address(198, 51, 100, 77))
    }

    /// The contract: `tapvm bench lease --json` ends with the `bench` event (issue 4).
    @Test(.timeLimit(.minutes(2)))
    func benchLeaseJSONEndsWithTheBenchEvent() throws {
        let result = try CommandLineTests.tapvm(["bench", "lease", "--runs", "1", "--client", "tapvm", "--client", "dhcpcd",
                                                 "--json", "--name", "tb\(getpid() % 100_000)"], timeout: 100)
        let events = try CommandLineTests.jsonLines(result.standardOutput)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let last = try #require(events.last)
        #expect(last["event"] as? String == "bench" && last["name"] as? String == "lease")
        let tapvm = try #require(last["tapvm_ms"] as? Double)
        #expect(tapvm > 0)
        let row = try #require(events.first { $0["event"] as? String == "bench-client" && $0["client"] as? String == "tapvm" })
        #expect((row["exchange_median_ms"] as? Double).map { $0 > 0 && $0 < tapvm } == true)
        if SystemCommand.locate("dhcpcd") != nil {
            #expect(last["fastest_kernel"] as? String == "dhcpcd")
            let kernel = try #require(last["fastest_kernel_ms"] as? Double)
            #expect(abs((last["ratio"] as? Double ?? 0) - tapvm / kernel) < 0.01)
        } else {
            #expect(last["ratio"] is NSNull)
        }
        #expect(!(try SystemCommand.run(["ip", "netns", "list"]).standardOutput.contains("tb\(getpid() % 100_000)")))
    }
}
