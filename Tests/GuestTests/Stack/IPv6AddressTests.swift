import Testing
@testable import Guest
import Wire

/// Interface identifiers (RFC 4291 App. A, RFC 7217) and duplicate address detection (RFC 4862 §5.4).
@Suite struct IPv6AddressTests {
    @Test func sha256MatchesFIPS180Vectors() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Two blocks of padding boundary: 64 bytes of 'a'.
        #expect(hex(SHA256.hash([UInt8](repeating: 0x61, count: 64))) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    @Test func stableIdentifiersDifferPerPrefixAndSecretAndRepeat() {
        let a = InterfaceIdentifierGenerator(mode: .stable(secret: Array("secret-one".utf8)), mac: Lab.clientMAC)
        let b = InterfaceIdentifierGenerator(mode: .stable(secret: Array("secret-two".utf8)), mac: Lab.clientMAC)
        let linkLocal = a.identifier(prefix: IPv6Prefix.linkLocal.address)
        #expect(linkLocal == a.identifier(prefix: IPv6Prefix.linkLocal.address))
        #expect(linkLocal != a.identifier(prefix: Lab6.prefix))
        #expect(linkLocal != b.identifier(prefix: IPv6Prefix.linkLocal.address))
        #expect(linkLocal != Lab6.clientIdentifier)
        // The first 64 bits of SHA-256(prefix ‖ MAC ‖ counter ‖ secret), recomputed here from the RFC's formula.
        let input = Array(IPv6Prefix.linkLocal.address.bytes.prefix(8)) + Lab.clientMAC.array + [0] + Array("secret-one".utf8)
        #expect(linkLocal == SHA256.hash(input).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect(a.identifier(prefix: Lab6.prefix, dadCounter: 1) != a.identifier(prefix: Lab6.prefix))
        #expect(InterfaceIdentifierGenerator.isReserved(0) && InterfaceIdentifierGenerator.isReserved(0xFDFF_FFFF_FFFF_FF90))
        #expect(InterfaceIdentifierGenerator.isReserved(0x0200_5EFF_FE00_1234) && !InterfaceIdentifierGenerator.isReserved(Lab6.clientIdentifier))
    }

    @Test func dadSucceedsAfterReportDelayedProbeAndRetransTimer() throws {
        let harness = IPv6Harness()
        harness.start()
        // Specified behaviour changed (RFC 4862 §5.4.2): nothing goes at t=0; the MLD report joining the
        // solicited-node group waits the same random delay as the probe and goes just before it.
        #expect(harness.sent6().isEmpty)
        let added = try #require(harness.events6().compactMap(\.addressInfo).first)
        #expect(added.address == Lab6.clientLinkLocal && added.state == .tentative && added.origin == .linkLocal)
        #expect(harness.stack.ipv6LinkLocalAddress == nil)

        let log = try harness.run(until: .boot + .seconds(3))
        let probes = try log.filter { try parseICMPv6($0.frame).message.type == .neighborSolicitation }
        #expect(probes.count == 1)
        let probe = try #require(probes.first)
        #expect(probe.at <= .boot + .seconds(1))
        let first = try #require(log.first)
        #expect(try parseICMPv6(first.frame).message.type == .version2MulticastListenerReport && first.at == probe.at)
        let ns = try parseICMPv6(probe.frame)
        #expect(ns.ip.header.source == .unspecified && ns.ip.header.destination == Lab6.clientLinkLocal.solicitedNodeMulticast)
        #expect(ns.ip.header.hopLimit == 255 && ns.checksumValid)
        #expect(ns.ip.ethernet.destination == Lab6.clientLinkLocal.solicitedNodeMulticast.multicastMAC)
        let solicitation = try ns.neighborSolicitation()
        #expect(solicitation.targetAddress == Lab6.clientLinkLocal && solicitation.options.isEmpty)

        let preferred = try #require(harness.events6().compactMap(\.addressInfo).first { $0.state == .preferred })
        #expect(preferred.changedAt == probe.at + .seconds(1))
        #expect(harness.stack.ipv6LinkLocalAddress == Lab6.clientLinkLocal)
    }

    @Test func dadFailsOnAnotherNodesProbe() throws {
        let harness = IPv6Harness()
        harness.start()
        _ = harness.sent6()
        harness.advance(by: .milliseconds(1))
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: .unspecified, mac: Lab6.peerMAC))
        let states = harness.events6().compactMap(\.addressInfo).map(\.state)
        #expect(states.last == .duplicate)
        #expect(harness.stack.ipv6Disabled)
        _ = try harness.run(until: .boot + .seconds(10))
        #expect(harness.stack.ipv6LinkLocalAddress == nil)
    }

    @Test func dadFailsOnAnAdvertisementAndASlaacDuplicateStaysUnused() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [.sourceLinkLayerAddress(Lab6.routerMAC), prefixOption()])))
        #expect(harness.stack.ipv6Addresses.contains { $0.address == Lab6.clientGlobal && $0.state == .tentative })
        _ = harness.events6()
        harness.receive(try neighborAdvertisementFrame(target: Lab6.clientGlobal, source: Lab6.peer, mac: Lab6.peerMAC,
                                                       destination: .allNodes, solicited: false))
        let events = harness.events6()
        #expect(events.contains { $0.addressInfo?.address == Lab6.clientGlobal && $0.addressInfo?.state == .duplicate })
        // Not the link-local address: IPv6 stays up, the duplicate is never preferred, and its group is left.
        #expect(!harness.stack.ipv6Disabled)
        _ = try harness.run(until: harness.now + .seconds(5))
        #expect(harness.stack.ipv6Addresses.first { $0.address == Lab6.clientGlobal }?.state == .duplicate)
        // The link-local and the SLAAC address share a solicited-node group (same identifier): still joined.
        #expect(harness.stack.ipv6MulticastGroups.contains(Lab6.clientGlobal.solicitedNodeMulticast))
    }

    @Test func ownLoopedBackProbeIsIgnored() throws {
        let harness = IPv6Harness()
        harness.start()
        let log = try harness.run(until: .boot + .milliseconds(1500), respond: { frame in
            // A reflecting segment: every frame comes back.
            (try? parseICMPv6(frame).message.type) == .neighborSolicitation ? [frame] : []
        })
        #expect(log.contains { icmpv6Type($0.frame) == .neighborSolicitation })
        #expect(harness.stack.counters.drops(.ndpDADLoopback) == 1)
        _ = try harness.run(until: .boot + .seconds(3))
        #expect(harness.stack.ipv6LinkLocalAddress == Lab6.clientLinkLocal)
        #expect(!harness.stack.ipv6Disabled)
    }

    @Test func duplicateLinkLocalDisablesIPv6() throws {
        let harness = IPv6Harness { $0.ipv6.pingTargets = [.router] }
        harness.start()
        _ = harness.sent6()
        harness.receive(try neighborAdvertisementFrame(target: Lab6.clientLinkLocal, source: Lab6.clientLinkLocal, mac: Lab6.peerMAC,
                                                       destination: .allNodes, solicited: false))
        let events = harness.events6()
        #expect(events.contains { if case .disabled = $0 { true } else { false } })
        #expect(events.contains(.multicastGroups([])))
        #expect(harness.stack.ipv6Disabled && harness.stack.ipv6MulticastGroups.isEmpty)
        // Nothing more is sent, nothing more is accepted.
        #expect(try harness.run(until: .boot + .seconds(20)).isEmpty)
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption()]), destination: Lab6.clientLinkLocal))
        #expect(harness.stack.counters.drops(.ipv6Disabled) == 1)
        // ff02::1 is no longer accepted either (the group list is empty).
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption()])))
        #expect(harness.stack.counters.drops(.multicastNotJoined) == 1)
        #expect(harness.stack.ipv6Addresses.allSatisfy { $0.state == .duplicate })
    }

    @Test func stableModeFormsTheLinkLocalFromTheSecret() throws {
        let secret = Array("0123456789abcdef".utf8)
        let harness = IPv6Harness { $0.ipv6.interfaceIdentifier = .stable(secret: secret) }
        harness.start()
        let expected = IPv6Address.linkLocal(interfaceIdentifier: InterfaceIdentifierGenerator(mode: .stable(secret: secret), mac: Lab.clientMAC)
            .identifier(prefix: IPv6Prefix.linkLocal.address))
        #expect(harness.stack.ipv6Addresses.map(\.address) == [expected])
        #expect(expected != Lab6.clientLinkLocal)
        #expect(harness.stack.ipv6MulticastGroups.contains(expected.solicitedNodeMulticast))
    }

    /// RFC 7217 §6: a stable address that fails DAD is formed again with DAD_Counter + 1, IDGEN_RETRIES (3) times.
    @Test func aStableSlaacAddressThatFailsDADIsRegeneratedUpToThreeTimes() throws {
        let secret = Array("0123456789abcdef".utf8)
        let generator = InterfaceIdentifierGenerator(mode: .stable(secret: secret), mac: Lab.clientMAC)
        let harness = IPv6Harness { $0.ipv6.interfaceIdentifier = .stable(secret: secret) }
        harness.start()
        _ = try harness.run(until: .boot + .seconds(3))
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption()])))
        let expected = (0 ... 3).map { IPv6Address(prefix: Lab6.prefix, interfaceIdentifier: generator.identifier(prefix: Lab6.prefix, dadCounter: UInt8($0))) }
        #expect(Set(expected).count == 4)
        for (attempt, address) in expected.enumerated() {
            let slaac = harness.stack.ipv6Addresses.filter { $0.origin == .slaac }
            #expect(slaac.map(\.address) == Array(expected.prefix(attempt + 1)))
            #expect(slaac.last?.state == .tentative)
            harness.receive(try neighborAdvertisementFrame(target: address, source: Lab6.peer, mac: Lab6.peerMAC,
                                                           destination: .allNodes, solicited: false))
        }
        // Four duplicates, no fifth attempt; a refreshed prefix does not start one either.
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption()])))
        let slaac = harness.stack.ipv6Addresses.filter { $0.origin == .slaac }
        #expect(slaac.map(\.address) == expected && slaac.allSatisfy { $0.state == .duplicate })
        // A regenerated address that passes DAD is the prefix's address (lifetimes refreshed on it, not the duplicate).
        let other = IPv6Harness { $0.ipv6.interfaceIdentifier = .stable(secret: secret) }
        other.start()
        _ = try other.run(until: .boot + .seconds(3))
        other.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption()])))
        other.receive(try neighborAdvertisementFrame(target: expected[0], source: Lab6.peer, mac: Lab6.peerMAC,
                                                     destination: .allNodes, solicited: false))
        _ = try other.run(until: other.now + .seconds(3))
        #expect(other.stack.ipv6.addresses.entry(for: expected[1])?.state == .preferred)
        other.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(valid: 9000, preferred: 8000)])))
        #expect(other.stack.ipv6.addresses.entry(for: expected[1])?.preferredUntil == other.now + .seconds(8000))
    }

    /// A duplicate does not stay forever: it expires with its valid lifetime, and a new DHCPv6 lease of the same
    /// address runs DAD again.
    @Test func aDuplicateExpiresAndADHCPv6ReleaseRunsDADAgain() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let leased = IPv6Address("2001:db8:1::1234")!
        harness.stack.addDHCPv6Address(leased, validLifetime: .seconds(100), preferredLifetime: .seconds(50), now: harness.now)
        harness.receive(try neighborAdvertisementFrame(target: leased, source: Lab6.peer, mac: Lab6.peerMAC,
                                                       destination: .allNodes, solicited: false))
        #expect(harness.stack.ipv6.addresses.entry(for: leased)?.state == .duplicate)
        // Leased again: tentative, a DAD probe goes out, and it becomes preferred.
        _ = harness.sent6()
        harness.stack.addDHCPv6Address(leased, validLifetime: .seconds(100), preferredLifetime: .seconds(50), now: harness.now)
        #expect(harness.stack.ipv6.addresses.entry(for: leased)?.state == .tentative)
        #expect(harness.stack.ipv6MulticastGroups.contains(leased.solicitedNodeMulticast))
        let log = try harness.run(until: harness.now + .seconds(3))
        #expect(log.contains { (try? parseICMPv6($0.frame).neighborSolicitation().targetAddress) == leased })
        #expect(harness.stack.ipv6.addresses.entry(for: leased)?.state == .preferred)
        // A duplicate that is not leased again goes away with its valid lifetime.
        let second = IPv6Address("2001:db8:1::5678")!
        harness.stack.addDHCPv6Address(second, validLifetime: .seconds(100), preferredLifetime: .seconds(50), now: harness.now)
        harness.receive(try neighborAdvertisementFrame(target: second, source: Lab6.peer, mac: Lab6.peerMAC,
                                                       destination: .allNodes, solicited: false))
        _ = try harness.run(until: harness.now + .seconds(101))
        #expect(harness.stack.ipv6.addresses.entry(for: second) == nil)
    }
}
