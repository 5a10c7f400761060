import Testing
@testable import Guest
import Wire

/// What the stack built on an address does not outlive it: the ARP cache and its queue, and running pings.
@Suite struct LeaseChangeTests {
    static let silent = IPv4Address(198, 51, 100, 77)

    /// Binds (lease 100 s), reaches RENEWING with the server's MAC known, and returns the renew REQUEST.
    func renewing(_ harness: StackHarness) throws -> DHCPMessage {
        harness.server.leaseSeconds = 100
        let lease = try harness.bind()
        _ = harness.sent()
        let arp = try parseARP(try #require(harness.run(until: lease.renewAt).first?.frame))
        harness.receive(try harness.server.arpReply(to: arp))
        return try parseDHCP(try #require(harness.sent().first))
    }

    @Test func nakWhileAPingWaitsForARPFlushesTheQueueAndEndsThePings() throws {
        let harness = StackHarness()
        let renew = try renewing(harness)
        harness.stack.ping(Self.silent, count: 3, now: harness.now)
        #expect(try harness.sent().map { try parseARP($0).targetProtocolAddress } == [Self.silent])
        #expect(harness.stack.neighbors.isResolving(Self.silent))
        _ = harness.drainEvents()

        harness.receive(try harness.server.reply(.nak, to: renew))
        let events = harness.drainEvents()
        #expect(events.contains(.leaseLost(reason: "DHCPNAK from \(Lab.server)")))
        #expect(events.contains(.pingsFinished(target: Self.silent, sent: 1, received: 0)))
        #expect(harness.stack.counters.drops(.neighborFlushed) == 1)
        #expect(!harness.stack.neighbors.contains(Self.silent) && !harness.stack.neighbors.contains(Lab.server))
        #expect(!harness.stack.pinger.isActive)
        // No more echo requests or ARP retries for the silent host: only DHCP from here on.
        let later = harness.run(until: harness.now + .seconds(5))
        #expect(later.allSatisfy { isDHCP($0.frame) } && !later.isEmpty)
        #expect(harness.stack.counters.drops(.arpResolutionFailed) == 0)
    }

    @Test func aRenewalWithANewAddressFlushesTheARPCache() throws {
        let harness = StackHarness()
        let renew = try renewing(harness)
        harness.stack.ping(Self.silent, count: 1, now: harness.now)
        _ = harness.sent()
        #expect(harness.stack.neighbors.contains(Lab.server))

        let moved = IPv4Address(198, 51, 100, 24)
        harness.server.offered = moved
        harness.receive(try harness.server.reply(.ack, to: renew, destination: renew.clientAddress))
        #expect(harness.stack.interface?.address == moved)
        #expect(harness.stack.counters.drops(.neighborFlushed) == 1)
        #expect(!harness.stack.neighbors.contains(Lab.server) && !harness.stack.neighbors.contains(Self.silent))
    }

    @Test func aRenewalWithTheSameAddressKeepsTheARPCache() throws {
        let harness = StackHarness()
        let renew = try renewing(harness)
        harness.receive(try harness.server.reply(.ack, to: renew))
        #expect(harness.stack.dhcpState == .bound)
        #expect(harness.stack.neighbors.lookup(Lab.server, now: harness.now) == Lab.serverMAC)
        #expect(harness.stack.counters.drops(.neighborFlushed) == 0)
    }

    @Test func aReleaseWaitingForTheServersMACSurvivesTheFlush() throws {
        let harness = StackHarness()
        let lease = try harness.bind()
        _ = harness.sent()
        harness.stack.ping(Self.silent, count: 2, now: harness.now)
        _ = harness.sent()
        _ = harness.drainEvents()

        harness.stack.release(now: harness.now)
        let arp = try parseARP(try #require(harness.sent().first))
        #expect(arp.targetProtocolAddress == Lab.server && arp.senderProtocolAddress == lease.address)
        #expect(harness.stack.counters.drops(.neighborFlushed) == 1)   // the echo request to the silent host
        #expect(harness.drainEvents().contains(.pingsFinished(target: Self.silent, sent: 1, received: 0)))

        harness.receive(try harness.server.arpReply(to: arp))
        let frame = try #require(harness.sent().first)
        let release = try parseUDP(frame)
        #expect(release.ip.ethernet.destination == Lab.serverMAC && release.ip.header.destination == Lab.server)
        #expect(release.ip.header.source == lease.address)
        #expect(try parseDHCP(frame).messageType == .release)
    }
}
