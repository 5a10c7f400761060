import Wire

/// Whom the stack pings over IPv6 (`--ping6`).
public enum IPv6PingTarget: Sendable, Equatable {
    /// The first default router learned from a Router Advertisement (its link-local address), once it is known.
    case router
    /// A fixed address: a link-local one is pinged once our link-local address is preferred, any other once a
    /// global address (SLAAC or DHCPv6) is preferred.
    case address(IPv6Address)
}

/// The guest's IPv6 host settings. Defaults are the protocol constants of RFC 4861 §10, RFC 4862 §5.1 and
/// RFC 3810 §9.
public struct IPv6Configuration: Sendable, Equatable {
    /// IPv6 runs at all (link-local, DAD, MLD, router discovery, SLAAC).
    public var enabled = true
    /// Modified EUI-64 or RFC 7217 stable identifiers (`--ipv6-iid stable`).
    public var interfaceIdentifier: InterfaceIdentifierMode = .eui64
    /// DupAddrDetectTransmits: Neighbor Solicitations per tentative address; 0 disables DAD. RFC 4862 §5.1.
    public var dupAddrDetectTransmits = 1
    /// RetransTimer until a Router Advertisement says otherwise (RETRANS_TIMER, RFC 4861 §10).
    public var retransTimer: Duration = .seconds(1)
    /// BaseReachableTime until a Router Advertisement says otherwise (REACHABLE_TIME, RFC 4861 §10).
    public var reachableTime: Duration = .seconds(30)
    /// MAX_RTR_SOLICITATION_DELAY: the random delay before the first solicitation and before DAD's first NS.
    public var maxRtrSolicitationDelay: Duration = .seconds(1)
    /// RTR_SOLICITATION_INTERVAL. RFC 4861 §10.
    public var rtrSolicitationInterval: Duration = .seconds(4)
    /// MAX_RTR_SOLICITATIONS. RFC 4861 §10.
    public var maxRtrSolicitations = 3
    /// MLD Robustness Variable: state-change reports are sent this many times. RFC 3810 §9.1.
    public var robustness = 2
    /// MLD Unsolicited Report Interval: the upper bound of the random gap between state-change reports. RFC 3810 §9.11.
    public var unsolicitedReportInterval: Duration = .seconds(1)
    /// Pinged (with `StackConfiguration.pingInterval`/`pingTimeout`) once a source address is usable.
    public var pingTargets: [IPv6PingTarget] = []
    /// Echo requests per IPv6 target.
    public var pingCount = 3

    public init(enabled: Bool = true, interfaceIdentifier: InterfaceIdentifierMode = .eui64,
                pingTargets: [IPv6PingTarget] = [], pingCount: Int = 3) {
        self.enabled = enabled
        self.interfaceIdentifier = interfaceIdentifier
        self.pingTargets = pingTargets
        self.pingCount = pingCount
    }
}
