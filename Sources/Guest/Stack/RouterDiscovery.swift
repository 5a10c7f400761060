import Wire

/// The host side of router discovery (RFC 4861 §6.3): router solicitations at start, the default router list,
/// the prefix list (on-link prefixes), and what routers advertise besides (M/O flags, MTU, RDNSS and DNSSL with
/// their lifetimes, RFC 8106 §5.3.1).
///
/// Sans-IO: `startSolicitations`, `poll(now:)` (solicitations due, expiries), `update(from:)` for a validated RA.
/// Changes come back as `IPv6Router` values to report.
///
/// Bounded against a flood of advertisements: at most `maximumRouters` routers, `maximumPrefixes` on-link prefixes
/// and `maximumDNSOptions` RDNSS addresses and DNSSL names per router; anything new beyond is ignored and counted in
/// `overLimit` (the sizes are an implementation choice; these follow Linux's spirit).
struct RouterDiscovery: Sendable {
    struct RouterEntry: Sendable {
        var address: IPv6Address
        var linkLayerAddress: MACAddress?
        var lifetime: Duration
        /// Default-router expiry; nil once it ran out (or for lifetime 0).
        var defaultUntil: Instant?
        var managed = false
        var other = false
        var mtu: Int?
        var dnsServers: [(address: IPv6Address, until: Instant?)] = []
        var searchList: [(name: String, until: Instant?)] = []

        var view: IPv6Router {
            IPv6Router(address: address, linkLayerAddress: linkLayerAddress, lifetime: lifetime, managed: managed,
                       other: other, mtu: mtu, dnsServers: dnsServers.map(\.address), searchList: searchList.map(\.name))
        }
        var isLive: Bool { defaultUntil != nil || !dnsServers.isEmpty || !searchList.isEmpty }
    }

    var maxRtrSolicitations: Int
    var rtrSolicitationInterval: Duration
    private(set) var solicitationsSent = 0
    private(set) var nextSolicitation: Instant?
    /// In the order they were first heard.
    private(set) var routers: [RouterEntry] = []
    /// On-link prefixes and when they expire (nil: infinite). RFC 4861 §6.3.4.
    private(set) var onLinkPrefixes: [IPv6Prefix: Instant?] = [:]
    var maximumRouters = 8
    var maximumPrefixes = 16
    /// RDNSS addresses, and separately DNSSL names, kept per router (RFC 8106 §5.3.1 suggests three servers).
    var maximumDNSOptions = 3
    /// Routers, prefixes, servers and names ignored because their list was full.
    private(set) var overLimit = 0

    init(maxRtrSolicitations: Int, rtrSolicitationInterval: Duration) {
        self.maxRtrSolicitations = maxRtrSolicitations
        self.rtrSolicitationInterval = rtrSolicitationInterval
    }

    /// Schedules the first solicitation at `at` (after the random 0…MAX_RTR_SOLICITATION_DELAY, §6.3.7).
    mutating func startSolicitations(at: Instant) {
        solicitationsSent = 0
        nextSolicitation = maxRtrSolicitations > 0 ? at : nil
    }

    /// A valid RA with a non-zero router lifetime ends the solicitations (§6.3.7).
    mutating func stopSolicitations() { nextSolicitation = nil }

    /// Default routers (lifetime not run out), in the order they were heard. §6.3.6.
    var defaultRouters: [IPv6Address] { routers.filter { $0.defaultUntil != nil }.map(\.address) }

    /// M and O, OR-ed over the routers in the list.
    var flags: (managed: Bool, other: Bool) {
        (routers.contains(where: \.managed), routers.contains(where: \.other))
    }

    func router(_ address: IPv6Address) -> IPv6Router? { routers.first { $0.address == address }?.view }

    func isOnLink(_ address: IPv6Address, now: Instant) -> Bool {
        onLinkPrefixes.contains { prefix, until in prefix.contains(address) && (until.map { $0 > now } ?? true) }
    }

    /// What `poll` found due.
    struct Due: Sendable {
        var sendSolicitation = false
        var changed: [IPv6Router] = []
        var removed: [IPv6Address] = []
    }

    mutating func poll(now: Instant) -> Due {
        var due = Due()
        if let next = nextSolicitation, next <= now {
            due.sendSolicitation = true
            solicitationsSent += 1
            nextSolicitation = solicitationsSent < maxRtrSolicitations ? now + rtrSolicitationInterval : nil
        }
        for (prefix, until) in onLinkPrefixes { if let until, until <= now { onLinkPrefixes[prefix] = nil } }
        for index in routers.indices {
            let before = routers[index].view
            if let until = routers[index].defaultUntil, until <= now {
                routers[index].defaultUntil = nil
                routers[index].lifetime = .zero
            }
            routers[index].dnsServers.removeAll { $0.until.map { $0 <= now } ?? false }
            routers[index].searchList.removeAll { $0.until.map { $0 <= now } ?? false }
            if routers[index].isLive, routers[index].view != before { due.changed.append(routers[index].view) }
        }
        due.removed = routers.filter { !$0.isLive }.map(\.address)
        routers.removeAll { !$0.isLive }
        return due
    }

    var nextDeadline: Instant? {
        var earliest = nextSolicitation
        for until in onLinkPrefixes.values { earliest = earliest.earliest(until) }
        for router in routers {
            earliest = earliest.earliest(router.defaultUntil)
            for server in router.dnsServers { earliest = earliest.earliest(server.until) }
            for name in router.searchList { earliest = earliest.earliest(name.until) }
        }
        return earliest
    }

    /// Applies a validated RA from `source`: router lifetime (§6.3.4), flags, MTU (already checked by the caller),
    /// RDNSS and DNSSL (RFC 8106 §5.3.1: lifetime 0 removes, a new value replaces), on-link prefixes (§6.3.4:
    /// valid lifetime 0 removes; the link-local prefix is ignored). Returns the router's new view if it changed
    /// (or is new), and whether it was removed (lifetime 0 and nothing else advertised).
    mutating func update(from source: IPv6Address, advertisement ra: RouterAdvertisement, mtu: Int?, now: Instant)
        -> (changed: IPv6Router?, removed: Bool) {
        let options = ra.options
        let index = routers.firstIndex { $0.address == source }
        var entry = index.map { routers[$0] } ?? RouterEntry(address: source, lifetime: .zero)
        let before = index.map { routers[$0].view }
        entry.linkLayerAddress = options.sourceLinkLayerAddress ?? entry.linkLayerAddress
        entry.lifetime = .seconds(Int64(ra.routerLifetime))
        entry.defaultUntil = ra.routerLifetime == 0 ? nil : now + entry.lifetime
        entry.managed = ra.managedAddressConfiguration
        entry.other = ra.otherConfiguration
        if let mtu { entry.mtu = mtu }
        for option in options {
            switch option {
            case let .recursiveDNSServer(lifetime, addresses):
                for address in addresses {
                    entry.dnsServers.removeAll { $0.address == address }
                    guard lifetime != 0 else { continue }
                    guard entry.dnsServers.count < maximumDNSOptions else { overLimit += 1; continue }
                    entry.dnsServers.append((address, Self.expiry(lifetime, now: now)))
                }
            case let .dnsSearchList(lifetime, names):
                for name in names {
                    entry.searchList.removeAll { $0.name == name }
                    guard lifetime != 0 else { continue }
                    guard entry.searchList.count < maximumDNSOptions else { overLimit += 1; continue }
                    entry.searchList.append((name, Self.expiry(lifetime, now: now)))
                }
            case let .prefixInformation(information) where information.onLink:
                guard let prefix = information.ipv6Prefix, prefix != .linkLocal, !prefix.address.isLinkLocal else { continue }
                if information.validLifetime == 0 {
                    onLinkPrefixes.removeValue(forKey: prefix)
                } else if onLinkPrefixes[prefix] == nil && onLinkPrefixes.count >= maximumPrefixes {
                    overLimit += 1
                } else {
                    onLinkPrefixes[prefix] = .some(Self.expiry(information.validLifetime, now: now))
                }
            default:
                continue
            }
        }
        if let index {
            if entry.isLive { routers[index] = entry } else { routers.remove(at: index) }
        } else if entry.isLive {
            guard routers.count < maximumRouters else {
                overLimit += 1
                return (nil, false)
            }
            routers.append(entry)
        }
        if !entry.isLive { return (nil, before != nil) }
        return (entry.view == before ? nil : entry.view, false)
    }

    /// The router at `address` stopped being one (an NA with R=0, §7.2.5) or became unreachable: it leaves the
    /// default router list. True if it was there.
    mutating func removeDefault(_ address: IPv6Address) -> IPv6Router? {
        guard let index = routers.firstIndex(where: { $0.address == address && $0.defaultUntil != nil }) else { return nil }
        routers[index].defaultUntil = nil
        routers[index].lifetime = .zero
        let view = routers[index].view
        if !routers[index].isLive { routers.remove(at: index) }
        return view
    }

    /// A lifetime in seconds as an expiry; 0xFFFFFFFF is infinity (RFC 4861 §4.6.2, RFC 8106 §5.1).
    static func expiry(_ seconds: UInt32, now: Instant) -> Instant? {
        seconds == .max ? nil : now + .seconds(Int64(seconds))
    }
}
