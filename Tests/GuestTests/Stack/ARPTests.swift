import Testing
@testable import Guest
import Wire

/// ARP (RFC 826, RFC 1122 §2.3.2) through the stack, and the neighbour cache on its own.
@Suite struct ARPTests {
    @Test func requestForOurAddressIsAnsweredWithCorrectFields() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                targetProtocolAddress: Lab.offered), to: .broadcast))
        let frames = harness.sent()
        #expect(frames.count == 1)
        // 14 + 28 bytes, zero-padded to the 60-byte Ethernet minimum.
        #expect(frames[0].count == 60 && frames[0][42...].allSatisfy { $0 == 0 })
        let ethernet = try parseEthernet(frames[0]).header
        #expect(ethernet.destination == Lab.peerMAC && ethernet.source == Lab.clientMAC && ethernet.etherType == .arp)
        #expect(try parseARP(frames[0]) == ARPMessage(operation: .reply,
                                                       senderHardwareAddress: Lab.clientMAC, senderProtocolAddress: Lab.offered,
                                                       targetHardwareAddress: Lab.peerMAC, targetProtocolAddress: Lab.peer))
        // The requester was learned (RFC 826: we are the target, so add it).
        #expect(harness.stack.neighbors.lookup(Lab.peer, now: harness.now) == Lab.peerMAC)
        #expect(harness.stack.counters.arp.received == 1 && harness.stack.counters.arp.transmitted == 1)
    }

    @Test func requestsForOtherAddressesAreNotAnsweredNorLearned() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                targetProtocolAddress: IPv4Address(198, 51, 100, 99)), to: .broadcast))
        #expect(harness.sent().isEmpty)
        #expect(!harness.stack.neighbors.contains(Lab.peer))
        #expect(harness.stack.counters.drops(.arpNotForUs) == 1)
    }

    @Test func malformedARPIsACountedDrop() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try ethernetFrame(to: .broadcast, from: Lab.peerMAC, type: .arp, payload: [0, 1, 8, 0, 6, 4]))
        var wrongHardware = try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                    senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                    targetProtocolAddress: Lab.offered), to: .broadcast)
        wrongHardware[14 + 1] = 6   // hardware type 6 (IEEE 802)
        harness.receive(wrongHardware)
        #expect(harness.sent().isEmpty)
        #expect(harness.stack.counters.drops(.arpMalformed) == 1)
        #expect(harness.stack.counters.drops(.arpUnsupported) == 1)
    }

    @Test func resolutionIsRateLimitedAndGivesUpAfterThreeRequests() throws {
        let harness = StackHarness { $0.pingTimeout = .milliseconds(500); $0.pingInterval = .milliseconds(200) }
        try harness.bind()
        _ = harness.sent()
        _ = harness.drainEvents()
        let silent = IPv4Address(198, 51, 100, 77)
        let start = harness.now
        harness.stack.ping(silent, count: 5, now: start)
        var log = harness.sent().map { (at: harness.now, frame: $0) }
        log += harness.run(until: start + .milliseconds(3500))
        let requests = try log.filter { isARP($0.frame) }.map { ($0.at, try parseARP($0.frame)) }
        // Five echo requests queue behind the resolution, yet only one ARP request per second goes out, three in all.
        #expect(requests.map { $0.0 - start } == [.zero, .seconds(1), .seconds(2)])
        for (_, request) in requests {
            #expect(request.operation == .request && request.targetProtocolAddress == silent)
            #expect(request.senderProtocolAddress == Lab.offered && request.targetHardwareAddress == .zero)
        }
        #expect(log.allSatisfy { isARP($0.frame) })
        // The cache holds 4 per address: the oldest was dropped when the fifth came, the other 4 at the give-up.
        #expect(harness.stack.counters.drops(.arpQueueOverflow) == 1)
        #expect(harness.stack.counters.drops(.arpResolutionFailed) == 4)
        let events = harness.drainEvents()
        let timeouts = events.filter { if case .pingTimeout = $0 { return true } else { return false } }
        #expect(timeouts.count == 5)
        #expect(events.contains(.pingsFinished(target: silent, sent: 5, received: 0)))
        #expect(!harness.stack.neighbors.contains(silent))
    }

    @Test func cacheEntriesExpire() {
        var cache = NeighborCache()
        let now = Instant.boot
        cache.update(Lab.peer, mac: Lab.peerMAC, now: now)
        #expect(cache.lookup(Lab.peer, now: now + .seconds(59)) == Lab.peerMAC)
        #expect(cache.lookup(Lab.peer, now: now + .seconds(60)) == nil)
        #expect(cache.nextDeadline == now + .seconds(60))
        _ = cache.poll(now: now + .seconds(60))
        #expect(!cache.contains(Lab.peer))
        #expect(cache.nextDeadline == nil)
    }

    @Test func queuedPacketsAreReleasedInOrderOnResolution() {
        var cache = NeighborCache()
        #expect(cache.resolve(Lab.peer, packet: [1], now: .boot) == .queued(sendRequest: true, droppedOldest: false))
        #expect(cache.resolve(Lab.peer, packet: [2], now: .boot) == .queued(sendRequest: false, droppedOldest: false))
        #expect(cache.update(Lab.peer, mac: Lab.peerMAC, now: .boot) == [[1], [2]])
        #expect(cache.resolve(Lab.peer, packet: [3], now: .boot) == .resolved(Lab.peerMAC))
    }
}
