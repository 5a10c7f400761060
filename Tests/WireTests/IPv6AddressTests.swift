import Testing
@testable import Wire

@Suite("IPv6 addresses (RFC 4291, RFC 5952)")
struct IPv6AddressTests {
    @Test("parses the RFC 4291 §2.2 forms and prints RFC 5952 canonical text")
    func canonicalText() throws {
        let cases: [(input: String, canonical: String)] = [
            ("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),        // RFC 5952 §4.1 leading zeros
            ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
            ("2001:DB8::AAAA:1", "2001:db8::aaaa:1"),                          // §4.3 lowercase
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),                  // §4.2.2 no :: for one field
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),                           // §4.2.3 the longest run
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),                     // §4.2.3 the first of equal runs
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("fe80::ff:fe00:a", "fe80::ff:fe00:a"),
            ("ff02:0:0:0:0:1:ff00:000a", "ff02::1:ff00:a"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),                          // RFC 5952 §5 IPv4-mapped
            ("::ffff:c000:0201", "::ffff:192.0.2.1"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),                      // mixed input, hex output
        ]
        for (input, canonical) in cases {
            let address = try #require(IPv6Address(input), "\(input)")
            #expect(address.description == canonical, "\(input)")
            #expect(IPv6Address(canonical) == address, "\(canonical) re-parses")
        }
        #expect(IPv6Address("2001:db8::2:1") == IPv6Address(0x2001, 0x0DB8, 0, 0, 0, 0, 2, 1))
        #expect(IPv6Address("2001:db8::2:1")?.high == 0x2001_0DB8_0000_0000)
        #expect(IPv6Address("2001:db8::2:1")?.low == 0x0000_0000_0002_0001)
    }

    @Test("rejects invalid text")
    func rejectsInvalid() {
        for text in ["", ":", ":::", "1:::2", "1::2::3", ":1::", "1::2:", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
                     "1:2:3:4:5:6:7::8:9", "12345::", "g::", "::1/64", "fe80::1%eth0", "1.2.3.4", "::1.2.3",
                     "::1.2.3.4:5", "1.2.3.4::", " ::1", "::ffff:256.0.0.1", "1:2:3:4:5:6:7:8::",
                     "1:2:3:4:5:6:1.2.3.4:8"] {
            #expect(IPv6Address(text) == nil, "\(text)")
        }
    }

    @Test("round-trips print → parse for seeded random addresses with zero runs")
    func randomRoundTrip() throws {
        var random = SplitMix64(seed: 5952)
        for _ in 0 ..< 2_000 {
            // Fields are zero half the time so that runs of every length occur.
            let fields = (0 ..< 8).map { _ in random.next() % 2 == 0 ? 0 : UInt16(truncatingIfNeeded: random.next() >> (random.next() % 16)) }
            let address = IPv6Address(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7])
            #expect(address.fields == fields)
            let text = address.description
            #expect(IPv6Address(text) == address, "\(text)")
            #expect(!text.contains(":::") && text == text.lowercased())
        }
    }

    @Test("bytes, store and load agree")
    func bytes() throws {
        let address = try #require(IPv6Address("2001:db8:1::a0b:c0d"))
        let bytes: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 1, 0, 0, 0, 0, 0, 0, 0x0A, 0x0B, 0x0C, 0x0D]
        #expect(address.bytes == bytes)
        #expect(IPv6Address(bytes: bytes) == address)
        #expect(IPv6Address(bytes: bytes.dropLast()) == nil)
        #expect(withBytes(bytes) { IPv6Address($0, at: 0) } == address)
        let stored = try emitted(length: 16) { address.store(into: $0, at: 0) }
        #expect(stored == bytes)
    }

    @Test("classification")
    func classification() throws {
        #expect(IPv6Address.unspecified.isUnspecified && !IPv6Address.loopback.isUnspecified)
        #expect(IPv6Address.loopback.isLoopback && IPv6Address.loopback.description == "::1")
        #expect(IPv6Address("fe80::1")!.isLinkLocal)
        #expect(IPv6Address("febf:ffff::1")!.isLinkLocal)
        #expect(!IPv6Address("fec0::1")!.isLinkLocal)
        #expect(!IPv6Address("2001:db8::1")!.isLinkLocal)
        #expect(IPv6Address.allNodes.isMulticast && !IPv6Address("fe80::1")!.isMulticast)
        #expect(IPv6Address.allNodes.multicastScope == 2 && IPv6Address("ff05::1:3")!.multicastScope == 5)
        #expect(IPv6Address("2001:db8::1")!.multicastScope == nil)
        #expect(IPv6Address.allNodes.description == "ff02::1")
        #expect(IPv6Address.allRouters.description == "ff02::2")
        #expect(IPv6Address.allMLDv2Routers.description == "ff02::16")
        #expect(IPv6Address.allDHCPRelayAgentsAndServers.description == "ff02::1:2")
        #expect(IPv6Address.unspecified < IPv6Address.loopback && IPv6Address.loopback < IPv6Address.allNodes)
    }

    @Test("solicited-node group and multicast MAC (RFC 4291 §2.7.1, RFC 2464 §7)")
    func solicitedNodeAndMAC() throws {
        let address = try #require(IPv6Address("2001:db8:1::ab:cdef:1234"))
        #expect(address.solicitedNodeMulticast.description == "ff02::1:ffef:1234")
        #expect(address.solicitedNodeMulticast.isSolicitedNodeMulticast && !address.isSolicitedNodeMulticast)
        #expect(address.solicitedNodeMulticast.multicastMAC == MACAddress(0x33, 0x33, 0xFF, 0xEF, 0x12, 0x34))
        #expect(IPv6Address.allNodes.multicastMAC == MACAddress(0x33, 0x33, 0, 0, 0, 1))
        #expect(IPv6Address.allMLDv2Routers.multicastMAC == MACAddress(0x33, 0x33, 0, 0, 0, 0x16))
        #expect(IPv6Address.allDHCPRelayAgentsAndServers.multicastMAC == MACAddress(0x33, 0x33, 0, 1, 0, 2))
    }

    @Test("modified EUI-64 from 02:00:00:00:00:0a flips the U/L bit (RFC 4291 Appendix A)")
    func modifiedEUI64() throws {
        let mac = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x0A)
        let identifier = IPv6Address.interfaceIdentifier(modifiedEUI64: mac)
        #expect(identifier == 0x0000_00FF_FE00_000A)
        let linkLocal = IPv6Address.linkLocal(interfaceIdentifier: identifier)
        #expect(linkLocal.description == "fe80::ff:fe00:a")
        #expect(linkLocal.isLinkLocal)
        // A universal MAC gains the bit instead.
        #expect(IPv6Address.interfaceIdentifier(modifiedEUI64: MACAddress(0x00, 0x1B, 0x21, 0x0A, 0x0B, 0x0C)) == 0x021B_21FF_FE0A_0B0C)
        let global = IPv6Address(prefix: IPv6Address("2001:db8:1::")!, interfaceIdentifier: identifier)
        #expect(global.description == "2001:db8:1::ff:fe00:a")
        #expect(global.solicitedNodeMulticast == linkLocal.solicitedNodeMulticast)
        #expect(linkLocal.solicitedNodeMulticast.description == "ff02::1:ff00:a")
    }

    @Test("prefixes: masking, contains, text")
    func prefixes() throws {
        let prefix = try #require(IPv6Prefix("2001:db8:1::ffff/64"))
        #expect(prefix.address.description == "2001:db8:1::" && prefix.length == 64)
        #expect(prefix.description == "2001:db8:1::/64")
        #expect(prefix.contains(IPv6Address("2001:db8:1::ff:fe00:a")!))
        #expect(!prefix.contains(IPv6Address("2001:db8:2::1")!))
        let narrow = IPv6Prefix(address: IPv6Address("2001:db8:1:2:3:4:5555:6")!, length: 99)
        #expect(narrow.address.description == "2001:db8:1:2:3:4:4000:0")
        #expect(narrow.contains(IPv6Address("2001:db8:1:2:3:4:5fff:1")!))
        #expect(!narrow.contains(IPv6Address("2001:db8:1:2:3:4:6000:0")!))
        #expect(IPv6Prefix(address: .allNodes, length: 0).contains(IPv6Address("2001:db8::1")!))
        #expect(IPv6Prefix(address: .allNodes, length: 128).contains(.allNodes))
        #expect(!IPv6Prefix(address: .allNodes, length: 128).contains(.allRouters))
        #expect(IPv6Prefix.linkLocal.contains(IPv6Address("fe80::ff:fe00:a")!))
        #expect(IPv6Address("fe80::1")!.masked(prefixLength: 10).description == "fe80::")
        for text in ["2001:db8::/129", "2001:db8::", "2001:db8::/", "/64", "2001:db8::/+6", "x/64"] {
            #expect(IPv6Prefix(text) == nil, "\(text)")
        }
    }
}
