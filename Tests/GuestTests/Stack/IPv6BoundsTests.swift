import Testing
@testable import Guest
import Wire

/// What an on-link host can make the guest remember is bounded: the neighbour cache (Linux's gc_thresh3), SLAAC
/// addresses, default routers, prefixes, RDNSS/DNSSL per router, MLD query sources.
@Suite struct IPv6BoundsTests {
    static func linkLocal(_ index: Int) -> IPv6Address {
        IPv6Address.linkLocal(interfaceIdentifier: 0x0200_0000_0001_0000 | UInt64(index))
    }

    @Test func aFloodOfSolicitationsFromDistinctSourcesKeepsTheCacheBoundedAndTheStackResponsive() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let cap = harness.stack.ipv6.neighbors.maximumEntries
        #expect(cap == 512)
        var advertisements = 0
        for index in 0 ..< 10_000 {
            harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Self.linkLocal(index),
                                                          mac: MACAddress(0x02, 0, 0, 0, UInt8(index >> 8), UInt8(index & 0xFF))))
            advertisements += harness.sent6().filter { icmpv6Type($0) == .neighborAdvertisement }.count
        }
        let cache = harness.stack.ipv6.neighbors
        #expect(cache.entries.count <= cap)
        #expect(cache.evictions >= 10_000 - cap)
        #expect(harness.stack.counters.neighborCacheEvictions == cache.evictions)
        // Every solicitation was answered; the newest sources are the ones kept.
        #expect(advertisements == 10_000)
        #expect(cache.state(of: Self.linkLocal(9_999)) != nil && cache.state(of: Self.linkLocal(0)) == nil)
        // Still responsive: a new neighbour is answered and the DELAY → PROBE timers run.
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Lab6.peer, mac: Lab6.peerMAC))
        #expect(harness.sent6().count == 1)
        #expect(harness.stack.ipv6.neighbors.state(of: Lab6.peer) == .delay)
        _ = try harness.run(until: harness.now + .seconds(6))
        #expect(harness.stack.ipv6.neighbors.state(of: Lab6.peer) == .probe)
        #expect(harness.stack.ipv6.neighbors.entries.count <= cap)
    }

    @Test func aSolicitationFromAnOffLinkSourceIsAnsweredWithoutCreatingAnEntry() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let offLink = IPv6Address("2001:db8:99::7")!
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: offLink, mac: Lab6.peerMAC))
        #expect(harness.stack.ipv6.neighbors.state(of: offLink) == nil)
        // Once the prefix is on-link, the source is learned (RFC 4861 §7.2.3).
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [
            prefixOption(IPv6Address("2001:db8:99::")!, autonomous: false)])))
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: offLink, mac: Lab6.peerMAC))
        #expect(harness.stack.ipv6.neighbors.state(of: offLink) != nil)
    }

    @Test func evictionTakesTheLeastRecentlyUsedStaleEntryFirst() {
        var cache = NeighborCacheV6(retransTimer: .seconds(1), reachableTime: .seconds(30))
        cache.maximumEntries = 3
        let t0 = Instant.boot
        let a = Self.linkLocal(1), b = Self.linkLocal(2), c = Self.linkLocal(3), d = Self.linkLocal(4)
        _ = cache.resolve(a, packet: [1], source: Lab6.clientLinkLocal, now: t0)      // INCOMPLETE, oldest
        _ = cache.learn(b, mac: Lab6.peerMAC, now: t0 + .seconds(1))                    // STALE
        _ = cache.learn(c, mac: Lab6.peerMAC, now: t0 + .seconds(2))                    // STALE
        _ = cache.learn(d, mac: Lab6.peerMAC, now: t0 + .seconds(3))
        #expect(cache.state(of: b) == nil && cache.state(of: a) == .incomplete && cache.evictions == 1)
        #expect(cache.entries.count == 3)
        // Timers still fire from the heap: a's two retransmissions, then its failure.
        #expect(cache.nextDeadline == t0 + .seconds(1))
        #expect(cache.poll(now: t0 + .seconds(1)).solicitations.map(\.target) == [a])
        #expect(cache.poll(now: t0 + .seconds(2)).solicitations.map(\.target) == [a])
        #expect(cache.poll(now: t0 + .seconds(3)).failures.map(\.address) == [a])
        #expect(cache.nextDeadline == nil)
    }

    @Test func aFloodOfPrefixesKeepsAddressesAndPrefixesBounded() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        for batch in 0 ..< 100 {
            let options = (0 ..< 10).map { index -> NDPOption in
                let number = batch * 10 + index
                return prefixOption(IPv6Address("2001:db8:\(String(number, radix: 16))::")!)
            }
            harness.receive(try routerAdvertisementFrame(RouterAdvertisement(routerLifetime: 1800, options: options)))
            _ = harness.sent6()
        }
        let slaac = harness.stack.ipv6Addresses.filter { $0.origin == .slaac }
        #expect(slaac.count == 16)
        #expect(harness.stack.ipv6.routers.onLinkPrefixes.count == 16)
        #expect(harness.stack.ipv6MulticastGroups.count <= 2 + 16)
        // 984 addresses and 984 on-link prefixes not taken.
        #expect(harness.stack.counters.ndpOverLimit == 2 * 984)
        // The first ones still work: DAD completes for them.
        _ = try harness.run(until: harness.now + .seconds(3))
        #expect(harness.stack.ipv6Addresses.filter { $0.origin == .slaac && $0.state == .preferred }.count == 16)
    }

    @Test func aFloodOfRoutersKeepsRoutersAndDNSListsBounded() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let servers = (1 ... 5).map { IPv6Address(prefix: Lab6.prefix, interfaceIdentifier: UInt64($0)) }
        for index in 0 ..< 1000 {
            let ra = RouterAdvertisement(routerLifetime: 1800, options: [
                .recursiveDNSServer(lifetime: 600, addresses: servers),
                .dnsSearchList(lifetime: 600, domainNames: ["a.example", "b.example", "c.example", "d.example"])])
            harness.receive(try routerAdvertisementFrame(ra, from: Self.linkLocal(index), mac: Lab6.router2MAC))
            _ = harness.sent6()
        }
        let routers = harness.stack.ipv6Routers
        #expect(routers.count == 8)
        #expect(routers.allSatisfy { $0.dnsServers == Array(servers.prefix(3)) && $0.searchList.count == 3 })
        // Per kept router: 2 servers and 1 name over; then 992 routers refused.
        #expect(harness.stack.counters.ndpOverLimit == 1000 * 3 + 992)
        #expect(harness.stack.ipv6.neighbors.entries.count <= harness.stack.ipv6.neighbors.maximumEntries)
    }
}
