import Wire

/// Advertise and Reply processing: validation (RFC 8415 §16), server selection (§18.2.9) and bindings (§18.2.10).
extension DHCPv6Client {
    /// Parses a UDP payload received on port 546 and handles it; a payload that does not parse is ignored as
    /// `.malformed` (never a trap).
    @discardableResult
    public mutating func handle(payload: UnsafeRawBufferPointer, from source: IPv6Address, now: Instant) -> Disposition {
        let message: DHCPv6Message
        do { message = try DHCPv6Message(DHCPv6Packet(payload)) } catch { return counted(.ignored(.malformed)) }
        return handle(message, from: source, now: now)
    }

    /// Takes a message from a server (UDP port 546; `source` is its IPv6 source address). Messages that are not an
    /// Advertise or Reply to the exchange in progress, carry another transaction id, lack our Client ID or any Server
    /// ID are ignored and counted (RFC 8415 §16.3, §16.10).
    @discardableResult
    public mutating func handle(_ message: DHCPv6Message, from source: IPv6Address, now: Instant) -> Disposition {
        counted(process(message, from: source, now: now))
    }

    mutating func counted(_ disposition: Disposition) -> Disposition {
        if case let .ignored(reason) = disposition { ignoredMessages[reason, default: 0] += 1 }
        return disposition
    }

    mutating func process(_ message: DHCPv6Message, from source: IPv6Address, now: Instant) -> Disposition {
        guard message.messageType == .advertise || message.messageType == .reply,
              let exchange, exchange.transmissions > 0 else { return .ignored(.unexpectedMessage) }
        guard message.transactionID == transactionID else { return .ignored(.wrongTransaction) }
        guard message.clientIdentifier == duid else { return .ignored(.wrongClientIdentifier) }
        guard let server = message.serverIdentifier, server.hasValidLength else { return .ignored(.missingServerIdentifier) }
        updateMaximumRetransmissionTimes(from: message)

        switch (state, message.messageType) {
        case (.soliciting, .advertise):
            return advertised(message, server: server, now: now)
        case (.soliciting, .reply) where configuration.rapidCommit && message.rapidCommit,
             (.requesting, .reply), (.renewing, .reply), (.rebinding, .reply):
            return bindingReply(message, server: server, source: source, now: now)
        case (.releasing, .reply), (.declining, .reply):
            if let resent = resendIfUseMulticast(message, now: now) { return resent }
            if state == .releasing {
                self.exchange = nil
                timer = nil
                enter(.released, now: now)
            } else {
                finishDecline(now: now)
            }
            return .accepted
        case (.informing, .reply):
            return informationReply(message, now: now)
        default:
            return .ignored(.unexpectedMessage)
        }
    }

    /// SOL_MAX_RT and INF_MAX_RT from options 82 and 83, in any Advertise or Reply (even an ignored Advertise);
    /// values outside 60...86400 are ignored (RFC 8415 §18.2.9, §21.24, §21.25).
    mutating func updateMaximumRetransmissionTimes(from message: DHCPv6Message) {
        if let seconds = message.solMaxRT, (60 ... 86_400).contains(seconds) {
            solicitMaximum = .seconds(Int64(seconds))
            if state == .soliciting { exchange?.parameters.maximum = solicitMaximum }
        }
        if let seconds = message.informationMaxRT {
            guard (60 ... 86_400).contains(seconds) else { return }
            informationRequestMaximum = .seconds(Int64(seconds))
            if state == .informing { exchange?.parameters.maximum = informationRequestMaximum }
        }
    }

    /// UseMulticast while unicasting: forget the unicast address and resend at once to ff02::1:2 (RFC 8415
    /// §18.2.10). nil when the status is something else.
    mutating func resendIfUseMulticast(_ message: DHCPv6Message, now: Instant) -> Disposition? {
        guard message.status?.code == .useMulticast else { return nil }
        guard target.unicast != nil else { return .ignored(.serverFailure) }
        target.unicast = nil
        lease?.serverUnicast = nil
        transmit(now: now)
        return .accepted
    }

    /// Our IA_NA in `message`; one with T1 > T2 (both non-zero) is discarded (RFC 8415 §21.4).
    func ourIdentityAssociation(_ message: DHCPv6Message) -> DHCPv6IANA? {
        message.identityAssociations.first { $0.iaid == iaid && !($0.t2 > 0 && $0.t1 > $0.t2) }
    }

    /// The IA Address options a client may use: preferred ≤ valid (RFC 8415 §21.6), no failure status, and an
    /// address a server may assign (not unspecified, loopback, multicast or link-local).
    func usableAddresses(_ association: DHCPv6IANA) -> [DHCPv6IAAddress] {
        association.addresses.filter { offered in
            let address = offered.address
            return offered.preferredLifetime <= offered.validLifetime
                && (offered.status?.code ?? .success) == .success
                && !(address.isUnspecified || address.isLoopback || address.isMulticast || address.isLinkLocal)
        }
    }

    /// OPTION_UNICAST: the server's address for unicast messages (RFC 8415 §21.12).
    func serverUnicast(_ message: DHCPv6Message) -> IPv6Address? {
        message.serverUnicast
    }

    /// An Advertise while soliciting: ignored without usable addresses (NoAddrsAvail, §18.2.9); else kept until the
    /// first RT ends, or acted on at once with preference 255 or after the first RT (§18.2.1).
    mutating func advertised(_ message: DHCPv6Message, server: DUID, now: Instant) -> Disposition {
        guard (message.status?.code ?? .success) == .success, let association = ourIdentityAssociation(message),
              (association.status?.code ?? .success) == .success else { return .ignored(.noAddressesAvailable) }
        let addresses = usableAddresses(association).filter { $0.validLifetime > 0 }.map(\.address)
        guard !addresses.isEmpty else { return .ignored(.noAddressesAvailable) }
        let advertisement = Advertisement(server: server, preference: message.preference ?? 0, addresses: addresses,
                                          unicast: serverUnicast(message))
        if advertisement.preference == 255 || (exchange?.transmissions ?? 0) > 1 {
            request(advertisement, now: now)
        } else {
            advertisements.append(advertisement)
        }
        return .accepted
    }

    /// A Reply to Solicit (Rapid Commit), Request, Renew or Rebind. RFC 8415 §18.2.10, §18.2.10.1.
    mutating func bindingReply(_ message: DHCPv6Message, server: DUID, source: IPv6Address, now: Instant) -> Disposition {
        switch message.status?.code ?? .success {
        case .success:
            break
        case .useMulticast:
            return resendIfUseMulticast(message, now: now) ?? .ignored(.serverFailure)
        case .notOnLink:
            return notOnLink(now: now)
        case .noAddressesAvailable:
            return noAddresses(now: now)
        default:
            // UnspecFail and unknown codes: keep retransmitting at the backed-off rate.
            return .ignored(.serverFailure)
        }
        guard let association = ourIdentityAssociation(message) else {
            return lease == nil ? noAddresses(now: now) : .ignored(.missingIdentityAssociation)
        }
        switch association.status?.code ?? .success {
        case .success:
            break
        case .noBinding where state == .renewing || state == .rebinding:
            // §18.2.10.1: send a Request (to the server that answered) and no more Renew or Rebind.
            target = Target(server: server, unicast: unicast(serverUnicast(message)),
                            addresses: lease?.addresses.map(\.address) ?? [])
            beginExchange(.requesting, now: now, keepTarget: true)
            return .accepted
        case .notOnLink:
            return notOnLink(now: now)
        case .noAddressesAvailable:
            return noAddresses(now: now)
        default:
            return .ignored(.serverFailure)
        }
        let offered = usableAddresses(association)
        if lease == nil, !offered.contains(where: { $0.validLifetime > 0 }) { return noAddresses(now: now) }
        bind(message, association: association, offered: offered, server: server, source: source, now: now)
        return .accepted
    }

    /// No address from this server: a Reply to Request sends the client back to Solicit; otherwise (Rapid Commit
    /// Reply, Renew, Rebind) the reply is ignored and the exchange goes on (RFC 8415 §18.2.10.1).
    mutating func noAddresses(now: Instant) -> Disposition {
        guard state == .requesting, lease?.addresses.isEmpty ?? true else { return .ignored(.noAddressesAvailable) }
        lease = nil
        restartSolicit(now: now)
        return .accepted
    }

    /// NotOnLink: the addresses are not valid on this link; drop them and solicit again (RFC 8415 §18.2.10.1). To a
    /// Rapid Commit Solicit it is ignored: the Solicit goes on.
    mutating func notOnLink(now: Instant) -> Disposition {
        guard state != .soliciting else { return .ignored(.serverFailure) }
        dropLease(reason: "NotOnLink", now: now)
        restartSolicit(now: now)
        return .accepted
    }

    /// Records the IA as RFC 8415 §18.2.10.1 says: new addresses added, known ones updated, valid lifetime 0
    /// removed, others left unchanged; lifetimes, T1 and T2 from the reception of the Reply. Then BOUND with the
    /// timer at T1 (or T2 when T1 is infinite).
    mutating func bind(_ message: DHCPv6Message, association: DHCPv6IANA, offered: [DHCPv6IAAddress], server: DUID,
                       source: IPv6Address, now: Instant) {
        var lease = self.lease ?? DHCPv6Lease(serverIdentifier: server, serverAddress: source, iaid: iaid,
                                              renewalTime: nil, rebindingTime: nil, acquiredAt: now, addresses: [])
        lease.serverIdentifier = server
        lease.serverAddress = source
        lease.serverUnicast = unicast(serverUnicast(message))
        lease.acquiredAt = now
        for address in offered {
            let index = lease.addresses.firstIndex { $0.address == address.address }
            if address.validLifetime == 0 {
                if let index {
                    lease.addresses.remove(at: index)
                    events.append(.addressLost(address.address, reason: "valid lifetime 0 from the server"))
                }
                continue
            }
            let leased = DHCPv6LeasedAddress(address: address.address, preferredLifetime: address.preferredLifetime,
                                             validLifetime: address.validLifetime, acquiredAt: now)
            if let index {
                lease.addresses[index] = leased
                events.append(.addressRenewed(leased))
            } else {
                lease.addresses.append(leased)
                events.append(.addressLeased(leased))
            }
        }
        if message.option(.dnsServers) != nil { lease.dnsServers = message.dnsServers }
        if message.option(.domainList) != nil { lease.domainList = message.domainList }
        exchange = nil
        guard !lease.addresses.isEmpty else {
            self.lease = nil
            restartSolicit(now: now)
            return
        }
        let timers = DHCPv6Lease.timers(t1: association.t1, t2: association.t2,
                                        shortestPreferred: Self.shortestPreferred(lease.addresses, now: now))
        lease.renewalTime = timers.renewal
        lease.rebindingTime = timers.rebinding
        self.lease = lease
        updateConfiguration(dnsServers: lease.dnsServers, domainList: lease.domainList)
        enter(.bound, now: now)
        timer = (lease.renewAt ?? lease.rebindAt).map { max($0, now) }
    }

    /// The shortest remaining preferred lifetime (nil when all are infinite); when that is 0 (a deprecated
    /// address), the shortest remaining valid lifetime, so T1 never makes the client renew in a loop.
    static func shortestPreferred(_ addresses: [DHCPv6LeasedAddress], now: Instant) -> Duration? {
        let preferred = addresses.compactMap { $0.preferredUntil.map { max($0 - now, .zero) } }.min()
        guard preferred == .zero else { return preferred }
        return addresses.compactMap { $0.validUntil.map { max($0 - now, .zero) } }.min() ?? preferred
    }

    /// A Reply to Information-request: DNS configuration and the refresh time (option 32, default IRT_DEFAULT,
    /// at least IRT_MINIMUM, 0xFFFFFFFF never). RFC 8415 §18.2.6, §21.23.
    mutating func informationReply(_ message: DHCPv6Message, now: Instant) -> Disposition {
        if let resent = resendIfUseMulticast(message, now: now) { return resent }
        guard (message.status?.code ?? .success) == .success else { return .ignored(.serverFailure) }
        let refresh: Duration? = switch message.informationRefreshTime {
        case nil: Self.defaultInformationRefreshTime
        case UInt32.max?: nil
        case let seconds?: max(.seconds(Int64(seconds)), Self.minimumInformationRefreshTime)
        }
        updateConfiguration(dnsServers: message.dnsServers, domainList: message.domainList)
        exchange = nil
        enter(.informed, now: now)
        timer = refresh.map { now + $0 }
        return .accepted
    }

    /// Reports DNS servers and the search list when they change.
    mutating func updateConfiguration(dnsServers: [IPv6Address], domainList: [String]) {
        guard dnsServers != self.dnsServers || domainList != self.domainList else { return }
        self.dnsServers = dnsServers
        self.domainList = domainList
        events.append(.configuration(dnsServers: dnsServers, domainList: domainList))
    }
}
