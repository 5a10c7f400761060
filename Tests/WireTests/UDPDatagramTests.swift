import Testing
@testable import Wire

extension Fixture {
    static let udpSource = IPv4Address(198, 51, 100, 60)
    static let udpDestination = IPv4Address(198, 51, 100, 1)

    /// A UDP datagram 198.51.100.60:49152 → 198.51.100.1:53 with an odd-length payload and a correct checksum.
    static let udpDatagram: [UInt8] = [
        0xC0, 0x00,                           // source port 49152
        0x00, 0x35,                           // destination port 53
        0x00, 0x11,                           // length 17 (8 header + 9 data)
        0x00, 0x4E,                           // checksum 0x004e (with the pseudo-header)
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01,   // data
        0x64, 0x6E, 0x73,                     // data "dns"
    ]
}

@Suite("UDP (RFC 768)")
struct UDPDatagramTests {
    static let header = UDPHeader(sourcePort: 49152, destinationPort: 53, length: 17)
    static let payload: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x64, 0x6E, 0x73]

    @Test("decodes every field of the fixture and verifies its checksum")
    func decodes() throws {
        try withBytes(Fixture.udpDatagram) { bytes in
            let datagram = try UDPDatagram(bytes)
            #expect(datagram.sourcePort == 49152)
            #expect(datagram.destinationPort == 53)
            #expect(datagram.length == 17)
            #expect(datagram.checksum == 0x004E)
            #expect(Array(datagram.payload) == Self.payload)
            #expect(datagram.isChecksumValid(source: Fixture.udpSource, destination: Fixture.udpDestination))
            // The pseudo-header matters: another source fails.
            #expect(!datagram.isChecksumValid(source: IPv4Address(198, 51, 100, 61), destination: Fixture.udpDestination))
        }
    }

    @Test("checksum 0 means none and is valid; a corrupted byte is not")
    func checksumZeroAndCorruption() throws {
        var bytes = Fixture.udpDatagram
        bytes[6] = 0; bytes[7] = 0
        let noneIsValid = try withBytes(bytes) { try UDPDatagram($0).isChecksumValid(source: .any, destination: .broadcast) }
        #expect(noneIsValid)
        bytes = Fixture.udpDatagram
        bytes[16] ^= 0x01
        let corruptIsValid = try withBytes(bytes) {
            try UDPDatagram($0).isChecksumValid(source: Fixture.udpSource, destination: Fixture.udpDestination)
        }
        #expect(!corruptIsValid)
    }

    @Test("payload stops at the length field; trailing bytes are ignored")
    func boundedByLength() throws {
        try withBytes(Fixture.udpDatagram + [0xEE, 0xEE, 0xEE]) { bytes in
            let datagram = try UDPDatagram(bytes)
            #expect(datagram.payload.count == 9)
            #expect(datagram.isChecksumValid(source: Fixture.udpSource, destination: Fixture.udpDestination))
        }
    }

    @Test("emits every byte into a 0xA5-filled buffer; fillChecksum completes it")
    func emits() throws {
        #expect(Self.header.encodedLength == 8)
        #expect(Self.header.payloadLength == 9)
        let headerOnly = try emitted(length: 8) { try Self.header.emit(into: $0) }
        #expect(headerOnly == [0xC0, 0x00, 0x00, 0x35, 0x00, 0x11, 0x00, 0x00])
        let bytes = try emitted(length: 17) { buffer in
            try Self.header.emit(into: buffer)
            for (index, byte) in Self.payload.enumerated() { buffer[8 + index] = byte }
            UDPHeader.fillChecksum(datagram: buffer, source: Fixture.udpSource, destination: Fixture.udpDestination)
        }
        #expect(bytes == Fixture.udpDatagram, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 7) { try Self.header.emit(into: $0) } }
    }

    @Test("a computed checksum of 0 is sent as 0xFFFF")
    func zeroBecomesFFFF() throws {
        // Find a 2-byte payload whose checksum computes to 0 by construction: choose the payload word so the
        // one's complement sum of pseudo-header and header is 0xFFFF.
        let header = UDPHeader(sourcePort: 1, destinationPort: 2, payloadLength: 2)
        var sum = InternetChecksum.pseudoHeader(source: .any, destination: .any, protocol: .udp, length: 10)
        sum.add(UInt16(1)); sum.add(UInt16(2)); sum.add(UInt16(10))
        // value = ~folded; adding the word `~folded` makes the folded sum 0xFFFF, i.e. a checksum of 0.
        let word = sum.value
        let bytes = try emitted(length: 10) { buffer in
            try header.emit(into: buffer)
            buffer.storeBigEndian(word, at: 8)
            UDPHeader.fillChecksum(datagram: buffer, source: .any, destination: .any)
        }
        #expect(bytes[6] == 0xFF && bytes[7] == 0xFF)
        let valid = try withBytes(bytes) { try UDPDatagram($0).isChecksumValid(source: .any, destination: .any) }
        #expect(valid)
    }

    @Test("rejects every truncation below the length field")
    func rejectsTruncation() {
        for length in 0 ..< Fixture.udpDatagram.count {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.udpDatagram.prefix(length))) { _ = try UDPDatagram($0) }
            }
        }
    }

    @Test("rejects a length below 8 and refuses to emit an impossible length")
    func rejectsMalformed() {
        var bytes = Fixture.udpDatagram
        bytes[5] = 7
        expectMalformed(field: "length") { try withBytes(bytes) { _ = try UDPDatagram($0) } }
        let tooLong = UDPHeader(sourcePort: 1, destinationPort: 2, length: 65536)
        expectMalformed(field: "length") { _ = try emitted(length: 8) { try tooLong.emit(into: $0) } }
        let tooShort = UDPHeader(sourcePort: 1, destinationPort: 2, length: 7)
        expectMalformed(field: "length") { _ = try emitted(length: 8) { try tooShort.emit(into: $0) } }
    }

    @Test("round-trips value → bytes → view → value")
    func roundTrips() throws {
        for header in [Self.header, UDPHeader(sourcePort: 68, destinationPort: 67, payloadLength: 0),
                       UDPHeader(sourcePort: 0xFFFF, destinationPort: 0, payloadLength: 300)] {
            let bytes = try emitted(length: header.length) { buffer in
                try header.emit(into: buffer)
                for index in 8 ..< header.length { buffer[index] = UInt8(truncatingIfNeeded: index * 7) }
                UDPHeader.fillChecksum(datagram: buffer, source: Fixture.udpSource, destination: Fixture.udpDestination)
            }
            try withBytes(bytes) { raw in
                let datagram = try UDPDatagram(raw)
                #expect(UDPHeader(datagram) == header)
                #expect(datagram.isChecksumValid(source: Fixture.udpSource, destination: Fixture.udpDestination))
            }
        }
    }
}
