import Testing
@testable import Wire

extension Fixture {
    static let routerLinkLocal = IPv6Address(0xFE80, 0, 0, 0, 0, 0, 0, 1)                 // fe80::1
    static let hostLinkLocal = IPv6Address(0xFE80, 0, 0, 0, 0, 0xFF, 0xFE00, 0x000A)      // fe80::ff:fe00:a
    static let routerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
    static let hostMAC = MACAddress(0x02, 0, 0, 0, 0, 0x0A)

    /// A Router Advertisement fe80::1 → ff02::1: O flag, prefix 2001:db8:1::/64 with L and A, MTU 1500,
    /// RDNSS 2001:db8:1::1, source link-layer address 02:00:00:00:00:01.
    static let routerAdvertisement: [UInt8] = [
        0x86,                                             // type 134: router advertisement
        0x00,                                             // code 0
        0x29, 0x0A,                                       // checksum 0x290a (computed independently with python3)
        0x40,                                             // cur hop limit 64
        0x40,                                             // M clear, O set
        0x07, 0x08,                                       // router lifetime 1800 s
        0x00, 0x00, 0x75, 0x30,                           // reachable time 30000 ms
        0x00, 0x00, 0x03, 0xE8,                           // retrans timer 1000 ms
        0x01, 0x01,                                       // option 1 (source link-layer address), length 1
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,               //   02:00:00:00:00:01
        0x03, 0x04,                                       // option 3 (prefix information), length 4
        0x40,                                             //   prefix length 64
        0xC0,                                             //   L and A set
        0x00, 0x27, 0x8D, 0x00,                           //   valid lifetime 2592000 s
        0x00, 0x09, 0x3A, 0x80,                           //   preferred lifetime 604800 s
        0x00, 0x00, 0x00, 0x00,                           //   reserved
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         //   prefix 2001:db8:1:: ...
        0, 0, 0, 0, 0, 0, 0, 0,                           //   ...
        0x05, 0x01,                                       // option 5 (MTU), length 1
        0x00, 0x00,                                       //   reserved
        0x00, 0x00, 0x05, 0xDC,                           //   MTU 1500
        0x19, 0x03,                                       // option 25 (RDNSS), length 3
        0x00, 0x00,                                       //   reserved
        0x00, 0x00, 0x04, 0xB0,                           //   lifetime 1200 s
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         //   2001:db8:1::1 ...
        0, 0, 0, 0, 0, 0, 0, 0x01,                        //   ...
    ]

    /// A Duplicate Address Detection Neighbor Solicitation :: → ff02::1:ff00:a for the tentative fe80::ff:fe00:a.
    static let neighborSolicitation: [UInt8] = [
        0x87,                                             // type 135: neighbor solicitation
        0x00,                                             // code 0
        0x7D, 0x13,                                       // checksum 0x7d13 (computed independently with python3)
        0x00, 0x00, 0x00, 0x00,                           // reserved
        0xFE, 0x80, 0, 0, 0, 0, 0, 0,                     // target fe80::ff:fe00:a ...
        0x00, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00, 0x0A,   // ...
    ]

    /// The router's solicited Neighbor Advertisement fe80::1 → fe80::ff:fe00:a.
    static let neighborAdvertisement: [UInt8] = [
        0x88,                                             // type 136: neighbor advertisement
        0x00,                                             // code 0
        0x99, 0x13,                                       // checksum 0x9913 (computed independently with python3)
        0xE0, 0x00, 0x00, 0x00,                           // R, S and O set; reserved
        0xFE, 0x80, 0, 0, 0, 0, 0, 0,                     // target fe80::1 ...
        0, 0, 0, 0, 0, 0, 0, 0x01,                        // ...
        0x02, 0x01,                                       // option 2 (target link-layer address), length 1
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,               //   02:00:00:00:00:01
    ]
}

@Suite("Neighbor Discovery (RFC 4861, RFC 8106)")
struct NDPTests {
    static let prefix = NDPPrefixInformation(prefixLength: 64, onLink: true, autonomous: true, validLifetime: 2_592_000,
                                             preferredLifetime: 604_800, prefix: IPv6Address(0x2001, 0xDB8, 1, 0, 0, 0, 0, 0))
    static let advertisement = RouterAdvertisement(
        currentHopLimit: 64, managedAddressConfiguration: false, otherConfiguration: true, routerLifetime: 1800,
        reachableTime: 30000, retransTimer: 1000,
        options: [.sourceLinkLayerAddress(Fixture.routerMAC), .prefixInformation(prefix), .mtu(1500),
                  .recursiveDNSServer(lifetime: 1200, addresses: [Fixture.ipv6Router])])
    static let solicitation = NeighborSolicitation(targetAddress: Fixture.hostLinkLocal)
    static let neighborAdvertisement = NeighborAdvertisement(router: true, solicited: true, override: true,
                                                             targetAddress: Fixture.routerLinkLocal,
                                                             options: [.targetLinkLayerAddress(Fixture.routerMAC)])

    // MARK: Router Advertisement

    @Test("RA: decodes every field and option")
    func decodesRA() throws {
        try withBytes(Fixture.routerAdvertisement) { bytes throws in
            #expect(try ICMPv6Packet(bytes).isChecksumValid(source: Fixture.routerLinkLocal, destination: .allNodes))
            let packet = try RouterAdvertisementPacket(bytes)
            #expect(packet.code == 0 && packet.checksum == 0x290A)
            #expect(packet.currentHopLimit == 64)
            #expect(!packet.managedAddressConfiguration && packet.otherConfiguration)
            #expect(packet.routerLifetime == 1800 && packet.reachableTime == 30000 && packet.retransTimer == 1000)
            let options = try packet.options()
            #expect(options.count == 4)
            #expect(options.sourceLinkLayerAddress == Fixture.routerMAC)
            #expect(options.targetLinkLayerAddress == nil)
            #expect(options.prefixInformation == [Self.prefix])
            #expect(options.prefixInformation.first?.ipv6Prefix == IPv6Prefix("2001:db8:1::/64"))
            #expect(options.mtu == 1500)
            #expect(options[3] == .recursiveDNSServer(lifetime: 1200, addresses: [Fixture.ipv6Router]))
            #expect(try RouterAdvertisement(packet) == Self.advertisement)
        }
    }

    @Test("RA: emits every byte into a 0xA5-filled buffer")
    func emitsRA() throws {
        #expect(Self.advertisement.encodedLength == 88)
        let bytes = try emitted(length: 88) { try Self.advertisement.emit(into: $0, source: Fixture.routerLinkLocal, destination: .allNodes) }
        #expect(bytes == Fixture.routerAdvertisement, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 87) { try Self.advertisement.emit(into: $0, source: Fixture.routerLinkLocal, destination: .allNodes) } }
    }

    @Test("RA: every truncation is rejected by the view or its options")
    func rejectsRA() throws {
        for length in 0 ..< Fixture.routerAdvertisement.count where ![16, 24, 56, 64].contains(length) {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.routerAdvertisement.prefix(length))) { _ = try RouterAdvertisementPacket($0).options() }
            }
        }
        // Cut at an option boundary, the rest is a valid shorter RA (options are not counted anywhere).
        let optionCount = try withBytes(Array(Fixture.routerAdvertisement.prefix(56))) { try RouterAdvertisementPacket($0).options().count }
        #expect(optionCount == 2)
        expectMalformed(field: "type") { try withBytes(Fixture.neighborAdvertisement) { _ = try RouterAdvertisementPacket($0) } }
    }

    @Test("RA: round-trips with M, DNSSL, unknown options and several prefixes")
    func roundTripsRA() throws {
        let advertisements = [
            Self.advertisement,
            RouterAdvertisement(currentHopLimit: 0, managedAddressConfiguration: true, otherConfiguration: false,
                                routerLifetime: 0, options: []),
            RouterAdvertisement(options: [
                .prefixInformation(Self.prefix),
                .prefixInformation(NDPPrefixInformation(prefixLength: 48, onLink: false, autonomous: true, validLifetime: .max,
                                                        preferredLifetime: .max, prefix: IPv6Address("2001:db8:2::")!)),
                .dnsSearchList(lifetime: 600, domainNames: ["example.com", "lab.example.net"]),
                .recursiveDNSServer(lifetime: .max, addresses: [Fixture.ipv6Router, Fixture.ipv6Host]),
                .other(type: NDPOptionType(38), data: [0, 0, 0, 0, 0, 9]),
            ]),
        ]
        for advertisement in advertisements {
            let bytes = try emitted(length: advertisement.encodedLength) {
                try advertisement.emit(into: $0, source: Fixture.routerLinkLocal, destination: .allNodes)
            }
            try withBytes(bytes) { raw throws in
                #expect(try ICMPv6Packet(raw).isChecksumValid(source: Fixture.routerLinkLocal, destination: .allNodes))
                #expect(try RouterAdvertisement(RouterAdvertisementPacket(raw)) == advertisement)
            }
        }
    }

    // MARK: Options

    // Specified behaviour changed (RFC 4861 §6.1.2 invalidates a message only for a zero option length; Linux's
    // ndisc_parse_options drops just a bad option): a known option of the wrong length or an undecodable DNSSL is
    // no longer `expectMalformed` for the whole message but parses as `.invalid(type:data:)` next to the good ones.
    @Test("options: length 0 and overruns are malformed, wrong lengths are .invalid, DNSSL is RFC 1035 labels padded with zeros")
    func options() throws {
        let base = Array(Fixture.routerAdvertisement.prefix(16))
        expectMalformed(field: "length") { try withBytes(base + [1, 0, 2, 0, 0, 0, 0, 1]) { _ = try RouterAdvertisementPacket($0).options() } }
        #expect(throws: WireError.self) { try withBytes(base + [1, 2, 2, 0, 0, 0, 0, 1]) { _ = try RouterAdvertisementPacket($0).options() } }
        let mtu: [UInt8] = [5, 1, 0, 0, 0, 0, 0x05, 0xDC]
        try withBytes(base + [5, 2] + [UInt8](repeating: 0, count: 14) + mtu) { bytes throws in
            #expect(try RouterAdvertisementPacket(bytes).options() == [.invalid(type: .mtu, data: [UInt8](repeating: 0, count: 14)), .mtu(1500)])
        }
        try withBytes(base + [25, 2] + [UInt8](repeating: 0, count: 14)) { bytes throws in
            #expect(try RouterAdvertisementPacket(bytes).options() == [.invalid(type: .recursiveDNSServer, data: [UInt8](repeating: 0, count: 14))])
        }
        try withBytes(base + [3, 3] + [UInt8](repeating: 0, count: 22)) { bytes throws in
            #expect(try RouterAdvertisementPacket(bytes).options().invalidCount == 1)
        }
        try withBytes(base + [1, 2] + [UInt8](repeating: 0, count: 14) + mtu) { bytes throws in
            let options = try RouterAdvertisementPacket(bytes).options()
            #expect(options == [.invalid(type: .sourceLinkLayerAddress, data: [UInt8](repeating: 0, count: 14)), .mtu(1500)])
            #expect(options.sourceLinkLayerAddress == nil && options.mtu == 1500)
        }
        // An .invalid option is written back verbatim.
        let invalidEmitted = try emitted(length: 16) { try RouterSolicitation(options: [.invalid(type: .mtu, data: [0, 0, 0, 0, 0, 9])]).emit(into: $0, source: .unspecified, destination: .allRouters) }
        #expect(Array(invalidEmitted[8...]) == [5, 1, 0, 0, 0, 0, 0, 9])
        let dnssl: [UInt8] = [
            31, 3,                                        // DNSSL, length 3 (24 bytes)
            0, 0,                                         // reserved
            0, 0, 0x02, 0x58,                             // lifetime 600 s
            7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65,  // "example"
            3, 0x63, 0x6F, 0x6D, 0,                       // "com", root
            0, 0, 0,                                      // padding
        ]
        try withBytes(base + dnssl) { bytes throws in
            #expect(try RouterAdvertisementPacket(bytes).options() == [.dnsSearchList(lifetime: 600, domainNames: ["example.com"])])
        }
        let encoded = try emitted(length: 16 + 24) {
            try RouterAdvertisement(currentHopLimit: 64, otherConfiguration: true, routerLifetime: 1800, reachableTime: 30000,
                                    retransTimer: 1000, options: [.dnsSearchList(lifetime: 600, domainNames: ["example.com."])])
                .emit(into: $0, source: Fixture.routerLinkLocal, destination: .allNodes)
        }
        #expect(Array(encoded[16...]) == dnssl)
        try withBytes(base + [31, 2, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8)) { bytes throws in
            #expect(try RouterAdvertisementPacket(bytes).options() == [.invalid(type: .dnsSearchList, data: [0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8))])
        }
        var dotted = dnssl
        dotted[10] = UInt8(ascii: ".")
        var compressed = dnssl
        compressed[8] = 0xC0
        var unterminated = dnssl
        unterminated[20] = 3
        for bad in [dotted, compressed, unterminated] {
            try withBytes(base + bad + mtu) { bytes throws in
                #expect(try RouterAdvertisementPacket(bytes).options() == [.invalid(type: .dnsSearchList, data: Array(bad[2...])), .mtu(1500)])
            }
        }
        expectMalformed(field: "domainName") {
            _ = try emitted(length: 64) { try RouterSolicitation(options: [.dnsSearchList(lifetime: 1, domainNames: ["a..b"])]).emit(into: $0, source: .unspecified, destination: .allRouters) }
        }
        expectMalformed(field: "length") {
            _ = try emitted(length: 64) { try RouterSolicitation(options: [.other(type: NDPOptionType(99), data: [1])]).emit(into: $0, source: .unspecified, destination: .allRouters) }
        }
    }

    // MARK: Router Solicitation

    @Test("RS: decodes, emits every byte, rejects truncations, round-trips")
    func routerSolicitation() throws {
        let solicitation = RouterSolicitation(options: [.sourceLinkLayerAddress(Fixture.hostMAC)])
        #expect(solicitation.encodedLength == 16)
        let bytes = try emitted(length: 16) { try solicitation.emit(into: $0, source: Fixture.hostLinkLocal, destination: .allRouters) }
        // Type 133, code 0, checksum, reserved, then the source link-layer address option.
        #expect(bytes[0] == 133 && bytes[1] == 0 && Array(bytes[4...]) == [0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 0x0A])
        try withBytes(bytes) { raw in
            #expect(try ICMPv6Packet(raw).isChecksumValid(source: Fixture.hostLinkLocal, destination: .allRouters))
            let packet = try RouterSolicitationPacket(raw)
            #expect(packet.code == 0)
            #expect(try packet.options().sourceLinkLayerAddress == Fixture.hostMAC)
            #expect(try RouterSolicitation(packet) == solicitation)
        }
        for length in 0 ..< 16 where length != 8 {
            expectTruncated("prefix \(length)") { try withBytes(Array(bytes.prefix(length))) { _ = try RouterSolicitationPacket($0).options() } }
        }
        let empty = try emitted(length: 8) { try RouterSolicitation().emit(into: $0, source: .unspecified, destination: .allRouters) }
        try withBytes(empty) { raw throws in #expect(try RouterSolicitation(RouterSolicitationPacket(raw)) == RouterSolicitation()) }
    }

    // MARK: Neighbor Solicitation

    @Test("NS: decodes every field of a DAD probe")
    func decodesNS() throws {
        let group = Fixture.hostLinkLocal.solicitedNodeMulticast
        #expect(group.description == "ff02::1:ff00:a")
        try withBytes(Fixture.neighborSolicitation) { bytes in
            #expect(try ICMPv6Packet(bytes).isChecksumValid(source: .unspecified, destination: group))
            let packet = try NeighborSolicitationPacket(bytes)
            #expect(packet.code == 0 && packet.checksum == 0x7D13)
            #expect(packet.targetAddress == Fixture.hostLinkLocal)
            #expect(try packet.options().isEmpty)
            #expect(try NeighborSolicitation(packet) == Self.solicitation)
        }
    }

    @Test("NS: emits every byte, rejects truncations, round-trips")
    func emitsNS() throws {
        let group = Fixture.hostLinkLocal.solicitedNodeMulticast
        let bytes = try emitted(length: 24) { try Self.solicitation.emit(into: $0, source: .unspecified, destination: group) }
        #expect(bytes == Fixture.neighborSolicitation, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 23) { try Self.solicitation.emit(into: $0, source: .unspecified, destination: group) } }
        for length in 0 ..< 24 {
            expectTruncated("prefix \(length)") { try withBytes(Array(bytes.prefix(length))) { _ = try NeighborSolicitationPacket($0) } }
        }
        let withSource = NeighborSolicitation(targetAddress: Fixture.routerLinkLocal, options: [.sourceLinkLayerAddress(Fixture.hostMAC)])
        let encoded = try emitted(length: withSource.encodedLength) { try withSource.emit(into: $0, source: Fixture.hostLinkLocal, destination: Fixture.routerLinkLocal.solicitedNodeMulticast) }
        try withBytes(encoded) { raw throws in #expect(try NeighborSolicitation(NeighborSolicitationPacket(raw)) == withSource) }
    }

    // MARK: Neighbor Advertisement

    @Test("NA: decodes every field")
    func decodesNA() throws {
        try withBytes(Fixture.neighborAdvertisement) { bytes in
            #expect(try ICMPv6Packet(bytes).isChecksumValid(source: Fixture.routerLinkLocal, destination: Fixture.hostLinkLocal))
            let packet = try NeighborAdvertisementPacket(bytes)
            #expect(packet.code == 0 && packet.checksum == 0x9913)
            #expect(packet.router && packet.solicited && packet.override)
            #expect(packet.targetAddress == Fixture.routerLinkLocal)
            #expect(try packet.options().targetLinkLayerAddress == Fixture.routerMAC)
            #expect(try NeighborAdvertisement(packet) == Self.neighborAdvertisement)
        }
    }

    @Test("NA: emits every byte, rejects truncations, round-trips every flag combination")
    func emitsNA() throws {
        let bytes = try emitted(length: 32) { try Self.neighborAdvertisement.emit(into: $0, source: Fixture.routerLinkLocal, destination: Fixture.hostLinkLocal) }
        #expect(bytes == Fixture.neighborAdvertisement, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 31) { try Self.neighborAdvertisement.emit(into: $0, source: Fixture.routerLinkLocal, destination: Fixture.hostLinkLocal) } }
        for length in 0 ..< 32 where length != 24 {
            expectTruncated("prefix \(length)") { try withBytes(Array(bytes.prefix(length))) { _ = try NeighborAdvertisementPacket($0).options() } }
        }
        for flags in 0 ..< 8 {
            let advertisement = NeighborAdvertisement(router: flags & 4 != 0, solicited: flags & 2 != 0, override: flags & 1 != 0,
                                                      targetAddress: Fixture.hostLinkLocal)
            let encoded = try emitted(length: 24) { try advertisement.emit(into: $0, source: Fixture.hostLinkLocal, destination: .allNodes) }
            try withBytes(encoded) { raw throws in #expect(try NeighborAdvertisement(NeighborAdvertisementPacket(raw)) == advertisement) }
        }
    }
}
