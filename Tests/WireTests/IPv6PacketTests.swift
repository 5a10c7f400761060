import Testing
@testable import Wire

extension Fixture {
    static let ipv6Host = IPv6Address(0x2001, 0x0DB8, 1, 0, 0, 0, 0, 0x10)     // 2001:db8:1::10
    static let ipv6Router = IPv6Address(0x2001, 0x0DB8, 1, 0, 0, 0, 0, 1)      // 2001:db8:1::1

    /// An IPv6 packet 2001:db8:1::10 → 2001:db8:1::1 carrying `icmpv6EchoRequest`.
    static let ipv6EchoRequest: [UInt8] = [
        0x6B, 0x8A, 0xBC, 0xDE,                           // version 6, traffic class 0xb8, flow label 0xabcde
        0x00, 0x10,                                       // payload length 16
        0x3A,                                             // next header 58 (ICMPv6)
        0x40,                                             // hop limit 64
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         // source 2001:db8:1::10 ...
        0, 0, 0, 0, 0, 0, 0x00, 0x10,                     // ...
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         // destination 2001:db8:1::1 ...
        0, 0, 0, 0, 0, 0, 0x00, 0x01,                     // ...
    ] + icmpv6EchoRequest

    /// An MLDv2 report as it goes out: IPv6 header, hop-by-hop header with Router Alert, ICMPv6.
    static let ipv6WithHopByHop: [UInt8] = [
        0x60, 0x00, 0x00, 0x00,                           // version 6, class 0, label 0
        0x00, 0x4C,                                       // payload length 76 (8 hop-by-hop + 68 MLDv2)
        0x00,                                             // next header 0 (hop-by-hop options)
        0x01,                                             // hop limit 1
        0xFE, 0x80, 0, 0, 0, 0, 0, 0,                     // source fe80::ff:fe00:a ...
        0x00, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00, 0x0A,   // ...
        0xFF, 0x02, 0, 0, 0, 0, 0, 0,                     // destination ff02::16 ...
        0, 0, 0, 0, 0, 0, 0x00, 0x16,                     // ...
    ] + hopByHopRouterAlert + mldv2Report

    /// A hop-by-hop header: next header ICMPv6, Router Alert (MLD), PadN; as Linux sends it with MLD.
    static let hopByHopRouterAlert: [UInt8] = [
        0x3A,                                             // next header 58 (ICMPv6)
        0x00,                                             // header extension length 0 (8 bytes)
        0x05, 0x02, 0x00, 0x00,                           // Router Alert, length 2, value 0 (MLD)
        0x01, 0x00,                                       // PadN, length 0
    ]
}

@Suite("IPv6 (RFC 8200)")
struct IPv6PacketTests {
    static let header = IPv6Header(source: Fixture.ipv6Host, destination: Fixture.ipv6Router, nextHeader: .icmpv6,
                                   payloadLength: 16, hopLimit: 64, trafficClass: 0xB8, flowLabel: 0xABCDE)

    @Test("decodes every field of the fixed header")
    func decodes() throws {
        try withBytes(Fixture.ipv6EchoRequest) { bytes in
            let packet = try IPv6Packet(bytes)
            #expect(packet.version == 6)
            #expect(packet.trafficClass == 0xB8)
            #expect(packet.flowLabel == 0xABCDE)
            #expect(packet.payloadLength == 16)
            #expect(packet.nextHeader == .icmpv6)
            #expect(packet.hopLimit == 64)
            #expect(packet.source == Fixture.ipv6Host)
            #expect(packet.destination == Fixture.ipv6Router)
            #expect(packet.header.count == 40)
            #expect(Array(packet.payload) == Fixture.icmpv6EchoRequest)
            let upper = try packet.upperLayer()
            #expect(upper.nextHeader == .icmpv6 && upper.extensionHeadersLength == 0)
            #expect(upper.hopByHopOptions == nil && upper.fragment == nil && !upper.isFragment)
            #expect(Array(upper.payload) == Fixture.icmpv6EchoRequest)
        }
    }

    @Test("payload stops at the payload length; Ethernet padding is excluded")
    func boundedByPayloadLength() throws {
        try withBytes(Fixture.ipv6EchoRequest + [0, 0, 0, 0]) { bytes in
            let packet = try IPv6Packet(bytes)
            #expect(packet.payload.count == 16)
            #expect(try packet.upperLayer().payload.count == 16)
        }
    }

    @Test("emits every byte into a 0xA5-filled buffer")
    func emits() throws {
        #expect(Self.header.encodedLength == 40)
        let bytes = try emitted(length: 40) { try Self.header.emit(into: $0) }
        #expect(bytes == Array(Fixture.ipv6EchoRequest.prefix(40)), "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 39) { try Self.header.emit(into: $0) } }
        var bad = Self.header
        bad.flowLabel = 0x10_0000
        expectMalformed(field: "flowLabel") { _ = try emitted(length: 40) { try bad.emit(into: $0) } }
        bad = Self.header
        bad.payloadLength = 65536
        expectMalformed(field: "payloadLength") { _ = try emitted(length: 40) { try bad.emit(into: $0) } }
    }

    @Test("rejects every truncation and a wrong version")
    func rejects() {
        for length in 0 ..< Fixture.ipv6EchoRequest.count {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.ipv6EchoRequest.prefix(length))) { _ = try IPv6Packet($0) }
            }
        }
        var bytes = Fixture.ipv6EchoRequest
        bytes[0] = 0x45
        expectMalformed(field: "version") { try withBytes(bytes) { _ = try IPv6Packet($0) } }
    }

    @Test("round-trips value → bytes → view → value")
    func roundTrips() throws {
        let headers = [
            Self.header,
            IPv6Header(source: .unspecified, destination: IPv6Address.linkLocal(interfaceIdentifier: 0xA).solicitedNodeMulticast,
                       nextHeader: .icmpv6, payloadLength: 0, hopLimit: 255),
            IPv6Header(source: .loopback, destination: .allNodes, nextHeader: IPProtocol(253), payloadLength: 300,
                       hopLimit: 0, trafficClass: 0xFF, flowLabel: 0xFFFFF),
        ]
        for header in headers {
            let bytes = try emitted(length: 40 + header.payloadLength) { buffer in
                try header.emit(into: buffer)
                for index in 40 ..< buffer.count { buffer[index] = 0 }
            }
            try withBytes(bytes) { raw throws in #expect(IPv6Header(try IPv6Packet(raw)) == header) }
        }
    }

    @Test("walks a hop-by-hop Router Alert header to the MLDv2 report")
    func walksHopByHop() throws {
        try withBytes(Fixture.ipv6WithHopByHop) { bytes in
            let packet = try IPv6Packet(bytes)
            #expect(packet.nextHeader == .hopByHop)
            let upper = try packet.upperLayer()
            #expect(upper.nextHeader == .icmpv6)
            #expect(upper.extensionHeadersLength == 8)
            #expect(Array(upper.payload) == Fixture.mldv2Report)
            let hopByHop = try #require(upper.hopByHopOptions)
            #expect(hopByHop.nextHeader == .icmpv6 && hopByHop.headerLength == 8)
            #expect(try hopByHop.options() == [.routerAlert(0)])
            #expect(try IPv6OptionsHeader(hopByHop).routerAlert == 0)
        }
    }

    @Test("walks destination options, routing and fragment headers; stops at a real fragment")
    func walksChain() throws {
        let destinationOptions: [UInt8] = [43, 0, 0x01, 0x04, 0, 0, 0, 0]            // → routing; PadN of 4
        let routing: [UInt8] = [44, 0, 0, 0, 0, 0, 0, 0]                              // → fragment; type 0, segments left 0
        let atomicFragment: [UInt8] = [17, 0, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF]     // → UDP; offset 0, M clear
        let udp: [UInt8] = [0, 1, 0, 2, 0, 8, 0, 0]
        try withBytes(destinationOptions + routing + atomicFragment + udp) { bytes in
            let upper = try IPv6UpperLayer(nextHeader: .destinationOptions, payload: bytes)
            #expect(upper.nextHeader == .udp)
            #expect(upper.extensionHeadersLength == 24)
            #expect(Array(upper.payload) == udp)
            #expect(upper.fragment?.identification == 0xDEAD_BEEF && upper.fragment?.isAtomic == true)
            #expect(!upper.isFragment)
        }
        let firstFragment: [UInt8] = [17, 0, 0x00, 0x01, 0, 0, 0, 7]                  // offset 0, M set, id 7
        try withBytes(firstFragment + udp) { bytes in
            let upper = try IPv6UpperLayer(nextHeader: .ipv6Fragment, payload: bytes)
            #expect(upper.isFragment && upper.nextHeader == .udp && upper.payload.count == 8)
            #expect(upper.fragment?.moreFragments == true && upper.fragment?.fragmentOffset == 0)
        }
        let laterFragment: [UInt8] = [44, 0, 0x05, 0x68, 0, 0, 0, 7]                  // offset 173, M clear, next 44 ignored
        try withBytes(laterFragment + udp) { bytes in
            let upper = try IPv6UpperLayer(nextHeader: .ipv6Fragment, payload: bytes)
            #expect(upper.isFragment && upper.fragment?.fragmentOffset == 173 && upper.fragment?.moreFragments == false)
            #expect(upper.nextHeader == .ipv6Fragment && upper.payload.count == 8)
        }
        try withBytes([59, 0, 1, 4, 0, 0, 0, 0]) { bytes in                          // → no next header
            let upper = try IPv6UpperLayer(nextHeader: .destinationOptions, payload: bytes)
            #expect(upper.nextHeader == .noNextHeader && upper.payload.count == 0)
        }
    }

    @Test("rejects a hop-by-hop header that is not first, truncated headers and endless chains")
    func walkRejects() {
        expectMalformed(field: "nextHeader") {
            try withBytes([0, 0, 1, 4, 0, 0, 0, 0] + Fixture.hopByHopRouterAlert) { _ = try IPv6UpperLayer(nextHeader: .destinationOptions, payload: $0) }
        }
        for length in 0 ..< Fixture.hopByHopRouterAlert.count {
            expectTruncated("hop-by-hop prefix \(length)") {
                try withBytes(Array(Fixture.hopByHopRouterAlert.prefix(length))) { _ = try IPv6UpperLayer(nextHeader: .hopByHop, payload: $0) }
            }
        }
        expectTruncated("fragment") { try withBytes([17, 0, 0, 1, 0, 0, 0]) { _ = try IPv6UpperLayer(nextHeader: .ipv6Fragment, payload: $0) } }
        let chain = [UInt8](repeating: 0, count: 17 * 8).enumerated().map { $0.offset % 8 == 0 ? 60 : $0.element }
        expectMalformed(field: "extensionHeaders") { try withBytes(chain) { _ = try IPv6UpperLayer(nextHeader: .destinationOptions, payload: $0) } }
    }

    @Test("hop-by-hop header: emits every byte, rejects truncations, round-trips with any padding")
    func optionsHeader() throws {
        let routerAlert = IPv6OptionsHeader(nextHeader: .icmpv6, options: [.routerAlert()])
        #expect(routerAlert.encodedLength == 8)
        let bytes = try emitted(length: 8) { try routerAlert.emit(into: $0) }
        #expect(bytes == Fixture.hopByHopRouterAlert, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 7) { try routerAlert.emit(into: $0) } }
        expectMalformed(field: "options") {
            _ = try emitted(length: 8) { try IPv6OptionsHeader(nextHeader: .icmpv6, options: [IPv6Option(type: .padN, data: [])]).emit(into: $0) }
        }
        for length in 0 ..< 8 {
            expectTruncated("prefix \(length)") { try withBytes(Array(bytes.prefix(length))) { _ = try IPv6OptionsHeaderView($0) } }
        }
        // An option running past the header is truncated.
        expectTruncated("option") { try withBytes([58, 0, 5, 7, 0, 0, 0, 0]) { _ = try IPv6OptionsHeaderView($0).options() } }
        // Pad1 is skipped.
        #expect(try withBytes([58, 0, 0, 0, 5, 2, 0, 0]) { try IPv6OptionsHeaderView($0).options() } == [.routerAlert(0)])
        for dataLength in 0 ... 12 {   // option lengths 2 ... 14 need no padding, Pad1 or PadN
            let header = IPv6OptionsHeader(nextHeader: .udp, options: [IPv6Option(type: IPv6OptionType(0x3E), data: Array(repeating: 0x5A, count: dataLength))])
            let encoded = try emitted(length: header.encodedLength) { try header.emit(into: $0) }
            #expect(encoded.count % 8 == 0 && !encoded.contains(0xA5))
            try withBytes(encoded) { raw throws in #expect(try IPv6OptionsHeader(IPv6OptionsHeaderView(raw)) == header) }
        }
        #expect(IPv6OptionType(0xC2).actionIfUnrecognized == 3 && IPv6OptionType.routerAlert.actionIfUnrecognized == 0)
    }

    @Test("IPv6 pseudo-header and UDP over IPv6: a zero checksum is invalid (RFC 8200 §8.1)")
    func udpOverIPv6() throws {
        let source = IPv6Address.linkLocal(interfaceIdentifier: 0xFF_FE00_000A)
        let datagram = try emitted(length: 8 + Fixture.dhcpv6Solicit.count) { buffer in
            try UDPHeader(sourcePort: 546, destinationPort: 547, payloadLength: Fixture.dhcpv6Solicit.count).emit(into: buffer)
            buffer.storeBytes(Fixture.dhcpv6Solicit, at: 8)
            UDPHeader.fillChecksum(datagram: buffer, source: source, destination: .allDHCPRelayAgentsAndServers)
        }
        // 0x3801 computed independently with python3 (RFC 1071 sum over the RFC 8200 §8.1 pseudo-header).
        #expect(datagram[6] == 0x38 && datagram[7] == 0x01)
        try withBytes(datagram) { bytes in
            let udp = try UDPDatagram(bytes)
            #expect(udp.isChecksumValid(source: source, destination: .allDHCPRelayAgentsAndServers))
            #expect(!udp.isChecksumValid(source: source, destination: .allNodes))
        }
        var zeroed = datagram
        zeroed[6] = 0; zeroed[7] = 0
        try withBytes(zeroed) { raw throws in #expect(!(try UDPDatagram(raw)).isChecksumValid(source: source, destination: .allDHCPRelayAgentsAndServers)) }
        // The pseudo-header alone: source, destination, 32-bit length, zeros, next header.
        var manual = InternetChecksum()
        for byte in source.bytes + IPv6Address.allNodes.bytes + [0, 1, 0, 2, 0, 0, 0, 17] { withBytes([byte]) { manual.add($0) } }
        #expect(InternetChecksum.pseudoHeader(source: source, destination: .allNodes, nextHeader: .udp, upperLayerLength: 0x10002).value == manual.value)
    }
}
