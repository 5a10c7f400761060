import Wire

/// The client's messages, field by field as RFC 2131 Table 5 lists them.
extension DHCPClient {
    /// Which DHCPREQUEST: the three differ in ciaddr and in options 50 and 54 (RFC 2131 §4.3.2, Table 5).
    enum RequestKind {
        /// After an OFFER: ciaddr 0, option 50 = offered address, option 54 = the chosen server.
        case selecting
        /// T1 reached: ciaddr = our address, unicast, no 50 or 54.
        case renewing(DHCPLease)
        /// T2 reached: ciaddr = our address, broadcast, no 50 or 54.
        case rebinding(DHCPLease)
        /// INIT-REBOOT: ciaddr 0, broadcast, option 50 = the remembered address, no 54.
        case rebooting(IPv4Address)
    }

    /// Option 61 as configured (RFC 2132 §9.14, RFC 4361); none for an invalid raw value.
    var clientIdentifierOptions: [DHCPOption] {
        configuration.clientIdentifier.option(mac: mac).map { [$0] } ?? []
    }

    /// Option 55: the configured list, with 108 added when `ipv6OnlyPreferred` is set (RFC 8925 §3.2).
    var parameterRequestList: [DHCPOptionCode] {
        var codes = configuration.parameterRequestList
        if configuration.ipv6OnlyPreferred, !codes.contains(.ipv6OnlyPreferred) { codes.append(.ipv6OnlyPreferred) }
        return codes
    }

    /// The options every DISCOVER and REQUEST carries after 53 (and 50/54/80): 61, 55, 57 and 12 when set.
    var commonOptions: [DHCPOption] {
        var options: [DHCPOption] = clientIdentifierOptions + [
            .parameterRequestList(parameterRequestList),
            .maximumMessageSize(configuration.maximumMessageSize)]
        if let hostname {
            let name = Self.truncated(hostname, toUTF8Bytes: 255)
            if !name.isEmpty { options.append(.hostName(name)) }
        }
        return options
    }

    /// `text` cut to at most `limit` UTF-8 bytes on a Unicode scalar boundary, so no character is split and no input
    /// traps (option 12 holds at most 255 bytes, RFC 2132 §3.14).
    static func truncated(_ text: String, toUTF8Bytes limit: Int) -> String {
        var length = 0
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            guard length + width <= limit else { break }
            length += width
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// A BOOTREQUEST with our xid and chaddr, broadcast flag off (macvtap delivers unicast to our MAC, RFC 2131 §4.1)
    /// unless `requestBroadcastReplies`; never in a message from a bound address (ciaddr set).
    func baseMessage(seconds: UInt16, clientAddress: IPv4Address, options: [DHCPOption]) -> DHCPMessage {
        let broadcast = configuration.requestBroadcastReplies && clientAddress == .any
        return DHCPMessage(op: .bootRequest, transactionID: transactionID, seconds: seconds, flags: broadcast ? 0x8000 : 0,
                    clientAddress: clientAddress, clientHardwareAddress: mac, options: options)
    }

    /// DHCPDISCOVER (RFC 2131 §4.4.1): option 50 when `requestedAddress` is set and not declined, option 80 with
    /// `rapidCommit` (RFC 4039 §3.1).
    func makeDiscover(seconds: UInt16) -> DHCPMessage {
        var options: [DHCPOption] = [.messageType(.discover)]
        if let requested = configuration.requestedAddress, !declinedAddresses.contains(requested) {
            options.append(.requestedIPAddress(requested))
        }
        if configuration.rapidCommit { options.append(.rapidCommit) }
        return baseMessage(seconds: seconds, clientAddress: .any, options: options + commonOptions)
    }

    /// DHCPREQUEST in SELECTING, RENEWING or REBINDING (RFC 2131 §4.3.2, §4.4.1, §4.4.5).
    func makeRequest(kind: RequestKind, now: Instant) -> DHCPMessage {
        switch kind {
        case .selecting:
            // RFC 2131 §4.4.1: the same `secs` as the DISCOVER.
            baseMessage(seconds: discoverSeconds, clientAddress: .any,
                        options: [.messageType(.request), .requestedIPAddress(offeredAddress),
                                  .serverIdentifier(offerServer)] + commonOptions)
        case let .renewing(lease), let .rebinding(lease):
            baseMessage(seconds: seconds(now: now), clientAddress: lease.address,
                        options: [.messageType(.request)] + commonOptions)
        case let .rebooting(address):
            baseMessage(seconds: seconds(now: now), clientAddress: .any,
                        options: [.messageType(.request), .requestedIPAddress(address)] + commonOptions)
        }
    }

    /// DHCPRELEASE (RFC 2131 §4.4.6): ciaddr set, option 54, secs 0.
    func makeRelease(lease: DHCPLease) -> DHCPMessage {
        baseMessage(seconds: 0, clientAddress: lease.address,
                    options: [.messageType(.release), .serverIdentifier(lease.server)] + clientIdentifierOptions)
    }

    /// DHCPDECLINE (RFC 2131 §4.4.4, Table 5): ciaddr 0, secs 0, the current xid, option 50 = the address, 54 = the
    /// server, 61, and 56 saying why; no 55, 57 or 12 (Table 5: MUST NOT).
    func makeDecline(address: IPv4Address, server: IPv4Address, reason: String) -> DHCPMessage {
        baseMessage(seconds: 0, clientAddress: .any,
                    options: [.messageType(.decline), .requestedIPAddress(address), .serverIdentifier(server)]
                        + clientIdentifierOptions + [.string(.message, Self.truncated(reason, toUTF8Bytes: 255))])
    }
}
