import Wire

/// Neighbor Discovery (RFC 4861), duplicate address detection and SLAAC (RFC 4862), RDNSS/DNSSL (RFC 8106).
extension NetworkStack {
    /// NDP messages travel with hop limit 255 so a receiver knows they were not forwarded (RFC 4861 §3.1).
    static let ndpHopLimit: UInt8 = 255

    // MARK: Sending

    /// DAD's probe: an NS for the tentative `target` from `::` to its solicited-node group, without a source
    /// link-layer address option. RFC 4862 §5.4.2.
    func sendDuplicateAddressProbe(for target: IPv6Address, now: Instant) {
        let solicitation = NeighborSolicitation(targetAddress: target)
        let destination = target.solicitedNodeMulticast
        counters.ndp.transmitted += 1
        sendICMPv6(length: solicitation.encodedLength, source: .unspecified, destination: destination,
                   hopLimit: Self.ndpHopLimit, now: now) {
            try solicitation.emit(into: $0, source: .unspecified, destination: destination)
        }
    }

    /// Address resolution (multicast to the solicited-node group) or a NUD probe (unicast to the cached MAC), with
    /// our MAC as source link-layer address. RFC 4861 §7.2.2, §7.3.3. The source is the address of the packet that
    /// prompted it when it is still ours, else our link-local address.
    func sendNeighborSolicitation(_ request: NeighborCacheV6.Solicitation, now: Instant) {
        let usable = ipv6.addresses.entry(for: request.source)?.isAssigned == true
        guard let source = usable ? request.source : ipv6.linkLocalAddress else { return drop(.noRoute) }
        let solicitation = NeighborSolicitation(targetAddress: request.target, options: [.sourceLinkLayerAddress(configuration.mac)])
        let destination = request.destinationMAC == nil ? request.target.solicitedNodeMulticast : request.target
        counters.ndp.transmitted += 1
        sendICMPv6(length: solicitation.encodedLength, source: source, destination: destination, hopLimit: Self.ndpHopLimit,
                   destinationMAC: request.destinationMAC, now: now) {
            try solicitation.emit(into: $0, source: source, destination: destination)
        }
    }

    /// An RS to ff02::2 from our link-local address with our MAC (or from `::` without it). RFC 4861 §6.3.7, §4.1.
    func sendRouterSolicitation(now: Instant) {
        let source = ipv6.linkLocalAddress ?? .unspecified
        let solicitation = RouterSolicitation(options: source.isUnspecified ? [] : [.sourceLinkLayerAddress(configuration.mac)])
        counters.ndp.transmitted += 1
        sendICMPv6(length: solicitation.encodedLength, source: source, destination: .allRouters, hopLimit: Self.ndpHopLimit, now: now) {
            try solicitation.emit(into: $0, source: source, destination: .allRouters)
        }
    }

    /// A Neighbor Advertisement for our `target`: solicited (S=1) unicast to the soliciting node, or unsolicited
    /// (S=0) to ff02::1 when it came from `::` (RFC 4861 §7.2.4). O=1, R=0, with our MAC.
    func sendNeighborAdvertisement(target: IPv6Address, to destination: IPv6Address, solicited: Bool, now: Instant) {
        let advertisement = NeighborAdvertisement(router: false, solicited: solicited, override: true, targetAddress: target,
                                                  options: [.targetLinkLayerAddress(configuration.mac)])
        counters.ndp.transmitted += 1
        sendICMPv6(length: advertisement.encodedLength, source: target, destination: destination, hopLimit: Self.ndpHopLimit, now: now) {
            try advertisement.emit(into: $0, source: target, destination: destination)
        }
    }

    // MARK: Receiving

    /// RFC 4861 §7.1.1 validation, then §7.2.3 (answer, learn the sender) or RFC 4862 §5.4.3 (DAD).
    func receiveNeighborSolicitation(_ ip: IPv6Packet, icmp: ICMPv6Packet, ethernet: EthernetFrame, now: Instant) {
        counters.ndp.received += 1
        guard ip.hopLimit == Self.ndpHopLimit, icmp.code == 0 else { return drop(.ndpInvalid) }
        let solicitation: NeighborSolicitation
        do { solicitation = try NeighborSolicitation(NeighborSolicitationPacket(icmp.bytes)) } catch { return drop(.ndpInvalid) }
        let target = solicitation.targetAddress
        let sourceLinkLayer = solicitation.options.sourceLinkLayerAddress
        guard !target.isMulticast else { return drop(.ndpInvalid) }
        if ip.source.isUnspecified {
            guard ip.destination.isSolicitedNodeMulticast, sourceLinkLayer == nil else { return drop(.ndpInvalid) }
        }
        guard let entry = ipv6.addresses.entry(for: target), entry.state != .duplicate else { return drop(.ndpNotOurTarget) }
        if entry.state == .tentative {
            // RFC 4862 §5.4.3: only another node's DAD probe (from ::) for the same address means a duplicate.
            guard ip.source.isUnspecified else { return drop(.ndpTargetTentative) }
            // Our own probe looped back (a reflecting switch, a second open of the tap): the frame carries our
            // MAC (we send no nonce option, RFC 7527's alternative).
            guard ethernet.source != configuration.mac else { return drop(.ndpDADLoopback) }
            counters.ipv6Consumed += 1
            duplicateDetected(target, now: now)
            return
        }
        counters.ipv6Consumed += 1
        if ip.source.isUnspecified {
            sendNeighborAdvertisement(target: target, to: .allNodes, solicited: false, now: now)
            return
        }
        // §7.2.3 creates or updates an entry for the source; a new one only for a source we could reach directly
        // (link-local or on an on-link prefix), so an on-link host cannot fill the cache with made-up addresses
        // from elsewhere. The cache itself is bounded (NeighborCacheV6.maximumEntries).
        if let sourceLinkLayer,
           ip.source.isLinkLocal || ipv6.neighbors.state(of: ip.source) != nil || ipv6.routers.isOnLink(ip.source, now: now) {
            let released = ipv6.neighbors.learn(ip.source, mac: sourceLinkLayer, now: now)
            counters.neighborCacheEvictions = ipv6.neighbors.evictions
            for packet in released { enqueueFrame(to: sourceLinkLayer, etherType: .ipv6, payload: packet) }
        }
        sendNeighborAdvertisement(target: target, to: ip.source, solicited: true, now: now)
    }

    /// RFC 4861 §7.1.2 validation, then RFC 4862 §5.4.4 (an NA for a tentative address: duplicate) or §7.2.5.
    func receiveNeighborAdvertisement(_ ip: IPv6Packet, icmp: ICMPv6Packet, now: Instant) {
        counters.ndp.received += 1
        guard ip.hopLimit == Self.ndpHopLimit, icmp.code == 0 else { return drop(.ndpInvalid) }
        let advertisement: NeighborAdvertisement
        do { advertisement = try NeighborAdvertisement(NeighborAdvertisementPacket(icmp.bytes)) } catch { return drop(.ndpInvalid) }
        let target = advertisement.targetAddress
        guard !target.isMulticast, !(ip.destination.isMulticast && advertisement.solicited) else { return drop(.ndpInvalid) }
        if let entry = ipv6.addresses.entry(for: target) {
            guard entry.state == .tentative else { return drop(.ndpAdvertisementForOurAddress) }
            counters.ipv6Consumed += 1
            duplicateDetected(target, now: now)
            return
        }
        let result = ipv6.neighbors.advertisement(target, targetLinkLayerAddress: advertisement.options.targetLinkLayerAddress,
                                                  solicited: advertisement.solicited, override: advertisement.override,
                                                  router: advertisement.router, now: now)
        guard !result.unknown else { return drop(.ndpAdvertisementNoEntry) }
        counters.ipv6Consumed += 1
        if let mac = result.mac { for packet in result.released { enqueueFrame(to: mac, etherType: .ipv6, payload: packet) } }
        if result.noLongerRouter, let router = ipv6.routers.removeDefault(target) { routerChanged(router, now: now) }
    }

    /// RFC 4861 §6.1.2 validation, then §6.3.4 (parameters, default router list, prefix list), RFC 4862 §5.5.3
    /// (SLAAC) and RFC 8106 §5.3.1 (RDNSS, DNSSL).
    func receiveRouterAdvertisement(_ ip: IPv6Packet, icmp: ICMPv6Packet, now: Instant) {
        counters.ndp.received += 1
        guard ip.source.isLinkLocal, ip.hopLimit == Self.ndpHopLimit, icmp.code == 0 else { return drop(.ndpRouterAdvertisementInvalid) }
        let advertisement: RouterAdvertisement
        do { advertisement = try RouterAdvertisement(RouterAdvertisementPacket(icmp.bytes)) } catch {
            return drop(.ndpRouterAdvertisementInvalid)
        }
        counters.ipv6Consumed += 1
        // A known option that does not fit its format is ignored on its own (RFC 4861 §6.1.2, as Linux does).
        counters.ndpOptionsIgnored += advertisement.options.invalidCount
        if advertisement.currentHopLimit != 0 { ipv6.hopLimit = advertisement.currentHopLimit }
        if advertisement.reachableTime != 0 {
            let base = Duration.milliseconds(Int64(advertisement.reachableTime))
            if base != ipv6.baseReachableTime {
                ipv6.baseReachableTime = base
                let reachable = IPv6State.randomized(base, using: &ipv6.random)
                ipv6.neighbors.reachableTime = reachable
            }
        }
        if advertisement.retransTimer != 0 {
            let retrans = Duration.milliseconds(Int64(advertisement.retransTimer))
            ipv6.neighbors.retransTimer = retrans
            ipv6.addresses.retransTimer = retrans
        }
        // §6.3.4: an MTU below the IPv6 minimum or above the link's is ignored.
        var mtu: Int?
        if let advertised = advertisement.options.mtu {
            if advertised >= 1280, advertised <= 1500 {
                mtu = Int(advertised)
                ipv6.linkMTU = Int(advertised)
            } else {
                counters.ndpOptionsIgnored += 1
            }
        }
        if let mac = advertisement.options.sourceLinkLayerAddress {
            for packet in ipv6.neighbors.learn(ip.source, mac: mac, isRouter: true, now: now) {
                enqueueFrame(to: mac, etherType: .ipv6, payload: packet)
            }
            counters.neighborCacheEvictions = ipv6.neighbors.evictions
        }
        let overLimitBefore = ipv6.routers.overLimit
        let (changed, removed) = ipv6.routers.update(from: ip.source, advertisement: advertisement, mtu: mtu, now: now)
        counters.ndpOverLimit += ipv6.routers.overLimit - overLimitBefore
        if let changed { emitIPv6(.router(changed), now: now) }
        if removed { emitIPv6(.routerRemoved(ip.source), now: now) }
        if advertisement.routerLifetime != 0 { ipv6.routers.stopSolicitations() }
        reportFlagsIfChanged(now: now)
        for information in advertisement.options.prefixInformation { autoconfigure(information, now: now) }
        runIPv6(now: now)
    }

    // MARK: SLAAC

    /// RFC 4862 §5.5.3 for one Prefix Information option.
    func autoconfigure(_ information: NDPPrefixInformation, now: Instant) {
        // a) not autonomous, b) the link-local prefix: not for SLAAC (silently).
        guard information.autonomous, let prefix = information.ipv6Prefix, !prefix.address.isLinkLocal else { return }
        // c) preferred lifetime above the valid lifetime.
        guard information.preferredLifetime <= information.validLifetime else { return ignorePrefix() }
        let validUntil = RouterDiscovery.expiry(information.validLifetime, now: now)
        let preferredUntil = RouterDiscovery.expiry(information.preferredLifetime, now: now)
        let formed = { (entry: IPv6AddressTable.Entry) in
            entry.origin == .slaac && entry.prefixLength == prefix.length && prefix.contains(entry.address)
        }
        // The prefix's live address (a duplicate may have been replaced by a regenerated one, RFC 7217 §6).
        if let existing = ipv6.addresses.first(where: { formed($0) && $0.state != .duplicate }) ?? ipv6.addresses.first(where: formed) {
            guard existing.state != .duplicate else { return }
            // e) the preferred lifetime is taken as is; the valid lifetime only under the two-hour rule.
            let twoHours = Duration.seconds(7200)
            let received = information.validLifetime == .max ? nil : Duration.seconds(Int64(information.validLifetime))
            let remaining = existing.validUntil.map { $0 - now }
            var newValidUntil = existing.validUntil
            if received.map({ $0 > twoHours }) ?? true || (remaining != nil && received! > remaining!) {
                newValidUntil = validUntil
            } else if let remaining, remaining <= twoHours {
                // keep: an unauthenticated RA cannot shorten a lifetime below two hours
            } else {
                newValidUntil = now + twoHours
            }
            if let info = ipv6.addresses.setLifetimes(existing.address, validUntil: newValidUntil, preferredUntil: preferredUntil, now: now) {
                emitIPv6(.address(info), now: now)
            }
            return
        }
        // d) a new prefix: valid lifetime 0 means nothing to form; the identifier must fill the rest of 128 bits.
        guard information.validLifetime != 0 else { return }
        guard prefix.length == 64 else { return ignorePrefix() }
        let address = IPv6Address(prefix: prefix.address, interfaceIdentifier: ipv6.identifiers.identifier(prefix: prefix.address))
        guard ipv6.addresses.entry(for: address) == nil else { return }
        // Like Linux's max_addresses: a flood of prefixes cannot make the guest form (and DAD, and join groups for)
        // an unbounded number of addresses.
        guard ipv6.addresses.acceptsAutoconfigured else {
            counters.ndpOverLimit += 1
            return
        }
        addIPv6Address(address, prefixLength: 64, origin: .slaac, validLifetime: validUntil.map { $0 - now },
                       preferredLifetime: preferredUntil.map { $0 - now }, now: now)
    }

    private func ignorePrefix() { counters.ndpOptionsIgnored += 1 }

    // MARK: DAD outcome, routers, flags

    /// RFC 4862 §5.4.5: the address is a duplicate, reported and never used. Its solicited-node group is left
    /// unless another address needs it. A duplicate link-local address turns IPv6 off on the interface.
    func duplicateDetected(_ address: IPv6Address, now: Instant) {
        guard let info = ipv6.addresses.markDuplicate(address, now: now) else { return }
        emitIPv6(.address(info), now: now)
        if info.origin == .linkLocal {
            ipv6.disabled = true
            emitIPv6(.disabled(reason: "duplicate link-local address \(address) (RFC 4862 §5.4.5)"), now: now)
            for outcome in ipv6.pinger.stopAll() { emitIPv6(Self.pingEvent(outcome), now: now) }
            emitIPv6(.multicastGroups([]), now: now)
            return
        }
        leaveGroup(address.solicitedNodeMulticast, now: now)
        regenerateStableAddress(after: address, now: now)
    }

    /// IDGEN_RETRIES. RFC 7217 §7.
    static let idgenRetries: UInt8 = 3

    /// RFC 7217 §6: a stable SLAAC address that failed DAD is formed again with DAD_Counter + 1, at most
    /// IDGEN_RETRIES times, with the lifetimes the duplicate had left. (An EUI-64 identifier would only repeat.)
    func regenerateStableAddress(after duplicate: IPv6Address, now: Instant) {
        guard case .stable = ipv6.identifiers.mode, let entry = ipv6.addresses.entry(for: duplicate), entry.origin == .slaac,
              entry.dadCounter < Self.idgenRetries else { return }
        let counter = entry.dadCounter + 1
        let prefix = IPv6Prefix(address: duplicate, length: 64).address
        let address = IPv6Address(prefix: prefix, interfaceIdentifier: ipv6.identifiers.identifier(prefix: prefix, dadCounter: counter))
        guard ipv6.addresses.entry(for: address) == nil else { return }
        addIPv6Address(address, prefixLength: 64, origin: .slaac, validLifetime: entry.validUntil.map { $0 - now },
                       preferredLifetime: entry.preferredUntil.map { max($0 - now, .zero) }, now: now)
        ipv6.addresses.setDADCounter(address, counter)
    }

    /// A router left the default router list (or changed): reported.
    func routerChanged(_ router: IPv6Router, now: Instant) {
        if ipv6.routers.router(router.address) == nil {
            emitIPv6(.routerRemoved(router.address), now: now)
        } else {
            emitIPv6(.router(router), now: now)
        }
        reportFlagsIfChanged(now: now)
    }

    func reportFlagsIfChanged(now: Instant) {
        let flags = ipv6.routers.flags
        guard flags != ipv6.reportedFlags else { return }
        ipv6.reportedFlags = flags
        emitIPv6(.configurationFlags(managed: flags.managed, other: flags.other), now: now)
    }
}
