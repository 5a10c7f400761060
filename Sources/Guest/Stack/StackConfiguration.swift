import Wire

/// Whom the stack pings once the lease is bound.
public enum PingTarget: Sendable, Equatable {
    /// The router the lease names (option 3); when the lease has none the session ends at once with
    /// `pingsFinished(target: 0.0.0.0, sent: 0, received: 0)`.
    case router
    case address(IPv4Address)
}

/// How the guest's network stack is set up.
public struct StackConfiguration: Sendable {
    /// The guest's MAC: the Ethernet source, the DHCP chaddr and client identifier.
    public var mac: MACAddress
    /// Sent as DHCP option 12 (RFC 2132 §3.14) when set.
    public var hostname: String?
    /// Pinged once the first lease is bound.
    public var pingTargets: [PingTarget]
    /// Echo requests per target.
    public var pingCount: Int
    /// Time between two echo requests to one target.
    public var pingInterval: Duration = .seconds(1)
    /// How long an echo request waits for its reply.
    public var pingTimeout: Duration = .seconds(1)
    /// The DHCP client's timings (retransmission, retries).
    public var dhcp = DHCPClient.Configuration()
    /// The IPv6 host side (link-local, DAD, MLDv2, router discovery, SLAAC, DHCPv6, ping6). Off in a bare
    /// configuration, so that a stack built for IPv4 (the IPv4 tests, replays of captures whose sidecar records no
    /// IPv6 setting) sends exactly the IPv4 bytes it always did; TapVM turns it on for runs (`--no-ipv6` keeps it
    /// off) and records the setting in capture sidecars.
    public var ipv6 = IPv6Configuration(enabled: false)
    /// The DHCPv6 client's identity, options and timings (used only with IPv6 on). RFC 8415.
    public var dhcpv6 = DHCPv6Client.Configuration()

    public init(mac: MACAddress, hostname: String? = nil, pingTargets: [PingTarget] = [], pingCount: Int = 3) {
        self.mac = mac
        self.hostname = hostname
        self.pingTargets = pingTargets
        self.pingCount = pingCount
    }
}
