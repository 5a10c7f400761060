import Wire

/// IPv6 in and out (RFC 8200), ICMPv6 (RFC 4443), UDP over IPv6, ping6, and the public face of the IPv6 host side:
/// what TapVM reads and the hooks the DHCPv6 client uses.
extension NetworkStack {
    // MARK: Public API

    /// Our addresses in every state but removed, in the order they were added.
    public var ipv6Addresses: [IPv6AddressInfo] { ipv6.addresses.entries.map { $0.info() } }

    /// Our link-local address once DAD passed (the source of NDP, MLD and DHCPv6 messages); nil before or when
    /// it was a duplicate.
    public var ipv6LinkLocalAddress: IPv6Address? { ipv6.linkLocalAddress }

    /// Routers heard in valid Router Advertisements, in the order they were first heard.
    public var ipv6Routers: [IPv6Router] { ipv6.routers.routers.map(\.view) }

    /// The IPv6 groups the guest listens to, sorted (ff02::1 included); empty while IPv6 is off.
    public var ipv6MulticastGroups: [IPv6Address] { ipv6.running && !ipv6.disabled ? ipv6.multicast.groups : [] }

    /// The multicast MACs the guest wants to receive (33:33 plus each group's low 32 bits, RFC 2464 §7): what the
    /// host-side macvtap must accept (MACVTAP-FACTS §4).
    public var multicastMACs: Set<MACAddress> { Set(ipv6MulticastGroups.map(\.multicastMAC)) }

    /// Whether `mac` is one of `multicastMACs`, without building the set (the receive path asks per frame).
    public func acceptsMulticast(_ mac: MACAddress) -> Bool {
        guard mac.isMulticast, ipv6.running, !ipv6.disabled else { return false }
        return ipv6.multicast.listens(toMAC: mac)
    }

    /// True once a duplicate link-local address turned IPv6 off (RFC 4862 §5.4.5).
    public var ipv6Disabled: Bool { ipv6.disabled }

    /// The Managed and Other flags, OR-ed over the routers in the list. RFC 4861 §4.2.
    public var ipv6ConfigurationFlags: (managed: Bool, other: Bool) { ipv6.routers.flags }

    /// The link MTU (1500, or lower from a Router Advertisement's MTU option).
    public var ipv6LinkMTU: Int { ipv6.linkMTU }

    /// Called with every IPv6 event when it happens, before the caller drains it: the DHCPv6 client reacts to
    /// `.configurationFlags`, to its addresses' `.address(…duplicate…)` (Decline, RFC 8415 §18.2.8) and to the
    /// link-local address becoming preferred. Runs on the stack's thread; it may call the stack back.
    public var ipv6Observer: ((IPv6Event, Instant) -> Void)? {
        get { ipv6.observer }
        set { ipv6.observer = newValue }
    }

    /// Delivers UDP datagrams to `port` over IPv6 (checksum verified) to `handler`. Replaces an earlier listener
    /// on that port; port 546 (RFC 8415 §7.2) is served by the stack's own DHCPv6 client unless a listener takes it. A datagram to a port without a listener is answered with a
    /// port unreachable (RFC 4443 §3.1 code 4).
    public func listenUDPv6(port: UInt16, _ handler: @escaping (UDPv6Datagram, Instant) -> Void) {
        ipv6.udpListeners[port] = handler
    }

    /// Sends a UDP datagram over IPv6 with its mandatory checksum (RFC 8200 §8.1). `source` nil picks one
    /// (RFC 6724, see `IPv6State.source(for:)`: our link-local address for ff02::1:2 or a link-local peer). False
    /// (and nothing sent) when IPv6 is not running or no source is usable.
    @discardableResult
    public func sendUDPv6(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8], source: IPv6Address? = nil,
                          destination: IPv6Address, now: Instant) -> Bool {
        guard ipv6.running, !ipv6.disabled, let source = source ?? ipv6.source(for: destination) else { return false }
        let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
        guard let datagram = encode(header.length, { buffer in
            try header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[UDPDatagram.headerLength...]).copyBytes(from: payload)
            UDPHeader.fillChecksum(datagram: buffer, source: source, destination: destination)
        }) else { return false }
        counters.udp.transmitted += 1
        sendIPv6(nextHeader: .udp, payload: datagram, source: source, destination: destination, now: now)
        return true
    }

    /// Adds (or refreshes) an address leased by DHCPv6 (IA_NA, RFC 8415 §18.2.10.1) as a /128: a new one is
    /// tentative and goes through DAD (RFC 8415 §18.2.10.1 and RFC 4862 §5.4), reported with origin `.dhcpv6`;
    /// `nil` lifetimes are infinite.
    public func addDHCPv6Address(_ address: IPv6Address, validLifetime: Duration?, preferredLifetime: Duration?, now: Instant) {
        guard ipv6.running, !ipv6.disabled else { return }
        // A duplicate from an earlier lease is forgotten: a new lease of the address runs DAD again.
        if ipv6.addresses.entry(for: address)?.state == .duplicate { _ = ipv6.addresses.remove(address, now: now) }
        if ipv6.addresses.entry(for: address) != nil {
            if let info = ipv6.addresses.setLifetimes(address, validUntil: validLifetime.map { now + $0 },
                                                      preferredUntil: preferredLifetime.map { now + $0 }, now: now) {
                emitIPv6(.address(info), now: now)
            }
        } else {
            addIPv6Address(address, prefixLength: 128, origin: .dhcpv6, validLifetime: validLifetime,
                           preferredLifetime: preferredLifetime, now: now)
        }
        runIPv6(now: now)
    }

    /// Removes a DHCPv6 address (released, or its lease expired): reported `.removed`.
    public func removeDHCPv6Address(_ address: IPv6Address, now: Instant) {
        guard ipv6.addresses.entry(for: address)?.origin == .dhcpv6 else { return }
        removeIPv6Address(address, now: now)
        runIPv6(now: now)
    }

    /// Pings `target` over IPv6 `count` times; always ends with one `.ipv6(.pingsFinished)`. Without a usable
    /// source address for it (see `sendUDPv6`) it ends at once with sent 0.
    public func ping6(_ target: IPv6Address, count: Int, now: Instant) {
        guard ipv6.running, !ipv6.disabled, ipv6.source(for: target) != nil else {
            emitIPv6(.pingsFinished(target: target, sent: 0, received: 0), now: now)
            return
        }
        let identifier = UInt16.random(in: .min ... .max, using: &ipv6.random)
        ipv6.pinger.start(target: target, count: count, identifier: identifier, now: now)
        runPinger6(now: now)
    }

    // MARK: Start, timers

    /// Forms the link-local address and starts its DAD (RFC 4862 §5.3, §5.4); router solicitation follows once
    /// it is preferred (§6.3.7; like Linux, solicitations go from the link-local address with our MAC).
    func startIPv6(now: Instant) {
        guard ipv6.configuration.enabled, !ipv6.running else { return }
        ipv6.running = true
        let identifier = ipv6.identifiers.identifier(prefix: IPv6Prefix.linkLocal.address)
        addIPv6Address(.linkLocal(interfaceIdentifier: identifier), prefixLength: 64, origin: .linkLocal,
                       validLifetime: nil, preferredLifetime: nil, now: now)
        runIPv6(now: now)
    }

    /// The earliest IPv6 timer.
    var ipv6Deadline: Instant? { ipv6.nextDeadline }

    /// Runs every due IPv6 timer: DAD and lifetimes, MLD reports, neighbour retransmissions, router solicitations
    /// and expiries, ping6.
    func runIPv6(now: Instant) {
        guard ipv6.running, !ipv6.disabled else { return }
        // MLD first: a group joined for a tentative address is reported before its DAD probe (RFC 4862 §5.4.2).
        runMLD(now: now)
        let due = ipv6.addresses.poll(now: now)
        for address in due.probes { sendDuplicateAddressProbe(for: address, now: now) }
        for change in due.changes { addressChanged(change, now: now) }
        runMLD(now: now)
        let neighborsDue = ipv6.neighbors.poll(now: now)
        for solicitation in neighborsDue.solicitations { sendNeighborSolicitation(solicitation, now: now) }
        for failure in neighborsDue.failures {
            drop(.ndpResolutionFailed, count: failure.droppedPackets)
            // RFC 4861 §6.3.6: an unreachable router is not chosen while others may be reachable.
            if failure.wasRouter, let router = ipv6.routers.removeDefault(failure.address) { routerChanged(router, now: now) }
        }
        let routersDue = ipv6.routers.poll(now: now)
        if routersDue.sendSolicitation { sendRouterSolicitation(now: now) }
        for router in routersDue.changed { emitIPv6(.router(router), now: now) }
        for address in routersDue.removed { emitIPv6(.routerRemoved(address), now: now) }
        reportFlagsIfChanged(now: now)
        startPendingPings6(now: now)
        runPinger6(now: now)
        guard !ipv6.disabled else { return }
        runMLD(now: now)
    }

    /// Appends `.ipv6(event)` and tells the DHCPv6 client and the observer.
    func emitIPv6(_ event: IPv6Event, now: Instant) {
        events.append(.ipv6(event))
        dhcpv6Observe(event, now: now)
        ipv6.observer?(event, now)
    }

    // MARK: Addresses

    /// Adds a tentative address, joins its solicited-node group (MLD report, RFC 4862 §5.4.2) and schedules its
    /// first DAD probe a random 0…MAX_RTR_SOLICITATION_DELAY later (like Linux's addrconf_dad_kick, for every
    /// address: nodes that start together do not probe together).
    func addIPv6Address(_ address: IPv6Address, prefixLength: Int, origin: IPv6AddressOrigin,
                        validLifetime: Duration?, preferredLifetime: Duration?, now: Instant) {
        let delay = ipv6.initialDelay()
        guard let info = ipv6.addresses.add(address, prefixLength: prefixLength, origin: origin, validLifetime: validLifetime,
                                            preferredLifetime: preferredLifetime, delay: delay, now: now) else { return }
        joinGroup(address.solicitedNodeMulticast, reportDelay: delay, now: now)
        emitIPv6(.address(info), now: now)
        if info.state != .tentative { addressChanged(info, now: now, alreadyReported: true) }
    }

    func removeIPv6Address(_ address: IPv6Address, now: Instant) {
        guard let info = ipv6.addresses.remove(address, now: now) else { return }
        addressChanged(info, now: now)
    }

    /// Reports a state change and does what follows from it: leaving the solicited-node group of a removed
    /// address, router solicitation once the link-local address is preferred, waiting pings.
    func addressChanged(_ info: IPv6AddressInfo, now: Instant, alreadyReported: Bool = false) {
        if !alreadyReported { emitIPv6(.address(info), now: now) }
        switch info.state {
        case .removed where ipv6.addresses.entry(for: info.address) == nil:
            leaveGroup(info.address.solicitedNodeMulticast, now: now)
        case .preferred where info.origin == .linkLocal:
            if ipv6.routers.solicitationsSent == 0, ipv6.routers.nextSolicitation == nil, ipv6.routers.routers.isEmpty {
                ipv6.routers.startSolicitations(at: now + ipv6.initialDelay())
            }
        default:
            break
        }
    }

    // MARK: Input

    /// One IPv6 frame (already accepted by destination MAC). RFC 8200 §3, §4; RFC 4862 §5.4 (a tentative address
    /// receives only NS and NA).
    func receiveIPv6(_ ethernet: EthernetFrame, now: Instant) {
        // IPv6 off in the configuration: the EtherType is one the stack does not speak.
        guard ipv6.configuration.enabled else { return drop(.unsupportedEtherType) }
        counters.ipv6.received += 1
        guard ipv6.running else { return drop(.ipv6Disabled) }
        guard !ipv6.disabled else { return drop(.ipv6Disabled) }
        let packet: IPv6Packet
        do { packet = try IPv6Packet(ethernet.payload) } catch { return drop(.ipv6Malformed) }
        // RFC 4291 §2.7: a multicast address is never a source.
        guard !packet.source.isMulticast else { return drop(.ipv6BadSource) }
        let destination = packet.destination
        var toTentative = false
        if destination.isMulticast {
            guard ipv6.multicast.isMember(destination) else { return drop(.ipv6NotForUs) }
        } else {
            guard let entry = ipv6.addresses.entry(for: destination), entry.state != .duplicate else {
                return drop(.ipv6NotForUs)
            }
            toTentative = entry.state == .tentative
        }
        let upper: IPv6UpperLayer
        do { upper = try packet.upperLayer() } catch { return drop(.ipv6Malformed) }
        guard !upper.isFragment else { return drop(.ipv6Fragment) }
        switch upper.nextHeader {
        case .icmpv6:
            receiveICMPv6(packet, upper: upper, ethernet: ethernet, toTentative: toTentative, now: now)
        case .udp:
            guard !toTentative else { return drop(.ipv6ToTentative) }
            receiveUDPv6(packet, upper: upper, ethernet: ethernet, now: now)
        case .noNextHeader:
            guard !toTentative else { return drop(.ipv6ToTentative) }
            counters.ipv6Consumed += 1
        default:
            guard !toTentative else { return drop(.ipv6ToTentative) }
            drop(.ipv6UnsupportedNextHeader)
            // RFC 8200 §4: an unrecognized Next Header is answered with Parameter Problem code 1 pointing at it
            // (sent only when no extension header precedes it, so the pointer is the fixed header's byte 6).
            if upper.extensionHeadersLength == 0 {
                sendICMPv6Error(type: .parameterProblem, code: 1, parameter: 6, invoking: packet, ethernet: ethernet, now: now)
            }
        }
    }

    /// ICMPv6 in: checksum, then by type. RFC 4443 §2.3, §2.4, §4.
    func receiveICMPv6(_ ip: IPv6Packet, upper: IPv6UpperLayer, ethernet: EthernetFrame, toTentative: Bool, now: Instant) {
        counters.icmpv6.received += 1
        let icmp: ICMPv6Packet
        do { icmp = try ICMPv6Packet(upper.payload) } catch { return drop(.icmpv6Malformed) }
        guard icmp.isChecksumValid(source: ip.source, destination: ip.destination) else { return drop(.icmpv6Checksum) }
        if toTentative, icmp.type != .neighborSolicitation, icmp.type != .neighborAdvertisement {
            return drop(.ipv6ToTentative)
        }
        switch icmp.type {
        case .echoRequest:
            receiveEchoRequest6(ip, icmp: icmp, ethernet: ethernet, now: now)
        case .echoReply:
            guard let identifier = icmp.identifier, let sequence = icmp.sequenceNumber else { return drop(.icmpv6Malformed) }
            guard let outcome = ipv6.pinger.match(source: ip.source, identifier: identifier, sequence: sequence, now: now) else {
                return drop(.icmpv6UnmatchedReply)
            }
            counters.ipv6Consumed += 1
            emitIPv6(Self.pingEvent(outcome), now: now)
            runPinger6(now: now)
        case .neighborSolicitation:
            receiveNeighborSolicitation(ip, icmp: icmp, ethernet: ethernet, now: now)
        case .neighborAdvertisement:
            receiveNeighborAdvertisement(ip, icmp: icmp, now: now)
        case .routerAdvertisement:
            receiveRouterAdvertisement(ip, icmp: icmp, now: now)
        case .routerSolicitation:
            // RFC 4861 §6.2.6: hosts silently discard router solicitations.
            drop(.ndpRouterSolicitationIgnored)
        case .redirect:
            drop(.ndpRedirectIgnored)
        case .multicastListenerQuery:
            receiveMLDQuery(ip, icmp: icmp, upper: upper, now: now)
        case .version2MulticastListenerReport, ICMPv6Type(131), ICMPv6Type(132):
            // Other listeners' reports: MLDv2 hosts never suppress their own on them (RFC 3810 §6).
            drop(.mldReportIgnored)
        default:
            guard icmp.type.isError else { return drop(.icmpv6UnhandledType) }
            // RFC 4443 §2.4 d: errors go to the upper layer of the packet they quote; the guest has no
            // connection to tell, so they are counted by type and otherwise ignored (RFC 4443 §3: never a crash,
            // never an answer, §2.4 e.1).
            guard icmp.bytes.count >= 8 else { return drop(.icmpv6Malformed) }
            counters.icmpv6ErrorsReceived[icmp.type.rawValue, default: 0] += 1
            counters.ipv6Consumed += 1
        }
    }

    /// RFC 4443 §4.2: a reply with the request's identifier, sequence and data. To a multicast address (ff02::1)
    /// the guest answers too (the RFC's SHOULD; Linux's default `echo_ignore_multicast=0`), from a unicast
    /// address of ours chosen for the requester.
    func receiveEchoRequest6(_ ip: IPv6Packet, icmp: ICMPv6Packet, ethernet: EthernetFrame, now: Instant) {
        guard icmp.body.count >= 4 else { return drop(.icmpv6Malformed) }
        guard !ip.source.isUnspecified else { return drop(.ipv6BadSource) }
        let source = ip.destination.isMulticast ? ipv6.source(for: ip.source) : ip.destination
        guard let source else { return drop(.noRoute) }
        counters.ipv6Consumed += 1
        let reply = ICMPv6Message(type: .echoReply, body: Array(icmp.body))
        sendICMPv6(reply, source: source, destination: ip.source, now: now)
    }

    /// UDP over IPv6: the checksum is mandatory (RFC 8200 §8.1); a listener gets the datagram, a closed port
    /// gets a port unreachable (RFC 4443 §3.1 code 4).
    func receiveUDPv6(_ ip: IPv6Packet, upper: IPv6UpperLayer, ethernet: EthernetFrame, now: Instant) {
        counters.udp.received += 1
        let udp: UDPDatagram
        do { udp = try UDPDatagram(upper.payload) } catch { return drop(.udpMalformed) }
        guard udp.isChecksumValid(source: ip.source, destination: ip.destination) else { return drop(.udpChecksum) }
        let listener = ipv6.udpListeners[udp.destinationPort]
        if listener == nil, udp.destinationPort == DHCPv6Packet.clientPort { return receiveDHCPv6(ip, udp: udp, now: now) }
        guard let listener else {
            drop(.udpNoListener)
            sendICMPv6Error(type: .destinationUnreachable, code: 4, parameter: 0, invoking: ip, ethernet: ethernet, now: now)
            return
        }
        counters.ipv6Consumed += 1
        listener(UDPv6Datagram(source: ip.source, destination: ip.destination, sourcePort: udp.sourcePort,
                               destinationPort: udp.destinationPort, sourceMAC: ethernet.source, payload: Array(udp.payload)), now)
    }

    // MARK: Output

    /// An ICMPv6 message (checksum over the pseudo-header) from `source`.
    func sendICMPv6(_ message: ICMPv6Message, source: IPv6Address, destination: IPv6Address,
                    hopLimit: UInt8? = nil, now: Instant) {
        sendICMPv6(length: message.encodedLength, source: source, destination: destination, hopLimit: hopLimit, now: now) {
            try message.emit(into: $0, source: source, destination: destination)
        }
    }

    /// `length` bytes of ICMPv6 written by `emit` (which fills in the checksum), then IPv6.
    func sendICMPv6(length: Int, source: IPv6Address, destination: IPv6Address, hopLimit: UInt8? = nil,
                    hopByHop: IPv6OptionsHeader? = nil, destinationMAC: MACAddress? = nil, now: Instant,
                    emit: (UnsafeMutableRawBufferPointer) throws -> Void) {
        guard let bytes = encode(length, { buffer in try emit(buffer) }) else { return }
        counters.icmpv6.transmitted += 1
        sendIPv6(nextHeader: .icmpv6, payload: bytes, source: source, destination: destination, hopLimit: hopLimit,
                 hopByHop: hopByHop, destinationMAC: destinationMAC, now: now)
    }

    /// Wraps `payload` in an IPv6 header (and a hop-by-hop header when given) and sends it: multicast to its MAC
    /// (RFC 2464 §7), unicast to the next hop (RFC 4861 §5.2: on-link or link-local destinations directly, others
    /// through a default router, one known reachable first, §6.3.6) resolved by the neighbour cache. No default
    /// router ⇒ `noRoute` (RFC 4861 §5.2 no longer assumes on-link). `destinationMAC` bypasses resolution (NUD
    /// probes).
    func sendIPv6(nextHeader: IPProtocol, payload: [UInt8], source: IPv6Address, destination: IPv6Address,
                  hopLimit: UInt8? = nil, hopByHop: IPv6OptionsHeader? = nil, destinationMAC: MACAddress? = nil, now: Instant) {
        let extensionLength = hopByHop?.encodedLength ?? 0
        let header = IPv6Header(source: source, destination: destination, nextHeader: hopByHop == nil ? nextHeader : .hopByHop,
                                payloadLength: extensionLength + payload.count, hopLimit: hopLimit ?? ipv6.hopLimit)
        guard let packet = encode(IPv6Packet.headerLength + header.payloadLength, { buffer in
            try header.emit(into: buffer)
            if var hopByHop {
                hopByHop.nextHeader = nextHeader
                try hopByHop.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[IPv6Packet.headerLength...]))
            }
            UnsafeMutableRawBufferPointer(rebasing: buffer[(IPv6Packet.headerLength + extensionLength)...]).copyBytes(from: payload)
        }) else { return }
        if let destinationMAC {
            counters.ipv6.transmitted += 1
            return enqueueFrame(to: destinationMAC, etherType: .ipv6, payload: packet)
        }
        if destination.isMulticast {
            counters.ipv6.transmitted += 1
            return enqueueFrame(to: destination.multicastMAC, etherType: .ipv6, payload: packet)
        }
        guard let nextHop = nextHop(for: destination, now: now) else { return drop(.noRoute) }
        counters.ipv6.transmitted += 1
        switch ipv6.neighbors.resolve(nextHop, packet: packet, source: source, now: now) {
        case let .send(mac):
            enqueueFrame(to: mac, etherType: .ipv6, payload: packet)
        case let .queued(solicit, droppedOldest):
            if droppedOldest { drop(.ndpQueueOverflow) }
            if solicit {
                sendNeighborSolicitation(NeighborCacheV6.Solicitation(target: nextHop, source: source, destinationMAC: nil), now: now)
            }
        }
    }

    /// RFC 4861 §5.2 next-hop determination.
    func nextHop(for destination: IPv6Address, now: Instant) -> IPv6Address? {
        if destination.isLinkLocal || ipv6.routers.isOnLink(destination, now: now) { return destination }
        let routers = ipv6.routers.defaultRouters
        let reachable = routers.first { router in
            guard let state = ipv6.neighbors.state(of: router) else { return false }
            return state != .incomplete
        }
        return reachable ?? routers.first
    }

    /// An ICMPv6 error about `invoking` (RFC 4443 §2.4): never about an error or a redirect (e.1, e.2), a
    /// multicast destination or Ethernet multicast/broadcast (e.3, e.4), a source that is not a unicast host
    /// (e.6); from the address it was sent to; as much of it as fits in 1280 bytes (§2.4 c); rate-limited (f).
    func sendICMPv6Error(type: ICMPv6Type, code: UInt8, parameter: UInt32, invoking ip: IPv6Packet,
                         ethernet: EthernetFrame, now: Instant) {
        guard !ip.destination.isMulticast, !ethernet.destination.isMulticast,
              !ip.source.isUnspecified, !ip.source.isMulticast, !ip.source.isLoopback,
              ipv6.addresses.entry(for: ip.destination)?.isAssigned == true else { return }
        if ip.nextHeader == .icmpv6, let first = ip.payload.first, first < 128 || first == ICMPv6Type.redirect.rawValue { return }
        guard ipv6.errorLimiter.allow(now: now) else {
            counters.icmpv6ErrorsRateLimited += 1
            return
        }
        let invoking = Array(ip.bytes.prefix(IPv6Packet.headerLength + ip.payloadLength).prefix(1280 - 40 - 8))
        let body = [UInt8(truncatingIfNeeded: parameter >> 24), UInt8(truncatingIfNeeded: parameter >> 16),
                    UInt8(truncatingIfNeeded: parameter >> 8), UInt8(truncatingIfNeeded: parameter)] + invoking
        sendICMPv6(ICMPv6Message(type: type, code: code, body: body), source: ip.destination, destination: ip.source, now: now)
    }

    // MARK: ping6

    static func pingEvent(_ outcome: EchoSessions<IPv6Address>.Outcome) -> IPv6Event {
        switch outcome {
        case let .reply(target, sequence, roundTrip): .pingReply(target: target, sequence: sequence, roundTrip: roundTrip)
        case let .timeout(target, sequence): .pingTimeout(target: target, sequence: sequence)
        case let .finished(target, sent, received): .pingsFinished(target: target, sent: sent, received: received)
        }
    }

    func runPinger6(now: Instant) {
        let (requests, outcomes) = ipv6.pinger.poll(now: now)
        for outcome in outcomes { emitIPv6(Self.pingEvent(outcome), now: now) }
        for request in requests {
            guard let source = ipv6.source(for: request.target) else {
                drop(.noRoute)
                continue
            }
            let message = ICMPv6Message.echoRequest(identifier: request.identifier, sequenceNumber: request.sequenceNumber,
                                                    data: request.payload)
            sendICMPv6(message, source: source, destination: request.target, now: now)
        }
    }

    /// Starts configured ping6 targets whose time has come: `.router` once a default router is known and our
    /// link-local address is preferred, an address once a source for it is.
    func startPendingPings6(now: Instant) {
        guard !ipv6.pendingPings.isEmpty else { return }
        var waiting: [IPv6PingTarget] = []
        var ready: [IPv6Address] = []
        for target in ipv6.pendingPings {
            switch target {
            case .router:
                if let router = ipv6.routers.defaultRouters.first, ipv6.linkLocalAddress != nil { ready.append(router) } else { waiting.append(target) }
            case let .address(address):
                if ipv6.source(for: address) != nil { ready.append(address) } else { waiting.append(target) }
            }
        }
        ipv6.pendingPings = waiting
        for address in ready { ping6(address, count: ipv6.configuration.pingCount, now: now) }
    }
}
