import Wire

/// One address of an IA_NA binding with its lifetimes. RFC 8415 §21.6 (IA Address option), §12.
///
/// Lifetimes are seconds as the server sent them, 0xFFFFFFFF meaning infinity (RFC 8415 §7.7); they run from
/// `acquiredAt`, the instant the Reply that granted or last updated them was received.
public struct DHCPv6LeasedAddress: Sendable, Equatable, CustomStringConvertible {
    public var address: IPv6Address
    /// Seconds; 0xFFFFFFFF = infinity.
    public var preferredLifetime: UInt32
    /// Seconds; 0xFFFFFFFF = infinity.
    public var validLifetime: UInt32
    /// When the Reply carrying these lifetimes was received.
    public var acquiredAt: Instant

    public init(address: IPv6Address, preferredLifetime: UInt32, validLifetime: UInt32, acquiredAt: Instant) {
        self.address = address
        self.preferredLifetime = preferredLifetime
        self.validLifetime = validLifetime
        self.acquiredAt = acquiredAt
    }

    /// When the address becomes deprecated (RFC 4862 §5.5.4); nil for an infinite preferred lifetime.
    public var preferredUntil: Instant? { DHCPv6Lease.deadline(seconds: preferredLifetime, from: acquiredAt) }
    /// When the address must be removed from the interface; nil for an infinite valid lifetime.
    public var validUntil: Instant? { DHCPv6Lease.deadline(seconds: validLifetime, from: acquiredAt) }

    public var description: String {
        "\(address) preferred \(DHCPv6Lease.describe(preferredLifetime)) valid \(DHCPv6Lease.describe(validLifetime))"
    }
}

/// An IA_NA binding as the DHCPv6 client holds it after a Reply (RFC 8415 §12.1, §18.2.10.1, §21.4): the server
/// that granted it, T1 and T2, the addresses and the configuration options that came with it.
public struct DHCPv6Lease: Sendable, Equatable, CustomStringConvertible {
    /// OPTION_SERVERID of the server holding the binding (RFC 8415 §21.3): Renew goes to it.
    public var serverIdentifier: DUID
    /// The IPv6 source address of the Reply (usually the server's link-local address), for reports.
    public var serverAddress: IPv6Address
    /// OPTION_UNICAST (RFC 8415 §21.12) when the server sent one and the client accepts unicast.
    public var serverUnicast: IPv6Address?
    public var iaid: UInt32
    /// T1 from `acquiredAt`; nil = never renew (0xFFFFFFFF, or every preferred lifetime infinite).
    public var renewalTime: Duration?
    /// T2 from `acquiredAt`; nil = never rebind.
    public var rebindingTime: Duration?
    /// When the last Reply updating the binding was received.
    public var acquiredAt: Instant
    public var addresses: [DHCPv6LeasedAddress]
    /// OPTION_DNS_SERVERS (RFC 3646 §3).
    public var dnsServers: [IPv6Address]
    /// OPTION_DOMAIN_LIST (RFC 3646 §4).
    public var domainList: [String]

    public init(serverIdentifier: DUID, serverAddress: IPv6Address, serverUnicast: IPv6Address? = nil, iaid: UInt32,
                renewalTime: Duration?, rebindingTime: Duration?, acquiredAt: Instant,
                addresses: [DHCPv6LeasedAddress], dnsServers: [IPv6Address] = [], domainList: [String] = []) {
        self.serverIdentifier = serverIdentifier
        self.serverAddress = serverAddress
        self.serverUnicast = serverUnicast
        self.iaid = iaid
        self.renewalTime = renewalTime
        self.rebindingTime = rebindingTime
        self.acquiredAt = acquiredAt
        self.addresses = addresses
        self.dnsServers = dnsServers
        self.domainList = domainList
    }

    /// When the client sends Renew (T1, RFC 8415 §18.2.4); nil = never.
    public var renewAt: Instant? { renewalTime.map { acquiredAt + $0 } }
    /// When the client sends Rebind (T2, RFC 8415 §18.2.5); nil = never.
    public var rebindAt: Instant? { rebindingTime.map { acquiredAt + $0 } }
    /// When the last valid lifetime ends (the MRD of Rebind, RFC 8415 §18.2.5); nil when one is infinite.
    public var expiresAt: Instant? {
        var latest = acquiredAt
        for address in addresses {
            guard let until = address.validUntil else { return nil }
            latest = max(latest, until)
        }
        return latest
    }

    /// The earliest end of a valid lifetime among the addresses; nil when none ends.
    public var nextAddressExpiry: Instant? { addresses.compactMap(\.validUntil).min() }

    /// `from + seconds`, nil for 0xFFFFFFFF (infinity, RFC 8415 §7.7).
    public static func deadline(seconds: UInt32, from start: Instant) -> Instant? {
        seconds == .max ? nil : start + .seconds(Int64(seconds))
    }

    /// T1 and T2 for an IA_NA: the server's values, or where it sent 0 ("left to the client", RFC 8415 §21.4) 0.5
    /// and 0.8 of the shortest preferred lifetime, as §21.4 recommends. `shortestPreferred` nil means every preferred
    /// lifetime is infinite; 0xFFFFFFFF from the server means never. When the client picks one of them, it is kept
    /// on the right side of the server's other value so that T1 ≤ T2.
    public static func timers(t1: UInt32, t2: UInt32, shortestPreferred: Duration?) -> (renewal: Duration?, rebinding: Duration?) {
        func given(_ seconds: UInt32) -> Duration? { seconds == .max ? nil : .seconds(Int64(seconds)) }
        var renewal = t1 == 0 ? shortestPreferred.map { $0 / 2 } : given(t1)
        var rebinding = t2 == 0 ? shortestPreferred.map { $0 * 4 / 5 } : given(t2)
        if let r = renewal, let b = rebinding, r > b {
            if t1 == 0 { renewal = b } else { rebinding = r }
        }
        return (renewal, rebinding)
    }

    static func describe(_ seconds: UInt32) -> String { seconds == .max ? "infinite" : "\(seconds)s" }

    public var description: String {
        "IA_NA \(iaid) from \(serverIdentifier): " + addresses.map(\.description).joined(separator: ", ")
    }
}
