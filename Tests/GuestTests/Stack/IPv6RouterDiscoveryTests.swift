import Testing
@testable import Guest
import Wire

/// Router solicitation, RA validation, SLAAC, RDNSS/DNSSL and M/O (RFC 4861 §6, RFC 4862 §5.5, RFC 8106).
@Suite struct IPv6RouterDiscoveryTests {
    @Test func atMostThreeSolicitationsFourSecondsApartFromTheLinkLocalAddress() throws {
        let harness = IPv6Harness()
        let log = try harness.bootLinkLocal() + harness.run(until: .boot + .seconds(30))
        let preferredAt = try #require(harness.base.events.compactMap { event -> Instant? in
            if case let .ipv6(.address(info)) = event, info.state == .preferred { return info.changedAt }
            return nil
        }.first ?? harness.events6().compactMap(\.addressInfo).first { $0.state == .preferred }?.changedAt)
        let solicitations = log.filter { icmpv6Type($0.frame) == .routerSolicitation }
        #expect(solicitations.count == 3)
        let first = try #require(solicitations.first)
        #expect(first.at >= preferredAt && first.at <= preferredAt + .seconds(1))
        #expect(solicitations.map(\.at) == [first.at, first.at + .seconds(4), first.at + .seconds(8)])
        let rs = try parseICMPv6(first.frame)
        #expect(rs.ip.header.source == Lab6.clientLinkLocal && rs.ip.header.destination == .allRouters)
        #expect(rs.ip.header.hopLimit == 255 && rs.checksumValid)
        #expect(try rs.routerSolicitation().options == [.sourceLinkLayerAddress(Lab.clientMAC)])
    }

    @Test func aValidAdvertisementStopsTheSolicitations() throws {
        let harness = IPv6Harness()
        var log = try harness.bootLinkLocal()
        log += try harness.run(until: .boot + .seconds(4))
        #expect(log.filter { icmpv6Type($0.frame) == .routerSolicitation }.count == 1)
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(routerLifetime: 600)))
        #expect(try harness.run(until: .boot + .seconds(30)).filter { icmpv6Type($0.frame) == .routerSolicitation }.isEmpty)
    }

    @Test func slaacAddressIsPrefixPlusIdentifierWithLifetimes() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        _ = harness.events6()
        let raAt = harness.now
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(routerLifetime: 1800, options: [
            .sourceLinkLayerAddress(Lab6.routerMAC), prefixOption(valid: 300, preferred: 100)])))
        let added = try #require(harness.events6().compactMap(\.addressInfo).first)
        #expect(added.address == Lab6.clientGlobal && added.origin == .slaac && added.prefixLength == 64 && added.state == .tentative)
        #expect(added.validLifetime == .seconds(300) && added.preferredLifetime == .seconds(100))
        _ = try harness.run(until: raAt + .seconds(3))
        #expect(harness.events6().compactMap(\.addressInfo).map(\.state) == [.preferred])
        _ = try harness.run(until: raAt + .seconds(100))
        #expect(harness.events6().compactMap(\.addressInfo).map(\.state) == [.deprecated])
        _ = try harness.run(until: raAt + .seconds(300))
        let removed = harness.events6().compactMap(\.addressInfo)
        #expect(removed.map(\.state) == [.removed] && removed.first?.changedAt == raAt + .seconds(300))
        #expect(!harness.stack.ipv6Addresses.contains { $0.origin == .slaac })
    }

    func slaacHarness(valid: UInt32) throws -> IPv6Harness {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(valid: valid, preferred: 60)])))
        _ = try harness.run(until: harness.now + .seconds(3))
        _ = harness.events6()
        return harness
    }

    func validLeft(_ harness: IPv6Harness) -> Duration? {
        harness.stack.ipv6.addresses.entry(for: Lab6.clientGlobal)?.validUntil.map { $0 - harness.now }
    }

    @Test func twoHourRule() throws {
        // A longer lifetime is always taken.
        var harness = try slaacHarness(valid: 10_000)
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(valid: 20_000, preferred: 60)])))
        #expect(validLeft(harness) == .seconds(20_000))
        // Above two hours: taken even when shorter.
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(valid: 7201, preferred: 60)])))
        #expect(validLeft(harness) == .seconds(7201))
        // A short one when more than two hours remain: two hours.
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(valid: 10, preferred: 5)])))
        #expect(validLeft(harness) == .seconds(7200))
        // Two hours or less remain: a shorter one is ignored; the preferred lifetime is taken.
        harness = try slaacHarness(valid: 3600)
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(valid: 0, preferred: 0)])))
        let left = try #require(validLeft(harness))
        #expect(left > .seconds(3500) && left <= .seconds(3600))
        #expect(harness.events6().compactMap(\.addressInfo).map(\.state) == [.deprecated])
    }

    @Test func prefixesThatCannotFormAnAddressAreIgnored() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [
            prefixOption(IPv6Address("2001:db8:2::")!, length: 48),
            prefixOption(IPv6Address("2001:db8:3::")!, valid: 10, preferred: 20),
            prefixOption(IPv6Address("2001:db8:4::")!, autonomous: false),
            prefixOption(IPv6Address("fe80::")!),
        ])))
        #expect(harness.stack.ipv6Addresses.map(\.origin) == [.linkLocal])
        #expect(harness.stack.counters.ndpOptionsIgnored == 2)
        // The non-autonomous one is still on-link.
        #expect(harness.stack.ipv6.routers.isOnLink(IPv6Address("2001:db8:4::9")!, now: harness.now))
    }

    /// RFC 4861 §6.1.2: only a zero option length invalidates the RA; a malformed known option (an SLLA of length
    /// 2 here) is ignored and counted, the rest of the advertisement is used.
    @Test func aMalformedKnownOptionIsIgnoredAndTheRestOfTheAdvertisementUsed() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let ra = RouterAdvertisement(routerLifetime: 1800, options: [
            .invalid(type: .sourceLinkLayerAddress, data: [UInt8](repeating: 0xAA, count: 14)), prefixOption()])
        harness.receive(try routerAdvertisementFrame(ra))
        #expect(harness.stack.counters.drops(.ndpRouterAdvertisementInvalid) == 0)
        #expect(harness.stack.counters.ndpOptionsIgnored == 1)
        #expect(harness.stack.ipv6Routers.map(\.address) == [Lab6.router])
        #expect(harness.stack.ipv6Addresses.contains { $0.address == Lab6.clientGlobal && $0.origin == .slaac })
        #expect(harness.stack.ipv6.neighbors.state(of: Lab6.router) == nil)
    }

    @Test func advertisementsFromNonLinkLocalSourcesOrForwardedAreDropped() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let ra = RouterAdvertisement(options: [prefixOption()])
        harness.receive(try routerAdvertisementFrame(ra, from: IPv6Address("2001:db8:1::1")!))
        harness.receive(try routerAdvertisementFrame(ra, hopLimit: 254))
        #expect(harness.stack.counters.drops(.ndpRouterAdvertisementInvalid) == 2)
        #expect(harness.stack.ipv6Routers.isEmpty && harness.stack.ipv6Addresses.count == 1)
    }

    @Test func routersDnsAndSearchListAreReportedAndExpire() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        _ = harness.events6()
        let start = harness.now
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(routerLifetime: 100, options: [
            .sourceLinkLayerAddress(Lab6.routerMAC), .mtu(1400),
            .recursiveDNSServer(lifetime: 50, addresses: [Lab6.dns]), .dnsSearchList(lifetime: 30, domainNames: ["lab.example"])])))
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(routerLifetime: 200), from: Lab6.router2, mac: Lab6.router2MAC))
        let routers = harness.events6().compactMap { if case let .router(router) = $0 { router } else { nil } }
        #expect(routers.map(\.address) == [Lab6.router, Lab6.router2])
        #expect(routers[0].dnsServers == [Lab6.dns] && routers[0].searchList == ["lab.example"] && routers[0].mtu == 1400)
        #expect(routers[0].lifetime == .seconds(100) && routers[0].linkLayerAddress == Lab6.routerMAC)
        #expect(harness.stack.ipv6LinkMTU == 1400)
        #expect(harness.stack.ipv6.routers.defaultRouters == [Lab6.router, Lab6.router2])

        _ = try harness.run(until: start + .seconds(30))
        var events = harness.events6()
        #expect(events.contains { if case let .router(router) = $0 { router.searchList.isEmpty && router.dnsServers == [Lab6.dns] } else { false } })
        _ = try harness.run(until: start + .seconds(50))
        events = harness.events6()
        #expect(events.contains { if case let .router(router) = $0 { router.dnsServers.isEmpty } else { false } })
        _ = try harness.run(until: start + .seconds(100))
        #expect(harness.events6().contains(.routerRemoved(Lab6.router)))
        #expect(harness.stack.ipv6.routers.defaultRouters == [Lab6.router2])
        _ = try harness.run(until: start + .seconds(200))
        #expect(harness.events6().contains(.routerRemoved(Lab6.router2)))
        #expect(harness.stack.ipv6Routers.isEmpty)
    }

    @Test func managedAndOtherFlagsAreReportedOnChange() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        var seen: [IPv6Event] = []
        harness.stack.ipv6Observer = { event, _ in if case .configurationFlags = event { seen.append(event) } }
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(otherConfiguration: true)))
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(otherConfiguration: true)))
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(managedAddressConfiguration: true, otherConfiguration: true)))
        #expect(seen == [.configurationFlags(managed: false, other: true), .configurationFlags(managed: true, other: true)])
        #expect(harness.stack.ipv6ConfigurationFlags == (true, true))
    }
}
