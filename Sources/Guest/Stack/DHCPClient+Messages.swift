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
    }

    /// Option 61: hardware type 1 and the MAC (RFC 2132 §9.14).
    var clientIdentifier: DHCPOption { .clientIdentifier(mac) }

    /// The options every DISCOVER and REQUEST carries after 53 (and 50/54): 61, 55, 57 and 12 when set.
    var commonOptions: [DHCPOption] {
        var options: [DHCPOption] = [clientIdentifier,
                                     .parameterRequestList(configuration.parameterRequestList),
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

    /// A BOOTREQUEST with our xid and chaddr, broadcast flag off (macvtap delivers unicast to our MAC, RFC 2131 §4.1).
    func baseMessage(seconds: UInt16, clientAddress: IPv4Address, options: [DHCPOption]) -> DHCPMessage {
        DHCPMessage(op: .bootRequest, transactionID: transactionID, seconds: seconds, flags: 0,
                    clientAddress: clientAddress, clientHardwareAddress: mac, options: options)
    }

    /// DHCPDISCOVER (RFC 2131 §4.4.1).
    func makeDiscover(seconds: UInt16) -> DHCPMessage {
        baseMessage(seconds: seconds, clientAddress: .any, options: [.messageType(.discover)] + commonOptions)
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
        }
    }

    /// DHCPRELEASE (RFC 2131 §4.4.6): ciaddr set, option 54, secs 0.
    func makeRelease(lease: DHCPLease) -> DHCPMessage {
        baseMessage(seconds: 0, clientAddress: lease.address,
                    options: [.messageType(.release), .serverIdentifier(lease.server), clientIdentifier])
    }
}
