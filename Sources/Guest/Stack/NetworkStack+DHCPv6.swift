import Wire

/// The DHCPv6 client (RFC 8415) wired into the stack: started by the routers' M/O flags, fed from UDP port 546,
/// sending from the link-local address to ff02::1:2 port 547, and applying what it leases to the address table
/// (where each address goes through DAD; a duplicate is declined).
extension NetworkStack {
    /// The DHCPv6 client's state (IDLE until a Router Advertisement sets M or O).
    public var dhcpv6State: DHCPv6Client.State { dhcpv6Client.state }

    /// The DHCPv6 binding in force, if any.
    public var dhcpv6Lease: DHCPv6Lease? { dhcpv6Client.lease }

    /// Messages the DHCPv6 client ignored, by reason.
    public var dhcpv6IgnoredMessages: [DHCPv6Client.IgnoreReason: Int] { dhcpv6Client.ignoredMessages }

    /// Whether DHCPv6 runs at all: IPv6 on, started, and not stopped by a duplicate link-local address.
    var dhcpv6Running: Bool { ipv6.configuration.enabled && ipv6.running && !ipv6.disabled }

    /// The DHCPv6 client's next timer (nil while DHCPv6 does not run, so a queued message of a stopped client
    /// never makes the vCPU spin).
    var dhcpv6Deadline: Instant? { dhcpv6Running ? dhcpv6Client.nextDeadline : nil }

    /// What the IPv6 side reports and the DHCPv6 client reacts to (called from `emitIPv6`): the M/O flags start it
    /// (RFC 4861 §4.2, RFC 8415 §18.2.1, §18.2.6), a leased address found duplicate by DAD is declined (RFC 8415
    /// §18.2.8). Only the client's state changes here; `runDHCPv6` sends what it queued.
    func dhcpv6Observe(_ event: IPv6Event, now: Instant) {
        guard dhcpv6Running else { return }
        switch event {
        case let .configurationFlags(managed, other):
            dhcpv6Client.routerAdvertisement(managed: managed, otherConfiguration: other, now: now)
        case let .address(info) where info.origin == .dhcpv6 && info.state == .duplicate:
            dhcpv6Client.decline(info.address, now: now)
        default:
            break
        }
    }

    /// A UDP datagram to port 546 (RFC 8415 §7.2): from a server's port 547, handed to the client; what it ignores
    /// is a counted drop by its reason.
    func receiveDHCPv6(_ ip: IPv6Packet, udp: UDPDatagram, now: Instant) {
        counters.dhcpv6.received += 1
        guard dhcpv6Running else { return drop(.ipv6Disabled) }
        guard udp.sourcePort == DHCPv6Packet.serverPort else { return drop(.dhcpv6WrongSourcePort) }
        switch dhcpv6Client.handle(payload: udp.payload, from: ip.source, now: now) {
        case .accepted:
            counters.ipv6Consumed += 1
        case let .ignored(reason):
            drop(Self.dropReason(reason))
        }
        runDHCPv6(now: now)
    }

    static func dropReason(_ reason: DHCPv6Client.IgnoreReason) -> DropReason {
        switch reason {
        case .malformed: .dhcpv6Malformed
        case .unexpectedMessage: .dhcpv6Unexpected
        case .wrongTransaction: .dhcpv6WrongTransaction
        case .wrongClientIdentifier: .dhcpv6WrongClientIdentifier
        case .missingServerIdentifier: .dhcpv6MissingServerIdentifier
        case .noAddressesAvailable: .dhcpv6NoAddressesAvailable
        case .missingIdentityAssociation: .dhcpv6MissingIdentityAssociation
        case .serverFailure: .dhcpv6ServerFailure
        }
    }

    /// Sends what the DHCPv6 client has due (UDP 546 → 547, from the link-local address, RFC 8415 §7.1, §7.2),
    /// then applies its events: leased and renewed addresses to the address table (tentative, DAD; RFC 8415
    /// §18.2.10.1), lost ones removed, transitions and DNS configuration reported.
    func runDHCPv6(now: Instant) {
        guard dhcpv6Running else { return }
        for outgoing in dhcpv6Client.poll(now: now) {
            let message = outgoing.message
            guard let payload = encode(message.encodedLength, { buffer in try message.emit(into: buffer) }) else { continue }
            counters.dhcpv6.transmitted += 1
            // The source follows RFC 6724: our link-local address for ff02::1:2, a global one for a server's unicast.
            if !sendUDPv6(sourcePort: DHCPv6Client.Outgoing.sourcePort, destinationPort: DHCPv6Client.Outgoing.destinationPort,
                          payload: payload, destination: outgoing.destination, now: now) {
                drop(.noRoute)
            }
        }
        for event in dhcpv6Client.drainEvents() {
            switch event {
            case let .transition(transition):
                events.append(.dhcpv6(transition))
            case let .addressLeased(leased), let .addressRenewed(leased):
                addDHCPv6Address(leased.address, validLifetime: leased.validUntil.map { $0 - now },
                                 preferredLifetime: leased.preferredUntil.map { $0 - now }, now: now)
            case let .addressLost(address, _):
                removeDHCPv6Address(address, now: now)
            case let .configuration(dnsServers, domainList):
                events.append(.dhcpv6Configuration(dnsServers: dnsServers, domainList: domainList))
            }
        }
    }

    /// Gives DHCPv6 addresses back with a Release (RFC 8415 §18.2.7); they stop being used at once.
    func releaseDHCPv6(now: Instant) {
        guard dhcpv6Running, dhcpv6Client.lease != nil else { return }
        dhcpv6Client.release(now: now)
        runDHCPv6(now: now)
    }
}
