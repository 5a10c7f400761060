import Testing
@testable import Wire

extension Fixture {
    /// An IPv4 packet carrying an ICMP echo request from 198.51.100.60 to 198.51.100.1, checksums correct.
    static let ipv4EchoRequest: [UInt8] = [
        0x45,              // version 4, IHL 5 (20 bytes)
        0x00,              // type of service
        0x00, 0x24,        // total length 36
        0x1C, 0x46,        // identification 0x1c46
        0x40, 0x00,        // flags DF, fragment offset 0
        0x40,              // TTL 64
        0x01,              // protocol ICMP
        0xC9, 0xEE,        // header checksum 0xc9ee
        198, 51, 100, 60,  // source
        198, 51, 100, 1,   // destination
    ] + icmpEchoRequest    // payload: 16 bytes of ICMP
}

@Suite("IPv4 (RFC 791)")
struct IPv4PacketTests {
    static let header = IPv4Header(source: IPv4Address(198, 51, 100, 60), destination: IPv4Address(198, 51, 100, 1),
                                   protocol: .icmp, payloadLength: 16, timeToLive: 64, identification: 0x1C46,
                                   dontFragment: true)

    @Test("decodes every field of the fixture")
    func decodes() throws {
        try withBytes(Fixture.ipv4EchoRequest) { bytes in
            let packet = try IPv4Packet(bytes)
            #expect(packet.version == 4)
            #expect(packet.headerLength == 20)
            #expect(packet.typeOfService == 0)
            #expect(packet.totalLength == 36)
            #expect(packet.identification == 0x1C46)
            #expect(packet.dontFragment)
            #expect(!packet.moreFragments)
            #expect(packet.fragmentOffset == 0)
            #expect(!packet.isFragment)
            #expect(packet.timeToLive == 64)
            #expect(packet.protocol == .icmp)
            #expect(packet.headerChecksum == 0xC9EE)
            #expect(packet.isHeaderChecksumValid)
            #expect(packet.source == IPv4Address(198, 51, 100, 60))
            #expect(packet.destination == IPv4Address(198, 51, 100, 1))
            #expect(packet.options.count == 0)
            #expect(Array(packet.payload) == Fixture.icmpEchoRequest)
        }
    }

    @Test("payload stops at total length, so Ethernet padding is excluded")
    func excludesPadding() throws {
        try withBytes(Fixture.ipv4EchoRequest + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) { bytes in
            let packet = try IPv4Packet(bytes)
            #expect(packet.payload.count == 16)
            #expect(packet.isHeaderChecksumValid)
        }
    }

    @Test("a flipped header bit fails the checksum; flags, fragment offset and options decode")
    func checksumAndFragments() throws {
        var bytes = Fixture.ipv4EchoRequest
        bytes[8] = 63  // TTL changed, checksum not updated
        let valid = try withBytes(bytes) { try IPv4Packet($0).isHeaderChecksumValid }
        #expect(valid == false)
        bytes = Fixture.ipv4EchoRequest
        bytes[6] = 0x3F; bytes[7] = 0xFF  // reserved 0, DF 0, MF 1, offset 0x1fff
        try withBytes(bytes) { raw in
            let packet = try IPv4Packet(raw)
            #expect(!packet.dontFragment)
            #expect(packet.moreFragments)
            #expect(packet.fragmentOffset == 0x1FFF)
            #expect(packet.isFragment)
        }
    }

    @Test("emits every header byte into a 0xA5-filled buffer, checksum computed")
    func emits() throws {
        #expect(Self.header.encodedLength == 20)
        #expect(Self.header.totalLength == 36)
        let bytes = try emitted(length: 20) { try Self.header.emit(into: $0) }
        #expect(bytes == Array(Fixture.ipv4EchoRequest[0 ..< 20]), "\(hex(bytes))")
        // The whole packet: header then ICMP into one buffer.
        let message = ICMPv4Message.echoRequest(identifier: 0x4A1B, sequenceNumber: 7, payload: Array("tapvm!".utf8) + [0, 1])
        let packet = try emitted(length: 36) { buffer in
            try Self.header.emit(into: buffer)
            try message.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[20...]))
        }
        #expect(packet == Fixture.ipv4EchoRequest)
        expectBufferTooSmall { _ = try emitted(length: 19) { try Self.header.emit(into: $0) } }
    }

    @Test("refuses to emit impossible headers")
    func refusesImpossible() {
        var header = Self.header
        header.options = [1, 1, 1]
        expectMalformed(field: "options") { _ = try emitted(length: 60) { try header.emit(into: $0) } }
        header.options = [UInt8](repeating: 1, count: 44)
        expectMalformed(field: "options") { _ = try emitted(length: 64) { try header.emit(into: $0) } }
        header = Self.header
        header.payloadLength = 65516
        expectMalformed(field: "totalLength") { _ = try emitted(length: 20) { try header.emit(into: $0) } }
        header = Self.header
        header.fragmentOffset = 0x2000
        expectMalformed(field: "fragmentOffset") { _ = try emitted(length: 20) { try header.emit(into: $0) } }
    }

    @Test("rejects every truncation below the total length")
    func rejectsTruncation() {
        for length in 0 ..< Fixture.ipv4EchoRequest.count {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.ipv4EchoRequest.prefix(length))) { _ = try IPv4Packet($0) }
            }
        }
        // IHL 15 needs 60 header bytes even when total length claims fewer are present.
        var bytes = Fixture.ipv4EchoRequest
        bytes[0] = 0x4F
        expectTruncated("IHL 15 in 36 bytes") { try withBytes(bytes) { _ = try IPv4Packet($0) } }
    }

    @Test("rejects a wrong version, IHL below 5, total length below the header")
    func rejectsMalformed() {
        var bytes = Fixture.ipv4EchoRequest
        bytes[0] = 0x65
        expectMalformed(field: "version") { try withBytes(bytes) { _ = try IPv4Packet($0) } }
        bytes[0] = 0x44
        expectMalformed(field: "IHL") { try withBytes(bytes) { _ = try IPv4Packet($0) } }
        bytes[0] = 0x45; bytes[2] = 0; bytes[3] = 19
        expectMalformed(field: "totalLength") { try withBytes(bytes) { _ = try IPv4Packet($0) } }
    }

    @Test("round-trips value → bytes → view → value, with options and fragment fields")
    func roundTrips() throws {
        let withOptions = IPv4Header(source: IPv4Address(198, 18, 0, 1), destination: IPv4Address(224, 0, 0, 22),
                                     protocol: IPProtocol(rawValue: 2), payloadLength: 8, timeToLive: 1,
                                     identification: 0xBEEF, dontFragment: false, moreFragments: true,
                                     fragmentOffset: 0x0ABC, typeOfService: 0xC0,
                                     options: [0x94, 0x04, 0x00, 0x00])  // Router Alert (RFC 2113)
        for header in [Self.header, withOptions] {
            let bytes = try emitted(length: header.totalLength) { buffer in
                try header.emit(into: buffer)
                for index in header.headerLength ..< header.totalLength { buffer[index] = UInt8(index) }
            }
            try withBytes(bytes) { raw in
                let packet = try IPv4Packet(raw)
                #expect(packet.isHeaderChecksumValid)
                #expect(IPv4Header(packet) == header)
                #expect(packet.payload.count == header.payloadLength)
            }
        }
    }
}
