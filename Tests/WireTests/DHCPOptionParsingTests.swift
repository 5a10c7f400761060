import Testing
@testable import Wire

/// Options 42, 61 (RFC 4361), 80, 108, 119 and 121: parsed from bytes, rejected when malformed, never trapping.
@Suite("DHCP options (RFC 3397, RFC 3442, RFC 4039, RFC 4361, RFC 8925)")
struct DHCPOptionParsingTests {
    func message(_ options: [DHCPOption]) -> DHCPMessage { DHCPMessage(op: .bootReply, options: options) }

    // MARK: 121, RFC 3442

    @Test("option 121: every prefix width encodes its significant octets only", arguments: [
        // (width, destination, expected bytes before the router)
        (0, IPv4Address(0, 0, 0, 0), [0] as [UInt8]),
        (1, IPv4Address(128, 0, 0, 0), [1, 128]),
        (8, IPv4Address(10, 0, 0, 0), [8, 10]),
        (9, IPv4Address(10, 128, 0, 0), [9, 10, 128]),
        (16, IPv4Address(172, 16, 0, 0), [16, 172, 16]),
        (24, IPv4Address(192, 0, 2, 0), [24, 192, 0, 2]),
        (25, IPv4Address(192, 0, 2, 128), [25, 192, 0, 2, 128]),
        (31, IPv4Address(192, 0, 2, 6), [31, 192, 0, 2, 6]),
        (32, IPv4Address(192, 0, 2, 7), [32, 192, 0, 2, 7]),
    ])
    func classlessRouteWidths(width: Int, destination: IPv4Address, prefix: [UInt8]) throws {
        let router = IPv4Address(198, 51, 100, 1)
        let bytes = prefix + [198, 51, 100, 1]
        let routes = try #require(DHCPClasslessRoute.parse(bytes))
        #expect(routes == [DHCPClasslessRoute(destination: destination, prefixLength: width, router: router)])
        #expect(routes[0].destination == destination && routes[0].prefixLength == width && routes[0].router == router)
        #expect(routes[0].encoded == bytes)
        #expect(routes[0].isDefault == (width == 0))
    }

    @Test("option 121: several routes in order, host bits cleared, on-link router 0.0.0.0")
    func classlessRoutesInOrder() throws {
        let bytes: [UInt8] = [
            0, 198, 51, 100, 1,             // 0.0.0.0/0 via 198.51.100.1
            24, 203, 0, 113, 0, 0, 0, 0,    // 203.0.113.0/24 on-link
            12, 10, 0x1F, 192, 0, 2, 9,     // 10.16.0.0/12 (host bits 0x0F cleared) via 192.0.2.9
        ]
        let routes = try #require(DHCPClasslessRoute.parse(bytes))
        #expect(routes.map(\.description) == ["0.0.0.0/0 via 198.51.100.1", "203.0.113.0/24 via 0.0.0.0",
                                              "10.16.0.0/12 via 192.0.2.9"])
        let parsed = message([DHCPOption(code: .classlessStaticRoute, data: bytes)]).classlessStaticRoutes
        #expect(parsed == routes)
        #expect(DHCPOption.classlessStaticRoutes(routes).data == [0, 198, 51, 100, 1, 24, 203, 0, 113, 0, 0, 0, 0,
                                                                  12, 10, 0x10, 192, 0, 2, 9])
    }

    @Test("option 121: bad widths and cut routes reject the whole option", arguments: [
        [] as [UInt8],                          // empty
        [33, 1, 2, 3, 4, 5, 6, 7, 8],           // width 33
        [255, 1, 2, 3, 4],                      // width 255
        [24, 192, 0, 2, 198, 51, 100],          // router cut short
        [24, 192, 0],                           // destination cut short
        [0, 198, 51, 100, 1, 8],                // second route has only its width
        [0],                                    // default route without router
    ])
    func classlessRouteMalformed(bytes: [UInt8]) {
        #expect(DHCPClasslessRoute.parse(bytes) == nil)
        #expect(message([DHCPOption(code: .classlessStaticRoute, data: bytes)]).classlessStaticRoutes == nil)
    }

    // MARK: 119, RFC 3397

    /// RFC 3397 §3's example: "eng.apple.com." and "marketing.apple.com.", the second ending in a pointer to
    /// offset 4 ("apple.com").
    static let rfc3397Example: [UInt8] = [
        3, 0x65, 0x6E, 0x67,                            // "eng"
        5, 0x61, 0x70, 0x70, 0x6C, 0x65,                // "apple"
        3, 0x63, 0x6F, 0x6D, 0,                         // "com", root
        9, 0x6D, 0x61, 0x72, 0x6B, 0x65, 0x74, 0x69, 0x6E, 0x67,   // "marketing"
        0xC0, 0x04,                                     // pointer to offset 4
    ]

    @Test("option 119: the RFC 3397 example with a compression pointer, split over two options")
    func domainSearchWithPointer() throws {
        #expect(DHCPDomainSearch.decode(Self.rfc3397Example) == ["eng.apple.com", "marketing.apple.com"])
        // Split at byte 9 as the RFC shows it: RFC 3396 concatenation happens before decoding.
        let wire: [UInt8] = [119, 9] + Self.rfc3397Example[0 ..< 9] + [119, 18] + Self.rfc3397Example[9...]
        // The fixture's end option is at byte 289: the two pieces go in its place.
        #expect(Fixture.dhcpOffer[289] == 255)
        let bytes = Array(Fixture.dhcpOffer[0 ..< 289]) + wire + [255]
        let parsed = try withBytes(bytes) { try DHCPMessage(DHCPPacket($0)) }
        #expect(parsed.domainSearch == ["eng.apple.com", "marketing.apple.com"])
    }

    @Test("option 119: pointer chains resolve; encode round-trips")
    func domainSearchChains() {
        // "a.b" at 0, "c" + pointer to 0 at 5, "d" + pointer to 5 at 9.
        let bytes: [UInt8] = [1, 0x61, 1, 0x62, 0, 1, 0x63, 0xC0, 0, 1, 0x64, 0xC0, 5]
        #expect(DHCPDomainSearch.decode(bytes) == ["a.b", "c.a.b", "d.c.a.b"])
        let names = ["example.com", "lab.example.net", "."]
        #expect(DHCPDomainSearch.decode(DHCPDomainSearch.encode(names)) == ["example.com", "lab.example.net", "."])
        #expect(DHCPOption.domainSearch(["x.y"]).data == [1, 0x78, 1, 0x79, 0])
        // Names that cannot be encoded are left out, not trapped on.
        #expect(DHCPDomainSearch.encode(["a..b", String(repeating: "x", count: 64), "ok"]) == [2, 0x6F, 0x6B, 0])
    }

    @Test("option 119: loops, forward pointers and cut data are malformed", arguments: [
        [0xC0, 0x00] as [UInt8],                    // pointer to itself
        [1, 0x61, 0xC0, 0x00],                      // pointer back to the start of its own name: a loop
        [1, 0x61, 0, 1, 0x62, 0xC0, 0x03],          // pointer into its own name
        [0xC0, 0x02, 1, 0x61, 0],                   // forward pointer
        [1, 0x61, 0, 0xC0],                         // pointer cut short
        [5, 0x61, 0x62],                            // label cut short
        [1, 0x61],                                  // no terminating root
        [0x41, 0x61, 0],                            // label type 01
        [0x81, 0x61, 0],                            // label type 10
        [],                                         // empty
    ])
    func domainSearchMalformed(bytes: [UInt8]) {
        #expect(DHCPDomainSearch.decode(bytes) == nil)
    }

    @Test("option 119: a name over 255 bytes is malformed, also when built from pointers")
    func domainSearchTooLong() {
        let label: [UInt8] = [63] + [UInt8](repeating: 0x61, count: 63)
        let fourLabels = label + label + label + label + [0]            // 4 × 64 + 1 = 257 bytes
        #expect(DHCPDomainSearch.decode(fourLabels) == nil)
        let threeLabels = label + label + label + [0]                   // 193 bytes: fine
        #expect(DHCPDomainSearch.decode(threeLabels)?.first?.count == 63 * 3 + 2)
        // 193 bytes at 0, then one more 63-byte label and a pointer to 0: 257 bytes.
        #expect(DHCPDomainSearch.decode(threeLabels + label + [0xC0, 0]) == nil)
    }

    @Test("option 119: 10,000 seeded random payloads never trap")
    func domainSearchFuzz() {
        var state: UInt64 = 0x5EED
        for _ in 0 ..< 10_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 58)
            var bytes: [UInt8] = []
            for index in 0 ..< length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let byte = UInt8(truncatingIfNeeded: state >> 33)
                bytes.append(index % 3 == 0 ? byte & 0xC7 : byte)   // pointers and short labels often
            }
            _ = DHCPDomainSearch.decode(bytes)
            _ = DHCPClasslessRoute.parse(bytes)
        }
    }

    // MARK: 42, 80, 108, 61

    @Test("options 42, 80 and 108 decode; wrong lengths do not")
    func smallOptions() {
        let good = message([
            .addresses(.ntpServers, [IPv4Address(192, 0, 2, 123), IPv4Address(192, 0, 2, 124)]),
            .rapidCommit,
            .uint32(.ipv6OnlyPreferred, 1800),
        ])
        #expect(good.ntpServers == [IPv4Address(192, 0, 2, 123), IPv4Address(192, 0, 2, 124)])
        #expect(good.hasRapidCommit)
        #expect(good.ipv6OnlyPreferredWait == 1800)
        #expect(DHCPOption.rapidCommit == DHCPOption(code: DHCPOptionCode(80), data: []))
        let bad = message([DHCPOption(code: .ntpServers, data: [1, 2, 3]), DHCPOption(code: .rapidCommit, data: [1]),
                           DHCPOption(code: .ipv6OnlyPreferred, data: [0, 0, 7])])
        #expect(bad.ntpServers.isEmpty && !bad.hasRapidCommit && bad.ipv6OnlyPreferredWait == nil)
        #expect(!message([]).hasRapidCommit)
    }

    @Test("option 61 per RFC 4361: type 255, IAID big-endian, DUID")
    func clientIdentifierDUID() {
        let option = DHCPOption.clientIdentifier(iaid: 0x0A0B_0C0D, duid: [0, 3, 0, 1, 2, 0, 0x5e, 1, 2, 3])
        #expect(option.code == .clientIdentifier)
        #expect(option.data == [255, 0x0A, 0x0B, 0x0C, 0x0D, 0, 3, 0, 1, 2, 0, 0x5e, 1, 2, 3])
    }
}
