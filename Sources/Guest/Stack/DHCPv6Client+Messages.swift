import Wire

/// The client's messages, option by option as RFC 8415 §18.2 and Appendix B list them.
extension DHCPv6Client {
    /// OPTION_ORO: the configured options plus SOL_MAX_RT and INF_MAX_RT, which every ORO MUST carry (RFC 8415
    /// §21.24, §21.25), and for Information-request the Information Refresh Time (§21.23). No duplicates.
    func optionRequest(informationRequest: Bool) -> DHCPv6Option {
        var codes: [DHCPv6OptionCode] = []
        let mandatory: [DHCPv6OptionCode] = informationRequest
            ? [.informationRefreshTime, .solMaxRT, .informationMaxRT] : [.solMaxRT, .informationMaxRT]
        for code in configuration.requestedOptions + mandatory where !codes.contains(code) { codes.append(code) }
        return .optionRequest(codes)
    }

    /// Our IA_NA with `addresses` as hints: T1, T2 and both lifetimes 0, so the server uses its own values (RFC
    /// 8415 §18.2.2, §18.2.4, §21.4, §21.6).
    func identityAssociation(_ addresses: [IPv6Address]) -> DHCPv6Option {
        .iaNA(DHCPv6IANA(iaid: iaid, t1: 0, t2: 0, options: addresses.map {
            .iaAddress(DHCPv6IAAddress(address: $0, preferredLifetime: 0, validLifetime: 0))
        }))
    }

    /// The message for the current state, with the current transaction id and an Elapsed Time measured from the
    /// exchange's first transmission (0 in that one, RFC 8415 §21.9). nil in states that send nothing.
    func makeMessage(now: Instant, exchange: DHCPv6Retransmission) -> DHCPv6Message? {
        let elapsed = DHCPv6Option.elapsedTime(hundredthsOfSecond: exchange.elapsedHundredths(now: now))
        let client = DHCPv6Option.clientIdentifier(duid)
        let server = target.server.map(DHCPv6Option.serverIdentifier)
        let type: DHCPv6MessageType
        var options: [DHCPv6Option]
        switch state {
        case .soliciting:
            // §18.2.1: Client ID, IA_NA (no addresses), ORO, Elapsed Time, Rapid Commit when enabled.
            type = .solicit
            options = [client, identityAssociation([]), optionRequest(informationRequest: false), elapsed]
            if configuration.rapidCommit { options.append(.rapidCommit) }
        case .requesting:
            // §18.2.2: Client ID, Server ID, the IA_NA with the advertised addresses, ORO, Elapsed Time.
            type = .request
            options = [client] + [server].compactMap { $0 } + [identityAssociation(target.addresses),
                                                              optionRequest(informationRequest: false), elapsed]
        case .renewing:
            // §18.2.4: as Request, to the server that granted the binding.
            type = .renew
            options = [client] + [server].compactMap { $0 } + [identityAssociation(target.addresses),
                                                              optionRequest(informationRequest: false), elapsed]
        case .rebinding:
            // §18.2.5: no Server ID.
            type = .rebind
            options = [client, identityAssociation(target.addresses), optionRequest(informationRequest: false), elapsed]
        case .releasing:
            // §18.2.7: Client ID, Server ID, the IA_NA with the released addresses, Elapsed Time; no ORO (App. C).
            type = .release
            options = [client] + [server].compactMap { $0 } + [identityAssociation(target.addresses), elapsed]
        case .declining:
            // §18.2.8: as Release, with the declined addresses.
            type = .decline
            options = [client] + [server].compactMap { $0 } + [identityAssociation(target.addresses), elapsed]
        case .informing:
            // §18.2.6: Client ID (SHOULD), ORO with the Information Refresh Time, Elapsed Time; no IA.
            type = .informationRequest
            options = [client, optionRequest(informationRequest: true), elapsed]
        case .idle, .bound, .released, .informed:
            return nil
        }
        return DHCPv6Message(messageType: type, transactionID: transactionID, options: options)
    }
}
