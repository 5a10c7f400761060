import Foundation
import HostTap
import Guest
import Synchronization
import Testing
@testable import TapVM
import Wire

/// Real integration tests on a throw-away lab segment: network namespaces, a veth pair, dnsmasq, a bridge-mode
/// macvtap, and the whole machine (device thread, rings, driver, stack). They need root (CI is root), create
/// only namespaces with unique names, and delete them even when an expectation fails.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for network namespaces and macvtap"))
struct LabIntegrationTests {
    static let counter = Mutex(0)

    /// A lab name unique to this process and test.
    static func uniqueName() -> String {
        let n = counter.withLock { value -> Int in value += 1; return value }
        return "tt\(getpid() % 100_000)-\(n)"
    }

    static func namespaces() -> String {
        (try? SystemCommand.run(["ip", "netns", "list"]).standardOutput) ?? ""
    }

    @Test(.timeLimit(.minutes(2)))
    func labUpLeasePingAndDown() throws {
        let lab = try LabSegment(name: Self.uniqueName())
        try lab.up()
        defer { try? lab.down() }
        #expect(lab.exists)
        let dnsmasq = try #require(lab.dnsmasqPID())

        var options = RunOptions(attachment: .lab(name: lab.name))
        options.seed = 42
        options.pingTargets = [.router]
        let session = try GuestSession(options: options, printer: EventPrinter(json: true), processStart: .now)
        defer { session.shutdown() }
        #expect(session.pump(timeout: .seconds(20)) { session.lease != nil })
        let lease = try #require(session.lease)
        let pool = IPv4Address(LabSegment.poolStart)!...IPv4Address(LabSegment.poolEnd)!
        #expect(pool.contains(lease.address))
        #expect(lease.prefixLength == 24)
        #expect(lease.router == IPv4Address(LabSegment.serverAddress))
        #expect(lease.server == IPv4Address(LabSegment.serverAddress))

        // The guest pings the router, and the server's kernel pings the guest (ARP both ways, ICMP both ways).
        #expect(session.pump(timeout: .seconds(10)) { !session.pingResults.isEmpty })
        #expect(session.pingResults.first?.received ?? 0 > 0)
        #expect(try lab.pingFromServer("\(lease.address)").received == 3)

        // dnsmasq recorded the lease under the guest's MAC.
        let leases = try String(contentsOfFile: lab.runDirectory + "/dnsmasq.leases", encoding: .utf8)
        #expect(leases.contains(session.mac.description) && leases.contains("\(lease.address)"))

        // Shutting down releases the lease (RFC 2131 §4.4.6): dnsmasq drops it from its lease file.
        session.shutdown()
        var released = false
        for _ in 0..<50 where !released {
            released = !(try String(contentsOfFile: lab.runDirectory + "/dnsmasq.leases", encoding: .utf8)).contains(session.mac.description)
            if !released { usleep(20_000) }
        }
        #expect(released, "dnsmasq still holds the lease of \(session.mac)")
        try lab.down()
        #expect(!Self.namespaces().contains(lab.name))
        #expect(!LabSegment.isRunning(dnsmasq), "dnsmasq \(dnsmasq) still runs after lab down")
    }

    @Test func runOnAMissingLabIsOneClearError() throws {
        let options = RunOptions(attachment: .lab(name: Self.uniqueName()))
        #expect {
            _ = try GuestSession(options: options, printer: EventPrinter(json: true), processStart: .now)
        } throws: { error in
            "\(error)".contains("is not up") && !"\(error)".contains("\n")
        }
    }

    @Test func labUpTwiceIsRefusedAndLeavesTheFirstIntact() throws {
        let lab = try LabSegment(name: Self.uniqueName())
        try lab.up()
        defer { try? lab.down() }
        #expect(throws: TapVMError.self) { try lab.up() }
        #expect(lab.exists && lab.dnsmasqPID() != nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func aDeletedMacvtapEndsTheSessionWithOneLine() throws {
        let lab = try LabSegment(name: Self.uniqueName())
        try lab.up()
        defer { try? lab.down() }
        var options = RunOptions(attachment: .lab(name: lab.name))
        options.seed = 3
        let session = try GuestSession(options: options, printer: EventPrinter(json: true), processStart: .now)
        defer { session.shutdown() }
        #expect(session.pump(timeout: .seconds(20)) { session.lease != nil })
        // Reads, writes and poll never notice (MACVTAP-FACTS §3g); the session's once-a-second ioctl does.
        // The session still holds the deleted device's fd, and the kernel hands its device number to the next
        // macvtap created: a placeholder takes it at once (one `ip -batch`), so that a parallel test's new macvtap
        // does not look held by this process.
        let interface = try #require(session.createdInterface)
        let batch = "link del \(interface)\nlink add link \(lab.lowerInterface) name hold0 type macvtap mode bridge\n"
        let input = NSTemporaryDirectory() + "tvmt-batch-\(getpid())"
        try batch.write(toFile: input, atomically: true, encoding: .utf8)
        defer { unlink(input) }
        try SystemCommand.check(["ip", "-n", lab.clientNamespace, "-batch", input])
        #expect(!session.pump(timeout: .seconds(5)) { false })
        let failure = try #require(session.failure)
        #expect(failure.contains("deleted") && !failure.contains("\n"), "\(failure)")
    }

    @Test(.timeLimit(.minutes(1)))
    func aLargePoolComesFromTheBenchmarkingRange() throws {
        let lab = try LabSegment(name: Self.uniqueName())
        let configuration = LabConfiguration(poolSize: 1000, leaseTime: 120)
        try lab.up(configuration)
        defer { try? lab.down() }
        let session = try GuestSession(options: RunOptions(attachment: .lab(name: lab.name)), printer: EventPrinter(json: true),
                                       processStart: .now)
        defer { session.shutdown() }
        #expect(session.pump(timeout: .seconds(20)) { session.lease != nil })
        let lease = try #require(session.lease)
        #expect((configuration.poolStart...configuration.poolEnd).contains(lease.address))
        #expect(lease.prefixLength == 15 && lease.router == IPv4Address(198, 18, 0, 1))
        #expect(lease.leaseTime == .seconds(120))
        #expect(throws: TapVMError.self) { try LabConfiguration(poolSize: 70_000).validate() }
    }
}
