import Wire

/// MLDv2 on the wire (RFC 3810): reports out, queries in; the group list TapVM programs on the macvtap.
extension NetworkStack {
    /// One more user of `group`; a new group is reported (state change) and announced as `.multicastGroups`.
    /// `reportDelay` holds back its report (RFC 4862 §5.4.2, a solicited-node group joined with a DAD probe).
    func joinGroup(_ group: IPv6Address, reportDelay: Duration = .zero, now: Instant) {
        guard ipv6.multicast.join(group, reportDelay: reportDelay, now: now) else { return }
        emitIPv6(.multicastGroups(ipv6.multicast.groups), now: now)
    }

    /// One user fewer; a group left is reported and announced.
    func leaveGroup(_ group: IPv6Address, now: Instant) {
        guard ipv6.multicast.leave(group, now: now) else { return }
        emitIPv6(.multicastGroups(ipv6.multicast.groups), now: now)
    }

    /// Sends the due reports: type 143 to ff02::16, hop limit 1, a Router Alert hop-by-hop option, from our
    /// link-local address or `::` while it is tentative. RFC 3810 §5, §5.2.13, §5.2.14.
    func runMLD(now: Instant) {
        var random = ipv6.random
        let reports = ipv6.multicast.poll(now: now, random: &random)
        ipv6.random = random
        for report in reports {
            let source = ipv6.linkLocalAddress ?? .unspecified
            let destination = IPv6Address.allMLDv2Routers
            counters.mld.transmitted += 1
            sendICMPv6(length: report.encodedLength, source: source, destination: destination, hopLimit: 1,
                       hopByHop: IPv6OptionsHeader(nextHeader: .icmpv6, options: [.routerAlert(0)]), now: now) {
                try report.emit(into: $0, source: source, destination: destination)
            }
        }
    }

    /// A Multicast Listener Query: from a link-local source (RFC 3810 §5.1.14), hop limit 1 (§5). MLDv1 queries
    /// (24 bytes) would need the MLDv1 compatibility mode of §8.2, which the guest lacks: counted and ignored.
    func receiveMLDQuery(_ ip: IPv6Packet, icmp: ICMPv6Packet, upper: IPv6UpperLayer, now: Instant) {
        counters.mld.received += 1
        guard ip.source.isLinkLocal, ip.hopLimit == 1 else { return drop(.mldInvalid) }
        let query: MLDQueryPacket
        do { query = try MLDQueryPacket(icmp.bytes) } catch { return drop(.mldInvalid) }
        guard query.isVersion2 else { return drop(.mldVersion1Query) }
        let group = query.multicastAddress
        guard group.isUnspecified || group.isMulticast else { return drop(.mldInvalid) }
        counters.ipv6Consumed += 1
        var random = ipv6.random
        ipv6.multicast.receiveQuery(group: group, sources: query.sources, maximumResponseDelay: query.maximumResponseDelay,
                                    now: now, random: &random)
        ipv6.random = random
        runMLD(now: now)
    }
}
