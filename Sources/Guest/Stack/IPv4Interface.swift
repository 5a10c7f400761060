import Wire

/// The guest's IPv4 configuration on its one interface, as a DHCP lease sets it (RFC 2131 §3.1, RFC 2132 §3).
public struct IPv4Interface: Sendable, Equatable {
    public var address: IPv4Address
    public var subnetMask: IPv4Address
    public var router: IPv4Address?
    public var dnsServers: [IPv4Address]
    /// Whether the default route is on-link (an option-121 default route via 0.0.0.0, RFC 3442 §4): every
    /// destination is then resolved with ARP directly instead of through `router`.
    public var defaultRouteIsOnLink: Bool

    public init(address: IPv4Address, subnetMask: IPv4Address, router: IPv4Address? = nil, dnsServers: [IPv4Address] = [],
                defaultRouteIsOnLink: Bool = false) {
        self.address = address
        self.subnetMask = subnetMask
        self.router = router
        self.dnsServers = dnsServers
        self.defaultRouteIsOnLink = defaultRouteIsOnLink
    }

    public init(lease: DHCPLease) {
        self.init(address: lease.address, subnetMask: lease.subnetMask, router: lease.router, dnsServers: lease.dnsServers,
                  defaultRouteIsOnLink: lease.defaultRouteIsOnLink)
    }

    /// The directed broadcast address of the subnet (RFC 919, RFC 1122 §3.2.1.3 (d)).
    public var subnetBroadcast: IPv4Address {
        IPv4Address(rawValue: address.rawValue | ~subnetMask.rawValue)
    }

    /// Whether `destination` is on the attached subnet (reachable without the router). RFC 1122 §3.3.1.1.
    public func isOnLink(_ destination: IPv4Address) -> Bool {
        destination.isSameNetwork(as: address, mask: subnetMask)
    }

    /// Whether a datagram to `destination` is for this host: our address, the limited broadcast or the subnet's
    /// directed broadcast. RFC 1122 §3.3.6.
    public func accepts(_ destination: IPv4Address) -> Bool {
        destination == address || destination == .broadcast || destination == subnetBroadcast
    }

    /// Where a datagram to `destination` goes: broadcast, on-link (the subnet, or anywhere when the default route is
    /// on-link, RFC 3442 §4), else the router.
    public func route(_ destination: IPv4Address) -> NextHop {
        if destination == .broadcast || destination == subnetBroadcast { return .broadcast }
        if isOnLink(destination) || defaultRouteIsOnLink { return .neighbor(destination) }
        if let router { return .neighbor(router) }
        return .unreachable
    }

    /// The link-layer target of an outgoing datagram.
    public enum NextHop: Sendable, Equatable {
        /// Send to the Ethernet broadcast address.
        case broadcast
        /// Resolve this on-link address with ARP and send to its MAC.
        case neighbor(IPv4Address)
        /// Off-link and no router.
        case unreachable
    }
}
