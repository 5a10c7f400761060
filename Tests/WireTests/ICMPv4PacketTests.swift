import Testing
@testable import Wire

extension Fixture {
    /// An ICMP echo request (the payload of `ipv4EchoRequest`), checksum correct.
    static let icmpEchoRequest: [UInt8] = [
        0x08,                                  // type: echo request
        0x00,                                  // code 0
        0x5B, 0xE3,                            // checksum 0x5be3
        0x4A, 0x1B,                            // identifier 0x4a1b
        0x00, 0x07,                            // sequence number 7
        0x74, 0x61, 0x70, 0x76, 0x6D, 0x21,    // data "tapvm!"
        0x00, 0x01,                            // data 00 01
    ]
}

@Suite("ICMPv4 (RFC 792)")
struct ICMPv4PacketTests {
    static let request = ICMPv4Message.echoRequest(identifier: 0x4A1B, sequenceNumber: 7,
                                                   payload: Array("tapvm!".utf8) + [0x00, 0x01])

    @Test("decodes every field of an echo request")
    func decodes() throws {
        try withBytes(Fixture.icmpEchoRequest) { bytes in
            let packet = try ICMPv4Packet(bytes)
            #expect(packet.type == .echoRequest)
            #expect(packet.code == 0)
            #expect(packet.checksum == 0x5BE3)
            #expect(packet.isChecksumValid)
            #expect(packet.restOfHeader == 0x4A1B_0007)
            #expect(packet.identifier == 0x4A1B)
            #expect(packet.sequenceNumber == 7)
            #expect(Array(packet.payload) == Array("tapvm!".utf8) + [0x00, 0x01])
        }
    }

    @Test("a changed byte fails the checksum")
    func badChecksum() throws {
        var bytes = Fixture.icmpEchoRequest
        bytes[15] ^= 0x40
        let valid = try withBytes(bytes) { try ICMPv4Packet($0).isChecksumValid }
        #expect(valid == false)
    }

    @Test("emits every byte into a 0xA5-filled buffer, checksum computed")
    func emits() throws {
        #expect(Self.request.encodedLength == 16)
        let bytes = try emitted(length: 16) { try Self.request.emit(into: $0) }
        #expect(bytes == Fixture.icmpEchoRequest, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 15) { try Self.request.emit(into: $0) } }
    }

    @Test("echo reply mirrors the request's identifier, sequence number and data")
    func echoReply() throws {
        let reply = ICMPv4Message.echoReply(identifier: 0x4A1B, sequenceNumber: 7, payload: Self.request.payload)
        let bytes = try emitted(length: reply.encodedLength) { try reply.emit(into: $0) }
        // Type 8 → 0 changes the checksum by 0x0800 (RFC 1624 incremental update).
        #expect(bytes[0] == 0 && bytes[2] == 0x63 && bytes[3] == 0xE3)
        try withBytes(bytes) { raw in
            let packet = try ICMPv4Packet(raw)
            #expect(packet.isChecksumValid)
            #expect(packet.type == .echoReply)
            #expect(packet.identifier == 0x4A1B && packet.sequenceNumber == 7)
        }
    }

    @Test("rejects every truncation of the header")
    func rejectsTruncation() {
        for length in 0 ..< ICMPv4Packet.headerLength {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.icmpEchoRequest.prefix(length))) { _ = try ICMPv4Packet($0) }
            }
        }
    }

    @Test("round-trips, odd payload lengths and unknown types included")
    func roundTrips() throws {
        let messages = [
            Self.request,
            ICMPv4Message(type: .destinationUnreachable, code: 3, restOfHeader: 0, payload: Array(Fixture.ipv4EchoRequest[0 ..< 28])),
            ICMPv4Message(type: .timeExceeded, code: 0, restOfHeader: 0, payload: [1, 2, 3]),
            ICMPv4Message(type: ICMPv4Type(rawValue: 42), code: 9, restOfHeader: 0xDEAD_BEEF, payload: []),
        ]
        for message in messages {
            let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0) }
            try withBytes(bytes) { raw in
                let packet = try ICMPv4Packet(raw)
                #expect(packet.isChecksumValid)
                #expect(ICMPv4Message(packet) == message)
            }
        }
    }
}
