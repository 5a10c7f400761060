import Testing
@testable import Wire

extension Fixture {
    /// A broadcast Ethernet frame carrying the ARP request below, padded to the 60-byte minimum.
    static let ethernetARPFrame: [UInt8] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // destination: broadcast
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // source: 52:54:00:12:34:56
        0x08, 0x06,                          // EtherType: ARP
    ] + arpRequest + [UInt8](repeating: 0, count: 18)  // payload: 28-byte ARP + 18 bytes padding
}

@Suite("Ethernet (IEEE 802.3 §3.1.1)")
struct EthernetFrameTests {
    @Test("decodes every field of the fixture")
    func decodes() throws {
        try withBytes(Fixture.ethernetARPFrame) { bytes in
            let frame = try EthernetFrame(bytes)
            #expect(frame.destination == .broadcast)
            #expect(frame.source == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56))
            #expect(frame.etherType == .arp)
            #expect(frame.payload.count == 46)
            #expect(Array(frame.payload) == Array(Fixture.ethernetARPFrame[14...]))
        }
    }

    @Test("emits every header byte into a 0xA5-filled buffer")
    func emits() throws {
        let header = EthernetHeader(destination: .broadcast, source: MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
                                    etherType: .arp)
        #expect(header.encodedLength == 14)
        let bytes = try emitted(length: 14) { try header.emit(into: $0) }
        #expect(bytes == Array(Fixture.ethernetARPFrame[0 ..< 14]))
        expectBufferTooSmall { _ = try emitted(length: 13) { try header.emit(into: $0) } }
    }

    @Test("rejects every truncation of the header")
    func rejectsTruncation() {
        for length in 0 ..< EthernetFrame.headerLength {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.ethernetARPFrame.prefix(length))) { _ = try EthernetFrame($0) }
            }
        }
        // The bare header is a frame with an empty payload.
        withBytes(Array(Fixture.ethernetARPFrame.prefix(14))) { bytes in
            #expect((try? EthernetFrame(bytes))?.payload.count == 0)
        }
    }

    @Test("round-trips value → bytes → view → value, unknown EtherTypes included")
    func roundTrips() throws {
        for etherType in [EtherType.ipv4, .arp, .ipv6, .vlan, EtherType(rawValue: 0x88B5)] {
            let header = EthernetHeader(destination: MACAddress(0x33, 0x33, 0, 0, 0, 1),
                                        source: MACAddress(0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x23), etherType: etherType)
            let bytes = try emitted(length: header.encodedLength) { try header.emit(into: $0) }
            let decoded = try withBytes(bytes) { EthernetHeader(try EthernetFrame($0)) }
            #expect(decoded == header)
        }
    }
}
