import Testing
@testable import Wire

extension Fixture {
    /// "Who has 198.51.100.1? Tell 198.51.100.60", as a Linux host sends it.
    static let arpRequest: [UInt8] = [
        0x00, 0x01,                          // hardware type: Ethernet
        0x08, 0x00,                          // protocol type: IPv4
        0x06,                                // hardware address length
        0x04,                                // protocol address length
        0x00, 0x01,                          // operation: request
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // sender MAC 52:54:00:12:34:56
        198, 51, 100, 60,                    // sender IPv4 198.51.100.60
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target MAC: unknown
        198, 51, 100, 1,                     // target IPv4 198.51.100.1
    ]
}

@Suite("ARP (RFC 826)")
struct ARPPacketTests {
    static let request = ARPMessage(
        operation: .request,
        senderHardwareAddress: MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
        senderProtocolAddress: IPv4Address(198, 51, 100, 60),
        targetHardwareAddress: .zero,
        targetProtocolAddress: IPv4Address(198, 51, 100, 1))

    @Test("decodes every field of a real request")
    func decodes() throws {
        try withBytes(Fixture.arpRequest) { bytes in
            let packet = try ARPPacket(bytes)
            #expect(packet.operation == .request)
            #expect(packet.senderHardwareAddress == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56))
            #expect(packet.senderProtocolAddress == IPv4Address(198, 51, 100, 60))
            #expect(packet.targetHardwareAddress == .zero)
            #expect(packet.targetProtocolAddress == IPv4Address(198, 51, 100, 1))
        }
    }

    @Test("decodes inside padded Ethernet payload, ignoring the padding")
    func decodesPadded() throws {
        try withBytes(Fixture.ethernetARPFrame) { bytes in
            let packet = try ARPPacket(try EthernetFrame(bytes).payload)
            #expect(ARPMessage(packet) == Self.request)
        }
    }

    @Test("emits all 28 bytes into a 0xA5-filled buffer")
    func emits() throws {
        #expect(Self.request.encodedLength == 28)
        let bytes = try emitted(length: 28) { try Self.request.emit(into: $0) }
        #expect(bytes == Fixture.arpRequest, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 27) { try Self.request.emit(into: $0) } }
    }

    @Test("rejects every truncation")
    func rejectsTruncation() {
        for length in 0 ..< 28 {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.arpRequest.prefix(length))) { _ = try ARPPacket($0) }
            }
        }
    }

    @Test("rejects anything but Ethernet/IPv4", arguments: [
        (0, UInt8(0x01), "hardwareType"), (1, UInt8(0x06), "hardwareType"),
        (2, UInt8(0x86), "protocolType"), (3, UInt8(0xDD), "protocolType"),
        (4, UInt8(8), "hardwareAddressLength"), (5, UInt8(16), "protocolAddressLength"),
    ])
    func rejectsOtherTypes(offset: Int, value: UInt8, field: String) {
        var bytes = Fixture.arpRequest
        bytes[offset] = value
        expectMalformed(field: field) { try withBytes(bytes) { _ = try ARPPacket($0) } }
    }

    @Test("round-trips a reply and an unknown operation")
    func roundTrips() throws {
        var reply = Self.request
        reply.operation = .reply
        swap(&reply.senderHardwareAddress, &reply.targetHardwareAddress)
        reply.senderHardwareAddress = MACAddress(0x02, 0, 0, 0xBE, 0xEF, 0x01)
        var odd = Self.request
        odd.operation = ARPOperation(rawValue: 0xABCD)
        for message in [Self.request, reply, odd] {
            let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0) }
            #expect(try withBytes(bytes) { ARPMessage(try ARPPacket($0)) } == message)
        }
    }
}
