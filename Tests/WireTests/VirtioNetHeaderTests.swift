import Testing
@testable import Wire

extension Fixture {
    /// A 12-byte virtio_net_hdr for a TCPv4 GSO packet with a partial checksum, little-endian.
    static let virtioNetHeader: [UInt8] = [
        0x01,          // flags: NEEDS_CSUM
        0x01,          // gso_type: TCPV4
        0x36, 0x00,    // hdr_len 54
        0xA8, 0x05,    // gso_size 1448
        0x22, 0x00,    // csum_start 34
        0x10, 0x00,    // csum_offset 16
        0x03, 0x00,    // num_buffers 3
    ]
}

@Suite("virtio_net_hdr (virtio 1.2 §5.1.6)")
struct VirtioNetHeaderTests {
    static let header = VirtioNetHeader(flags: .needsChecksum, gsoType: .tcpv4, headerLength: 54, gsoSize: 1448,
                                        checksumStart: 34, checksumOffset: 16, numBuffers: 3)

    @Test("decodes every field, in both layouts")
    func decodes() throws {
        try withBytes(Fixture.virtioNetHeader + [0xEE]) { bytes in
            let view = try VirtioNetHeaderView(bytes, size: 12)
            #expect(view.flags == .needsChecksum)
            #expect(view.gsoType == .tcpv4)
            #expect(view.headerLength == 54)
            #expect(view.gsoSize == 1448)
            #expect(view.checksumStart == 34)
            #expect(view.checksumOffset == 16)
            #expect(view.numBuffers == 3)
            #expect(Array(view.payload) == [0xEE])
        }
        try withBytes(Array(Fixture.virtioNetHeader.prefix(10))) { bytes in
            let view = try VirtioNetHeaderView(bytes, size: 10)
            #expect(view.checksumOffset == 16)
            #expect(view.numBuffers == 0)
            #expect(view.payload.count == 0)
        }
    }

    @Test("flags and GSO bits")
    func flagsAndGSO() throws {
        try withBytes([0x07, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]) { bytes in
            let view = try VirtioNetHeaderView(bytes, size: 10)
            #expect(view.flags == [.needsChecksum, .dataValid, .rscInfo])
            #expect(view.gsoType.rawValue & VirtioNetHeader.GSOType.ecn.rawValue != 0)
            #expect(VirtioNetHeader.GSOType(rawValue: view.gsoType.rawValue & 0x7F) == .tcpv4)
        }
    }

    @Test("emits every byte into a 0xA5-filled buffer, in both layouts")
    func emits() throws {
        let bytes = try emitted(length: 12) { try Self.header.emit(into: $0, size: 12) }
        #expect(bytes == Fixture.virtioNetHeader, "\(hex(bytes))")
        let legacy = try emitted(length: 10) { try Self.header.emit(into: $0, size: 10) }
        #expect(legacy == Array(Fixture.virtioNetHeader.prefix(10)))
        // The 10-byte layout leaves byte 10 alone (it belongs to the frame).
        let wider = try emitted(length: 11) { try Self.header.emit(into: $0, size: 10) }
        #expect(wider[10] == 0xA5)
        expectBufferTooSmall { _ = try emitted(length: 11) { try Self.header.emit(into: $0, size: 12) } }
        expectMalformed(field: "size") { _ = try emitted(length: 20) { try Self.header.emit(into: $0, size: 11) } }
    }

    @Test("rejects every truncation and a size other than 10 or 12")
    func rejectsTruncation() {
        for size in [VirtioNetHeader.legacySize, VirtioNetHeader.size] {
            for length in 0 ..< size {
                expectTruncated("size \(size), prefix \(length)") {
                    try withBytes(Array(Fixture.virtioNetHeader.prefix(length))) { _ = try VirtioNetHeaderView($0, size: size) }
                }
            }
        }
        for size in [0, 8, 11, 14] {
            expectMalformed(field: "size") { try withBytes(Fixture.virtioNetHeader) { _ = try VirtioNetHeaderView($0, size: size) } }
        }
    }

    @Test("round-trips in the 12-byte layout; the 10-byte one drops numBuffers")
    func roundTrips() throws {
        let headers = [Self.header, VirtioNetHeader(),
                       VirtioNetHeader(flags: .dataValid, gsoType: .udpL4, headerLength: 0xFFFF, gsoSize: 0x1234,
                                       checksumStart: 0xABCD, checksumOffset: 6, numBuffers: 0xFFFF)]
        for header in headers {
            let bytes = try emitted(length: 12) { try header.emit(into: $0, size: 12) }
            #expect(try withBytes(bytes) { VirtioNetHeader(try VirtioNetHeaderView($0, size: 12)) } == header)
            let legacy = try emitted(length: 10) { try header.emit(into: $0, size: 10) }
            var expected = header
            expected.numBuffers = 0
            #expect(try withBytes(legacy) { VirtioNetHeader(try VirtioNetHeaderView($0, size: 10)) } == expected)
        }
    }
}
