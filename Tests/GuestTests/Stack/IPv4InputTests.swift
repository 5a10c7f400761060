import Testing
@testable import Guest
import Wire

/// Input filtering: every frame is consumed or a counted drop (RFC 1122 §3.2.1, RFC 768).
@Suite struct IPv4InputTests {
    func udpFrame(to destination: IPv4Address, port: UInt16, payload: [UInt8] = [1, 2, 3],
                  sourcePort: UInt16 = 5353) throws -> [UInt8] {
        let udp = try udpDatagram(sourcePort: sourcePort, destinationPort: port, payload: payload, source: Lab.peer, destination: destination)
        let packet = try ipv4Packet(source: Lab.peer, destination: destination, protocol: .udp, payload: udp)
        return try ethernetFrame(to: Lab.clientMAC, from: Lab.peerMAC, type: .ipv4, payload: packet)
    }

    @Test func badIPv4HeaderChecksumIsACountedDrop() throws {
        let harness = StackHarness()
        try harness.bind()
        var frame = try udpFrame(to: Lab.offered, port: 9)
        frame[14 + 10] ^= 0x01   // header checksum
        harness.receive(frame)
        #expect(harness.stack.counters.drops(.ipv4HeaderChecksum) == 1)
        _ = harness.drainEvents()
        harness.receive(frame)
        // Drops are counted, never events (StackEvent.dropped was removed: a flood grew the list without bound).
        #expect(harness.stack.counters.drops(.ipv4HeaderChecksum) == 2)
        #expect(harness.drainEvents().isEmpty)
    }

    @Test func badUDPChecksumIsACountedDropButZeroMeansNone() throws {
        let harness = StackHarness()
        try harness.bind()
        var frame = try udpFrame(to: Lab.offered, port: 9)
        frame[14 + 20 + 6] ^= 0x10   // UDP checksum
        harness.receive(frame)
        #expect(harness.stack.counters.drops(.udpChecksum) == 1)
        var unchecked = try udpFrame(to: Lab.offered, port: 9)
        unchecked[14 + 20 + 6] = 0
        unchecked[14 + 20 + 7] = 0
        harness.receive(unchecked)
        #expect(harness.stack.counters.drops(.udpChecksum) == 1)
        #expect(harness.stack.counters.drops(.udpNoListener) == 1)
    }

    @Test func dhcpReplyWithBadUDPChecksumIsDroppedBeforeTheClient() throws {
        let harness = StackHarness()
        harness.start()
        let discover = try parseDHCP(harness.sent()[0])
        var offer = try harness.server.reply(.offer, to: discover)
        offer[14 + 20 + 6] ^= 0x01
        harness.receive(offer)
        #expect(harness.stack.counters.drops(.udpChecksum) == 1)
        #expect(harness.stack.dhcpState == .selecting)
    }

    @Test func dhcpRepliesOnlyFromPort67ReachTheClient() throws {
        let harness = StackHarness()
        harness.start()
        let discover = try parseDHCP(harness.sent()[0])
        harness.server.sourcePort = 1067
        harness.receive(try harness.server.reply(.offer, to: discover))
        #expect(harness.stack.counters.drops(.dhcpWrongSourcePort) == 1)
        #expect(harness.stack.counters.dhcp.received == 0)
        #expect(harness.stack.dhcpState == .selecting && harness.sent().isEmpty)
        harness.server.sourcePort = 67
        harness.receive(try harness.server.reply(.offer, to: discover))
        #expect(harness.stack.dhcpState == .requesting)
    }

    @Test func destinationFilteringBeforeAndAfterTheLease() throws {
        let harness = StackHarness()
        harness.start()
        _ = harness.sent()
        // No address yet: UDP to another port is not for us, whatever the destination.
        harness.receive(try udpFrame(to: Lab.offered, port: 9))
        #expect(harness.stack.counters.drops(.ipv4NotForUs) == 1)
        try harness.bind()   // restarts the client
        harness.receive(try udpFrame(to: IPv4Address(198, 51, 100, 200), port: 9))   // someone else
        harness.receive(try udpFrame(to: IPv4Address(198, 51, 100, 255), port: 9))   // subnet broadcast: ours
        harness.receive(try udpFrame(to: .broadcast, port: 9))                        // limited broadcast: ours
        #expect(harness.stack.counters.drops(.ipv4NotForUs) == 2)
        #expect(harness.stack.counters.drops(.udpNoListener) == 2)
    }

    @Test func framesForOtherMACsFragmentsAndOtherEtherTypesAreCountedDrops() throws {
        let harness = StackHarness()
        try harness.bind()
        var other = try udpFrame(to: Lab.offered, port: 9)
        other[5] = 0x99
        harness.receive(other)
        var multicast = try udpFrame(to: Lab.offered, port: 9)
        multicast[0] = 0x01
        harness.receive(multicast)
        harness.receive(try ethernetFrame(to: Lab.clientMAC, from: Lab.peerMAC, type: .ipv6, payload: [0x60, 0, 0, 0]))
        let udp = try udpDatagram(sourcePort: 1, destinationPort: 9, payload: [1], source: Lab.peer, destination: Lab.offered)
        let fragment = IPv4Header(source: Lab.peer, destination: Lab.offered, protocol: .udp, payloadLength: udp.count,
                                  moreFragments: true)
        let packet = try bytes(fragment.totalLength) { buffer in
            try fragment.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[20...]).copyBytes(from: udp)
        }
        harness.receive(try ethernetFrame(to: Lab.clientMAC, from: Lab.peerMAC, type: .ipv4, payload: packet))
        harness.receive([1, 2, 3])
        let counters = harness.stack.counters
        #expect(counters.drops(.notOurMAC) == 1)
        #expect(counters.drops(.multicastNotJoined) == 1)
        #expect(counters.drops(.unsupportedEtherType) == 1)
        #expect(counters.drops(.ipv4Fragment) == 1)
        #expect(counters.drops(.ethernetMalformed) == 1)
    }

    @Test func randomFramesNeverTrapAndAreAllAccountedFor() throws {
        let harness = StackHarness()
        try harness.bind()
        let before = harness.stack.counters
        var random = SeededGenerator(seed: 2024)
        // From port 67, so mutations that keep the ports reach the DHCP parser.
        let template = try udpFrame(to: Lab.offered, port: 68, payload: Array(repeating: 0, count: 300), sourcePort: 67)
        for index in 0 ..< 2000 {
            var frame: [UInt8]
            if index % 2 == 0 {
                frame = (0 ..< Int.random(in: 0 ... 120, using: &random)).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
                if frame.count >= 14, index % 4 == 0 { frame.replaceSubrange(0 ..< 6, with: Lab.clientMAC.array) }
                if frame.count >= 14, index % 8 == 0 { frame[12] = 0x08; frame[13] = UInt8.random(in: 0 ... 6, using: &random) }
            } else {
                // Mutate a valid frame in a few places and cut it somewhere.
                frame = template
                for _ in 0 ..< 3 { frame[Int.random(in: 14 ..< frame.count, using: &random)] = UInt8.random(in: 0 ... 255, using: &random) }
                frame = Array(frame.prefix(Int.random(in: 0 ... frame.count, using: &random)))
            }
            harness.receive(frame)
        }
        let after = harness.stack.counters
        #expect(after.ethernet.received - before.ethernet.received == 2000)
        // Nothing here is a valid DHCP reply for us: every frame is a drop.
        #expect(after.totalDrops - before.totalDrops == 2000)
        #expect(harness.stack.dhcpState == .bound)
    }
}
