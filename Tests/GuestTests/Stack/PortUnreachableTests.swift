import Testing
@testable import Guest
import Wire

/// UDP to a closed port: ICMP port unreachable (RFC 1122 §4.1.3.1), never to non-hosts or broadcasts (§3.2.2),
/// rate-limited.
@Suite struct PortUnreachableTests {
    /// A bound stack that knows the peer's MAC, so an answer goes out at once.
    func boundKnowingThePeer() throws -> StackHarness {
        let harness = StackHarness()
        try harness.bind()
        _ = harness.sent()
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.peerMAC,
                                                senderProtocolAddress: Lab.peer, targetHardwareAddress: .zero,
                                                targetProtocolAddress: Lab.offered), to: .broadcast))
        _ = harness.sent()
        return harness
    }

    func udpPacket(from source: IPv4Address = Lab.peer, to destination: IPv4Address = Lab.offered,
                   port: UInt16 = 9) throws -> [UInt8] {
        let udp = try udpDatagram(sourcePort: 40_000, destinationPort: port, payload: Array("twelve bytes".utf8),
                                  source: source, destination: destination)
        return try ipv4Packet(source: source, destination: destination, protocol: .udp, payload: udp)
    }

    func frame(_ packet: [UInt8], to mac: MACAddress = Lab.clientMAC) throws -> [UInt8] {
        try ethernetFrame(to: mac, from: Lab.peerMAC, type: .ipv4, payload: packet)
    }

    @Test func aClosedPortIsAnsweredWithPortUnreachableQuotingHeaderAnd8Bytes() throws {
        let harness = try boundKnowingThePeer()
        let packet = try udpPacket()
        harness.receive(try frame(packet))
        #expect(harness.stack.counters.drops(.udpNoListener) == 1)
        let sent = harness.sent()
        #expect(sent.count == 1)
        let error = try parseICMP(try #require(sent.first))
        #expect(error.ip.ethernet.destination == Lab.peerMAC)
        #expect(error.ip.header.source == Lab.offered && error.ip.header.destination == Lab.peer)
        #expect(error.ip.header.protocol == .icmp && error.ip.headerChecksumValid && error.checksumValid)
        #expect(error.message.type == .destinationUnreachable && error.message.code == 3)
        #expect(error.message.restOfHeader == 0)
        #expect(error.message.payload == Array(packet.prefix(20 + 8)))
    }

    @Test func noErrorForBroadcastsOrSourcesThatAreNoSingleHost() throws {
        let harness = try boundKnowingThePeer()
        harness.receive(try frame(udpPacket(to: IPv4Address(198, 51, 100, 255))))        // subnet broadcast
        harness.receive(try frame(udpPacket(to: .broadcast), to: .broadcast))             // limited broadcast
        harness.receive(try frame(udpPacket(), to: .broadcast))                           // unicast IP, Ethernet broadcast
        for source in [IPv4Address.any, IPv4Address(127, 0, 0, 1), IPv4Address(240, 0, 0, 9),
                       IPv4Address(0, 0, 0, 7), IPv4Address(198, 51, 100, 0)] {          // our subnet's network address
            harness.receive(try frame(udpPacket(from: source)))
        }
        #expect(harness.stack.counters.drops(.udpNoListener) == 8)
        #expect(harness.sent().isEmpty)
        #expect(harness.stack.counters.icmp.transmitted == 0)
        // An off-link source whose last octet is 0 is a host elsewhere: answered (through the router).
        harness.receive(try frame(udpPacket(from: IPv4Address(203, 0, 113, 0))))
        #expect(harness.stack.counters.icmp.transmitted == 1)
    }

    @Test func noErrorForPort68FromAnotherPort() throws {
        let harness = try boundKnowingThePeer()
        let udp = try udpDatagram(sourcePort: 5353, destinationPort: 68, payload: [1, 2, 3], source: Lab.peer,
                                  destination: Lab.offered)
        harness.receive(try frame(ipv4Packet(source: Lab.peer, destination: Lab.offered, protocol: .udp, payload: udp)))
        #expect(harness.stack.counters.drops(.dhcpWrongSourcePort) == 1)
        #expect(harness.sent().isEmpty)
    }

    @Test func errorsAreLimitedToTenPerSecond() throws {
        let harness = try boundKnowingThePeer()
        let datagram = try frame(udpPacket())
        for _ in 0 ..< 25 { harness.receive(datagram) }
        #expect(harness.sent().count == 10)
        #expect(harness.stack.counters.icmpErrorsRateLimited == 15)
        #expect(harness.stack.counters.drops(.udpNoListener) == 25)
        harness.advance(by: .milliseconds(100))
        for _ in 0 ..< 3 { harness.receive(datagram) }
        #expect(harness.sent().count == 1)
        harness.advance(by: .seconds(5))
        for _ in 0 ..< 12 { harness.receive(datagram) }
        #expect(harness.sent().count == 10)
        #expect(harness.stack.counters.icmpErrorsRateLimited == 15 + 2 + 2)
    }
}
