import Testing
@testable import Wire

extension Fixture {
    /// An ICMPv6 echo request 2001:db8:1::10 → 2001:db8:1::1 (the payload of `ipv6EchoRequest`).
    static let icmpv6EchoRequest: [UInt8] = [
        0x80,                                  // type 128: echo request
        0x00,                                  // code 0
        0x88, 0x13,                            // checksum 0x8813 (computed independently with python3)
        0x4A, 0x1B,                            // identifier 0x4a1b
        0x00, 0x07,                            // sequence number 7
        0x74, 0x61, 0x70, 0x76, 0x6D, 0x21,    // data "tapvm!"
        0x00, 0x01,                            // data 00 01
    ]
}

@Suite("ICMPv6 (RFC 4443)")
struct ICMPv6PacketTests {
    static let request = ICMPv6Message.echoRequest(identifier: 0x4A1B, sequenceNumber: 7, data: Array("tapvm!".utf8) + [0, 1])

    @Test("decodes every field of an echo request and verifies its checksum")
    func decodes() throws {
        try withBytes(Fixture.icmpv6EchoRequest) { bytes in
            let packet = try ICMPv6Packet(bytes)
            #expect(packet.type == .echoRequest && !packet.type.isError)
            #expect(packet.code == 0)
            #expect(packet.checksum == 0x8813)
            #expect(packet.identifier == 0x4A1B && packet.sequenceNumber == 7)
            #expect(Array(packet.body) == [0x4A, 0x1B, 0, 7] + Array("tapvm!".utf8) + [0, 1])
            #expect(packet.isChecksumValid(source: Fixture.ipv6Host, destination: Fixture.ipv6Router))
            // The pseudo-header matters: another destination fails.
            #expect(!packet.isChecksumValid(source: Fixture.ipv6Host, destination: .allNodes))
            #expect(ICMPv6Message(packet) == Self.request)
        }
    }

    @Test("a wrong checksum or a changed byte is rejected")
    func badChecksum() throws {
        var bytes = Fixture.icmpv6EchoRequest
        bytes[3] ^= 0x01
        #expect(try withBytes(bytes) { try ICMPv6Packet($0).isChecksumValid(source: Fixture.ipv6Host, destination: Fixture.ipv6Router) } == false)
        bytes = Fixture.icmpv6EchoRequest
        bytes[12] ^= 0x40
        #expect(try withBytes(bytes) { try ICMPv6Packet($0).isChecksumValid(source: Fixture.ipv6Host, destination: Fixture.ipv6Router) } == false)
    }

    @Test("emits every byte into a 0xA5-filled buffer, checksum computed over the pseudo-header")
    func emits() throws {
        #expect(Self.request.encodedLength == 16)
        let bytes = try emitted(length: 16) { try Self.request.emit(into: $0, source: Fixture.ipv6Host, destination: Fixture.ipv6Router) }
        #expect(bytes == Fixture.icmpv6EchoRequest, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 15) { try Self.request.emit(into: $0, source: .unspecified, destination: .allNodes) } }
    }

    @Test("rejects every truncation of the header; short bodies have no echo fields")
    func rejectsTruncation() throws {
        for length in 0 ..< ICMPv6Packet.headerLength {
            expectTruncated("prefix \(length)") { try withBytes(Array(Fixture.icmpv6EchoRequest.prefix(length))) { _ = try ICMPv6Packet($0) } }
        }
        try withBytes(Array(Fixture.icmpv6EchoRequest.prefix(7))) { bytes in
            let packet = try ICMPv6Packet(bytes)
            #expect(packet.identifier == nil && packet.sequenceNumber == nil)
        }
    }

    @Test("round-trips, odd lengths and unknown types included")
    func roundTrips() throws {
        let messages = [
            Self.request,
            ICMPv6Message.echoReply(identifier: 0x4A1B, sequenceNumber: 7, data: [1, 2, 3]),
            ICMPv6Message(type: .packetTooBig, code: 0, body: [0, 0, 0x05, 0xDC] + Array(Fixture.ipv6EchoRequest.prefix(40))),
            ICMPv6Message(type: .destinationUnreachable, code: 3, body: [0, 0, 0, 0]),
            ICMPv6Message(type: ICMPv6Type(200), code: 9, body: []),
        ]
        for message in messages {
            let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0, source: Fixture.ipv6Router, destination: Fixture.ipv6Host) }
            try withBytes(bytes) { raw in
                let packet = try ICMPv6Packet(raw)
                #expect(packet.isChecksumValid(source: Fixture.ipv6Router, destination: Fixture.ipv6Host))
                #expect(ICMPv6Message(packet) == message)
            }
        }
        #expect(ICMPv6Type.packetTooBig.isError)
    }
}
