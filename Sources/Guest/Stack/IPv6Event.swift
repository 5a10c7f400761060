import Wire

/// Where an IPv6 address came from.
public enum IPv6AddressOrigin: String, Sendable, Equatable {
    /// fe80::/64 and our interface identifier. RFC 4862 §5.3.
    case linkLocal = "link-local"
    /// A Router Advertisement's autonomous prefix and our interface identifier. RFC 4862 §5.5.3.
    case slaac
    /// Leased by the DHCPv6 client (IA_NA). RFC 8415 §18.2.10.1.
    case dhcpv6
}

/// The state of one of our addresses. RFC 4862 §2 (tentative, preferred, deprecated), §5.4.5 (duplicate).
public enum IPv6AddressState: String, Sendable, Equatable {
    /// Duplicate address detection is running; the address is not used.
    case tentative
    /// Usable, DAD passed.
    case preferred
    /// The preferred lifetime ran out: still received on, not chosen as a source for new communication.
    case deprecated
    /// DAD found another node using it: never used.
    case duplicate
    /// The valid lifetime ran out (or the DHCPv6 client gave it up): forgotten.
    case removed
}

/// One of our addresses as reported: what it is, where it came from, and when.
public struct IPv6AddressInfo: Sendable, Equatable {
    public var address: IPv6Address
    public var prefixLength: Int
    public var origin: IPv6AddressOrigin
    public var state: IPv6AddressState
    /// When the address was added (its DAD started); `changedAt - createdAt` is how long DAD took.
    public var createdAt: Instant
    /// When it entered `state`.
    public var changedAt: Instant
    /// Valid lifetime left at `changedAt`; nil for infinite.
    public var validLifetime: Duration?
    /// Preferred lifetime left at `changedAt`; nil for infinite.
    public var preferredLifetime: Duration?
}

/// A router heard from in a valid Router Advertisement, with what it advertised. RFC 4861 §6.3.4, RFC 8106.
public struct IPv6Router: Sendable, Equatable {
    /// Its link-local address (the RA's source).
    public var address: IPv6Address
    /// From the source link-layer address option, if any.
    public var linkLayerAddress: MACAddress?
    /// The Router Lifetime of its last RA; zero means it is not a default router.
    public var lifetime: Duration
    /// M: addresses are available through DHCPv6.
    public var managed: Bool
    /// O: other configuration is available through DHCPv6.
    public var other: Bool
    /// Its MTU option, when valid (1280 or more, no more than the link's).
    public var mtu: Int?
    /// RDNSS addresses whose lifetime has not run out, in advertised order. RFC 8106 §5.1.
    public var dnsServers: [IPv6Address]
    /// DNSSL domains whose lifetime has not run out. RFC 8106 §5.2.
    public var searchList: [String]
}

/// What the IPv6 host side did, for TapVM and the DHCPv6 client. Carried by `StackEvent.ipv6`.
public enum IPv6Event: Sendable, Equatable {
    /// An address was added (tentative) or changed state.
    case address(IPv6AddressInfo)
    /// Our link-local address is a duplicate: IPv6 is off on the interface from now on. RFC 4862 §5.4.5.
    case disabled(reason: String)
    /// A router was learned, or what it advertises changed (lifetime, flags, MTU, DNS servers, search list).
    case router(IPv6Router)
    /// A router's lifetime and all its RDNSS/DNSSL lifetimes ran out, or it stopped being a router (NA R=0).
    case routerRemoved(IPv6Address)
    /// The multicast groups the guest listens to changed: the whole list, sorted, ff02::1 included. Their MACs
    /// (`IPv6Address.multicastMAC`) must be accepted by the host-side macvtap (MACVTAP-FACTS §4).
    case multicastGroups([IPv6Address])
    /// The Managed/Other flags, OR-ed over the routers heard, changed (both start false): the DHCPv6 client's cue
    /// (RFC 4861 §4.2, RFC 8415 §18.2.6 Information-request when only O is set).
    case configurationFlags(managed: Bool, other: Bool)
    case pingReply(target: IPv6Address, sequence: UInt16, roundTrip: Duration)
    case pingTimeout(target: IPv6Address, sequence: UInt16)
    case pingsFinished(target: IPv6Address, sent: Int, received: Int)
}
