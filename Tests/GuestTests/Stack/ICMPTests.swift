import Testing
@testable import Guest
import Wire

/// ICMP echo both ways (RFC 792, RFC 1122 §3.2.2.6).
@Suite struct ICMPTests {
    @Test func pingToTheRouterResolvesSendsAndReportsTheRoundTrip() throws {
        let harness = StackHarness { $0.pingTargets = [.router]; $0.pingCount = 3 }
        try harness.bind()
        let boundAt = harness.now
        // The bind starts the pings: the echo request waits for ARP.
        let arpFrames = harness.sent()
        #expect(arpFrames.count == 1)
        let arp = try parseARP(arpFrames[0])
        #expect(arp.targetProtocolAddress == Lab.server && arp.operation == .request)

        harness.advance(by: .milliseconds(4))
        harness.receive(try harness.server.arpReply(to: arp))
        let echoFrames = harness.sent()
        #expect(echoFrames.count == 1)
        let echo = try parseICMP(echoFrames[0])
        #expect(echo.ip.ethernet.destination == Lab.serverMAC)
        #expect(echo.ip.header.source == Lab.offered && echo.ip.header.destination == Lab.server)
        #expect(echo.ip.headerChecksumValid && echo.checksumValid)
        #expect(echo.message.type == .echoRequest && echo.message.sequenceNumber == 1)
        #expect(echo.message.payload.count == 56)

        harness.advance(by: .milliseconds(11))
        let reply = ICMPv4Message.echoReply(identifier: echo.message.identifier, sequenceNumber: 1, payload: echo.message.payload)
        harness.receive(try icmpFrame(reply, from: Lab.server, sourceMAC: Lab.serverMAC, to: Lab.offered))
        #expect(harness.drainEvents().contains(.pingReply(target: Lab.server, sequence: 1, roundTrip: .milliseconds(15))))

        // The next two go 1 s apart, straight to the known MAC; answer each after 2 ms.
        var received: [StackEvent] = []
        for sequence in UInt16(2) ... 3 {
            let log = harness.run(until: boundAt + .seconds(Int64(sequence - 1)))
            let request = try parseICMP(try #require(log.last?.frame))
            #expect(request.message.sequenceNumber == sequence)
            #expect(log.last?.at == boundAt + .seconds(Int64(sequence - 1)))
            harness.advance(by: .milliseconds(2))
            harness.receive(try icmpFrame(.echoReply(identifier: request.message.identifier, sequenceNumber: sequence,
                                                     payload: request.message.payload),
                                          from: Lab.server, sourceMAC: Lab.serverMAC, to: Lab.offered))
            received += harness.drainEvents()
        }
        #expect(received.contains(.pingReply(target: Lab.server, sequence: 3, roundTrip: .milliseconds(2))))
        #expect(received.contains(.pingsFinished(target: Lab.server, sent: 3, received: 3)))
    }

    @Test func lateRepliesAreUnmatchedAfterTheTimeout() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        // Know the peer first.
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                targetProtocolAddress: Lab.offered), to: .broadcast))
        _ = harness.sent()
        _ = harness.drainEvents()
        harness.stack.ping(Lab.peer, count: 1, now: harness.now)
        let request = try parseICMP(try #require(harness.sent().first))
        harness.advance(by: .seconds(1))
        #expect(harness.drainEvents() == [.pingTimeout(target: Lab.peer, sequence: 1),
                                          .pingsFinished(target: Lab.peer, sent: 1, received: 0)])
        harness.receive(try icmpFrame(.echoReply(identifier: request.message.identifier, sequenceNumber: 1),
                                      from: Lab.peer, sourceMAC: Lab.peerMAC, to: Lab.offered))
        #expect(harness.stack.counters.drops(.icmpUnmatchedReply) == 1)
    }

    @Test func echoRequestToUsIsAnsweredWithTheSamePayload() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                targetProtocolAddress: Lab.offered), to: .broadcast))
        _ = harness.sent()
        let payload: [UInt8] = Array("tapvm echo payload, odd length!".utf8)   // 31 bytes
        harness.receive(try icmpFrame(.echoRequest(identifier: 0xBEEF, sequenceNumber: 0x0102, payload: payload),
                                      from: Lab.peer, sourceMAC: Lab.peerMAC, to: Lab.offered))
        let frames = harness.sent()
        #expect(frames.count == 1)
        let reply = try parseICMP(frames[0])
        #expect(reply.ip.ethernet.destination == Lab.peerMAC && reply.ip.ethernet.source == Lab.clientMAC)
        #expect(reply.ip.header.source == Lab.offered && reply.ip.header.destination == Lab.peer)
        #expect(reply.ip.header.timeToLive == 64 && reply.ip.headerChecksumValid)
        #expect(reply.checksumValid)
        #expect(reply.message == .echoReply(identifier: 0xBEEF, sequenceNumber: 0x0102, payload: payload))
    }

    @Test func echoToBroadcastAndBadChecksumAreDropped() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try icmpFrame(.echoRequest(identifier: 1, sequenceNumber: 1),
                                      from: Lab.peer, sourceMAC: Lab.peerMAC, to: IPv4Address(198, 51, 100, 255)))
        var corrupted = try icmpFrame(.echoRequest(identifier: 1, sequenceNumber: 2, payload: [1, 2, 3, 4]),
                                      from: Lab.peer, sourceMAC: Lab.peerMAC, to: Lab.offered)
        corrupted[corrupted.count - 1] ^= 0xFF
        harness.receive(corrupted)
        #expect(harness.sent().isEmpty)
        #expect(harness.stack.counters.drops(.icmpBroadcastEcho) == 1)
        #expect(harness.stack.counters.drops(.icmpChecksum) == 1)
    }
}

/// A ping that cannot run still ends with `pingsFinished`, so a caller never waits for nothing.
@Suite struct PingWithoutRouteTests {
    @Test func pingWithoutALeaseFinishesAtOnceWithNothingSent() throws {
        let harness = StackHarness()
        harness.start()
        _ = harness.sent()
        _ = harness.drainEvents()
        harness.stack.ping(Lab.peer, count: 3, now: harness.now)
        #expect(harness.drainEvents() == [.pingsFinished(target: Lab.peer, sent: 0, received: 0)])
        #expect(harness.sent().isEmpty)
        // Nor does it start later, at the bind.
        try harness.bind()
        #expect(harness.sent().isEmpty)
        #expect(!harness.stack.pinger.isActive)
    }

    @Test func routerTargetWithoutARouterInTheLeaseFinishesAtBind() throws {
        let harness = StackHarness { $0.pingTargets = [.router, .address(Lab.peer)]; $0.pingCount = 1 }
        harness.server.router = nil
        try harness.bind()
        let events = harness.drainEvents()
        #expect(events.contains(.pingsFinished(target: .any, sent: 0, received: 0)))
        #expect(events.filter { if case .pingsFinished = $0 { true } else { false } }.count == 1)
        // The other target runs: the echo request waits for ARP.
        #expect(try harness.sent().map { try parseARP($0).targetProtocolAddress } == [Lab.peer])
        #expect(harness.stack.pinger.isActive)
    }
}

/// The bytes the stack builds itself: echo payloads and frame padding.
@Suite struct OutgoingBytesTests {
    @Test func echoPayloadIsTheBigEndianSendTimeThenACountingPattern() {
        var echo = ICMPEcho()
        let sentAt = Instant(nanoseconds: 0x0102_0304_0506_0708)
        #expect(echo.payload(sentAt: sentAt) == [1, 2, 3, 4, 5, 6, 7, 8] + (0 ..< 48).map { UInt8(0x10 + $0) })
        echo.payloadLength = 5
        #expect(echo.payload(sentAt: sentAt) == [1, 2, 3, 4, 5])
        echo.payloadLength = 0
        #expect(echo.payload(sentAt: sentAt).isEmpty)
    }

    @Test func shortFramesArePaddedWithZerosToWiresMinimum() throws {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                targetProtocolAddress: Lab.offered), to: .broadcast))
        let reply = try #require(harness.sent().first)
        #expect(reply.count == EthernetFrame.minimumLength)
        #expect(reply[(14 + 28)...].allSatisfy { $0 == 0 })
    }
}
