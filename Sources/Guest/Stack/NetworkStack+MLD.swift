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
        let version1 = ipv6.multicast.isVersion1Mode(now: now)
        for report in reports {
            if version1 {
                for record in report.records { sendMLDv1(record, now: now) }
                continue
            }
            let source = ipv6.linkLocalAddress ?? .unspecified
            let destination = IPv6Address.allMLDv2Routers
            counters.mld.transmitted += 1
            sendICMPv6(length: report.encodedLength, source: source, destination: destination, hopLimit: 1,
                       hopByHop: IPv6OptionsHeader(nextHeader: .icmpv6, options: [.routerAlert(0)]), now: now) {
                try report.emit(into: $0, source: source, destination: destination)
            }
        }
    }

    /// In MLDv1 compatibility mode (RFC 3810 §8.2.1) a record goes as an MLDv1 message (RFC 2710 §3): a Report
    /// (131) to the group for a join or a current-state answer, a Done (132) to ff02::2 for a leave; hop limit 1,
    /// Router Alert, from our link-local address (or `::`).
    func sendMLDv1(_ record: MLDv2MulticastAddressRecord, now: Instant) {
        let group = record.multicastAddress
        let done = record.recordType == .changeToIncludeMode
        let destination = done ? IPv6Address.allRouters : group
        let message = ICMPv6Message(type: done ? .multicastListenerDone : .multicastListenerReport,
                                    body: [0, 0, 0, 0] + group.bytes)
        let source = ipv6.linkLocalAddress ?? .unspecified
        counters.mld.transmitted += 1
        sendICMPv6(length: message.encodedLength, source: source, destination: destination, hopLimit: 1,
                   hopByHop: IPv6OptionsHeader(nextHeader: .icmpv6, options: [.routerAlert(0)]), now: now) {
            try message.emit(into: $0, source: source, destination: destination)
        }
    }

    /// A Multicast Listener Query: from a link-local source (RFC 3810 §5.1.14), hop limit 1 (§5). An MLDv1 query
    /// (24 bytes) starts MLDv1 compatibility mode (§8.2.1) and is answered like a v2 one without sources.
    func receiveMLDQuery(_ ip: IPv6Packet, icmp: ICMPv6Packet, upper: IPv6UpperLayer, now: Instant) {
        counters.mld.received += 1
        guard ip.source.isLinkLocal, ip.hopLimit == 1 else { return drop(.mldInvalid) }
        let query: MLDQueryPacket
        do { query = try MLDQueryPacket(icmp.bytes) } catch { return drop(.mldInvalid) }
        if !query.isVersion2 { ipv6.multicast.olderVersionQuerierHeard(now: now) }
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
