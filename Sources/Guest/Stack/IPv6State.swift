import Wire

/// Everything the IPv6 host side of `NetworkStack` keeps: addresses, multicast memberships, the neighbour cache,
/// routers and prefixes, the ping6 sessions, and the hooks the DHCPv6 client uses. The protocol logic lives in
/// `NetworkStack+IPv6.swift`, `+NDP`, `+MLD` and in the sans-IO parts held here.
struct IPv6State {
    var configuration: IPv6Configuration
    var identifiers: InterfaceIdentifierGenerator
    var random: SeededGenerator
    /// `start(now:)` ran (and IPv6 is enabled in the configuration).
    var running = false
    /// Our link-local address was a duplicate: IPv6 is off on the interface (RFC 4862 §5.4.5).
    var disabled = false
    var addresses: IPv6AddressTable
    var multicast: MulticastListener
    var neighbors: NeighborCacheV6
    var routers: RouterDiscovery
    var pinger: EchoSessions<IPv6Address>
    /// Configured ping6 targets not started yet (waiting for a usable source or a router).
    var pendingPings: [IPv6PingTarget]
    /// The M/O flags last reported.
    var reportedFlags = (managed: false, other: false)
    /// CurHopLimit: the hop limit of our unicast packets; a Router Advertisement may change it (§6.3.4).
    var hopLimit: UInt8 = 64
    /// The link MTU; an RA's MTU option may lower it (never below 1280, RFC 8200 §5).
    var linkMTU = 1500
    /// BaseReachableTime (§6.3.4).
    var baseReachableTime: Duration
    /// Paces the ICMPv6 errors we send (RFC 4443 §2.4 f).
    var errorLimiter = ICMPErrorRateLimiter()
    /// UDP ports with a receiver (the DHCPv6 client binds 546).
    var udpListeners: [UInt16: (UDPv6Datagram, Instant) -> Void] = [:]
    /// Called with every IPv6 event as it is emitted (before `drainEvents`): the DHCPv6 client's hook.
    var observer: ((IPv6Event, Instant) -> Void)?

    init(configuration: IPv6Configuration, mac: MACAddress, pingInterval: Duration, pingTimeout: Duration,
         random: SeededGenerator) {
        self.configuration = configuration
        var random = random
        identifiers = InterfaceIdentifierGenerator(mode: configuration.interfaceIdentifier, mac: mac)
        addresses = IPv6AddressTable(dupAddrDetectTransmits: configuration.dupAddrDetectTransmits,
                                     retransTimer: configuration.retransTimer)
        multicast = MulticastListener(robustness: configuration.robustness,
                                      unsolicitedReportInterval: configuration.unsolicitedReportInterval)
        baseReachableTime = configuration.reachableTime
        neighbors = NeighborCacheV6(retransTimer: configuration.retransTimer,
                                    reachableTime: Self.randomized(configuration.reachableTime, using: &random))
        routers = RouterDiscovery(maxRtrSolicitations: configuration.maxRtrSolicitations,
                                  rtrSolicitationInterval: configuration.rtrSolicitationInterval)
        pinger = EchoSessions(interval: pingInterval, timeout: pingTimeout)
        pendingPings = configuration.pingTargets
        self.random = random
    }

    /// ReachableTime: BaseReachableTime times a random factor in MIN_RANDOM_FACTOR…MAX_RANDOM_FACTOR (0.5…1.5).
    /// RFC 4861 §6.3.2.
    static func randomized(_ base: Duration, using random: inout SeededGenerator) -> Duration {
        random.duration(in: base / 2 ... base * 3 / 2)
    }

    /// A random delay in 0…MAX_RTR_SOLICITATION_DELAY (RFC 4861 §6.3.7, RFC 4862 §5.4.2).
    mutating func initialDelay() -> Duration {
        random.duration(in: .zero ... configuration.maxRtrSolicitationDelay)
    }

    /// Our link-local address once DAD passed.
    var linkLocalAddress: IPv6Address? {
        addresses.first { $0.origin == .linkLocal && $0.isAssigned }?.address
    }

    /// Source address selection (RFC 6724 §5, reduced to what a one-interface host needs): a link-local or
    /// link-scope multicast destination gets our link-local address; any other destination a global address,
    /// preferred before deprecated (rule 3), longest matching prefix first (rule 8). Nil when none is usable.
    func source(for destination: IPv6Address) -> IPv6Address? {
        if destination.isLinkLocal || (destination.multicastScope.map { $0 <= 2 } ?? false) { return linkLocalAddress }
        let candidates = addresses.entries.filter { $0.isAssigned && $0.origin != .linkLocal }
        func commonPrefix(_ address: IPv6Address) -> Int {
            let high = (address.high ^ destination.high).leadingZeroBitCount
            return high < 64 ? high : 64 + (address.low ^ destination.low).leadingZeroBitCount
        }
        return candidates.min { a, b in
            if (a.state == .preferred) != (b.state == .preferred) { return a.state == .preferred }
            return commonPrefix(a.address) > commonPrefix(b.address)
        }?.address
    }

    var nextDeadline: Instant? {
        guard running, !disabled else { return nil }
        return addresses.nextDeadline.earliest(multicast.nextDeadline).earliest(neighbors.nextDeadline)
            .earliest(routers.nextDeadline).earliest(pinger.nextDeadline)
    }
}

/// A UDP datagram received over IPv6, as handed to a listener (`NetworkStack.listenUDPv6`).
public struct UDPv6Datagram: Sendable, Equatable {
    public var source: IPv6Address
    public var destination: IPv6Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// The Ethernet source of the frame.
    public var sourceMAC: MACAddress
    public var payload: [UInt8]
}
