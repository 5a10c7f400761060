import Wire

/// A lease as the DHCP client holds it after a DHCPACK (RFC 2131 §4.4.1, RFC 2132 §3, §9.2, §9.11, §9.12).
///
/// The lease starts when the DHCPREQUEST that obtained it was sent (RFC 2131 §4.4.1: "the client records the lease
/// expiration time as the sum of the time at which the original request was sent and the duration of the lease"),
/// so `acquiredAt` is that instant and the three deadlines are measured from it.
public struct DHCPLease: Sendable, Equatable, CustomStringConvertible {
    public var address: IPv4Address
    public var subnetMask: IPv4Address
    public var prefixLength: Int
    /// The router to use: the next hop of the default route of option 121 when that option is present (RFC 3442
    /// §4: the Router option is then ignored), else the first router of option 3. Never 0.0.0.0: an option-121
    /// default route via 0.0.0.0 is on-link (`defaultRouteIsOnLink`), and then there is no router.
    public var router: IPv4Address?
    /// Option 6, in order of preference.
    public var dnsServers: [IPv4Address]
    /// The server identifier (option 54).
    public var server: IPv4Address
    /// The lease time in force: option 51 raised to `minimumLeaseTime` and capped by `leaseCap`.
    public var leaseTime: Duration
    /// T1 (option 58, else 0.5 × lease).
    public var renewalTime: Duration
    /// T2 (option 59, else 0.875 × lease).
    public var rebindingTime: Duration
    public var acquiredAt: Instant
    /// Option 51 as the server sent it (before the floor and the cap).
    public var offeredLeaseTime: Duration
    /// Option 3 in order of preference; empty when option 121 is present (RFC 3442 §4).
    public var routers: [IPv4Address] = []
    /// Option 28. RFC 2132 §5.3.
    public var broadcastAddress: IPv4Address?
    /// Option 15. RFC 2132 §3.17.
    public var domainName: String?
    /// Option 119 (empty when absent or malformed). RFC 3397.
    public var domainSearch: [String] = []
    /// Option 26. RFC 2132 §5.1.
    public var interfaceMTU: UInt16?
    /// Option 42. RFC 2132 §8.3.
    public var ntpServers: [IPv4Address] = []
    /// Option 121 (empty when absent or malformed). RFC 3442.
    public var classlessStaticRoutes: [DHCPClasslessRoute] = []
    /// Option 108, V6ONLY_WAIT seconds, as sent. RFC 8925 §3.1.
    public var ipv6OnlyPreferredWait: UInt32?
    /// Every option of the DHCPACK, in order, as received (for `--json` and lease files).
    public var rawOptions: [DHCPOption] = []

    public init(address: IPv4Address, subnetMask: IPv4Address, router: IPv4Address?, dnsServers: [IPv4Address],
                server: IPv4Address, leaseTime: Duration, renewalTime: Duration, rebindingTime: Duration,
                acquiredAt: Instant, offeredLeaseTime: Duration? = nil) {
        self.address = address
        self.subnetMask = subnetMask
        self.prefixLength = subnetMask.prefixLength ?? subnetMask.rawValue.nonzeroBitCount
        self.router = router
        self.routers = router.map { [$0] } ?? []
        self.dnsServers = dnsServers
        self.server = server
        self.leaseTime = leaseTime
        self.renewalTime = renewalTime
        self.rebindingTime = rebindingTime
        self.acquiredAt = acquiredAt
        self.offeredLeaseTime = offeredLeaseTime ?? leaseTime
    }

    /// The lease a DHCPACK grants, starting at `acquiredAt` (when the REQUEST was sent, RFC 2131 §4.4.1); nil when
    /// the ACK lacks the lease time (RFC 2131 Table 3: it MUST be present) or yiaddr cannot be a host's address
    /// (`isUnicastHostAddress(subnetMask:)` with the ACK's mask when it sends one).
    ///
    /// The lease time is raised to `minimumLeaseTime` and then capped at `leaseCap` (the cap wins: it is the user's
    /// explicit choice to renew quickly); T1 and T2 come from `timers(lease:renewal:rebinding:)` on that time, so a
    /// server's T1/T2 beyond the capped lease fall back to 0.5/0.875 of it. The server is option 54, else
    /// `fallbackServer`. Public so a lease file holding yiaddr and the raw options can be read back.
    public init?(acknowledgement message: DHCPMessage, acquiredAt: Instant, fallbackServer: IPv4Address = .any,
                 minimumLeaseTime: Duration = .zero, leaseCap: Duration? = nil) {
        guard message.yourAddress.isUnicastHostAddress(subnetMask: message.subnetMask),
              let seconds = message.ipAddressLeaseTime else { return nil }
        let offered = Duration.seconds(Int64(seconds))
        var leaseTime = max(offered, minimumLeaseTime)
        if let leaseCap, leaseCap > .zero { leaseTime = min(leaseTime, leaseCap) }
        let timers = Self.timers(lease: leaseTime, renewal: message.renewalTime.map { .seconds(Int64($0)) },
                                 rebinding: message.rebindingTime.map { .seconds(Int64($0)) })
        let routes = message.classlessStaticRoutes
        let routers = routes == nil ? message.routers : []
        // RFC 3442 §4: a route whose router is 0.0.0.0 is on-link, so such a default route names no router.
        let router = routes.map { $0.first(where: \.isDefault)?.router } ?? routers.first
        let usableRouter = router == .any ? nil : router
        self.init(address: message.yourAddress,
                  subnetMask: message.subnetMask ?? Self.defaultMask(for: message.yourAddress),
                  router: usableRouter, dnsServers: message.domainNameServers,
                  server: message.serverIdentifier ?? fallbackServer,
                  leaseTime: leaseTime, renewalTime: timers.renewal, rebindingTime: timers.rebinding,
                  acquiredAt: acquiredAt, offeredLeaseTime: offered)
        self.routers = routers
        broadcastAddress = message.broadcastAddress
        domainName = message.domainName
        domainSearch = message.domainSearch ?? []
        interfaceMTU = message.interfaceMTU
        ntpServers = message.ntpServers
        classlessStaticRoutes = routes ?? []
        ipv6OnlyPreferredWait = message.ipv6OnlyPreferredWait
        rawOptions = message.options
    }

    /// Whether option 121's default route has the router 0.0.0.0, i.e. every destination is on-link and is
    /// resolved with ARP directly (RFC 3442 §4 "Local Subnet Routes"). `router` is nil then.
    public var defaultRouteIsOnLink: Bool {
        classlessStaticRoutes.first(where: \.isDefault)?.router == .any
    }

    /// When the client enters RENEWING (T1).
    public var renewAt: Instant { acquiredAt + renewalTime }
    /// When the client enters REBINDING (T2).
    public var rebindAt: Instant { acquiredAt + rebindingTime }
    /// When the lease ends and the client must stop using the address.
    public var expiresAt: Instant { acquiredAt + leaseTime }

    /// The classful mask a client uses when the server sends no subnet mask option (RFC 1122 §3.3.1.1 fallback).
    public static func defaultMask(for address: IPv4Address) -> IPv4Address {
        switch address.rawValue >> 29 {
        case 0b000...0b011: .mask(prefixLength: 8)
        case 0b100, 0b101: .mask(prefixLength: 16)
        default: .mask(prefixLength: 24)
        }
    }

    /// T1 and T2 from the server's options, or the RFC 2131 §4.4.5 defaults (0.5 and 0.875 of the lease) when they
    /// are absent or inconsistent (the order 0 < T1 < T2 < lease must hold).
    public static func timers(lease: Duration, renewal: Duration?, rebinding: Duration?) -> (renewal: Duration, rebinding: Duration) {
        let defaultRenewal = lease / 2
        let defaultRebinding = lease * 7 / 8
        let t2 = rebinding ?? defaultRebinding
        let t1 = renewal ?? defaultRenewal
        if .zero < t1, t1 < t2, t2 < lease { return (t1, t2) }
        // Keep a valid T2 if only T1 is off, else fall back to both defaults.
        if let rebinding, .zero < rebinding, rebinding < lease, defaultRenewal < rebinding { return (defaultRenewal, rebinding) }
        return (defaultRenewal, defaultRebinding)
    }

    public var description: String {
        "\(address)/\(prefixLength) router \(router.map(String.init(describing:)) ?? "none") server \(server) lease \(leaseTime)"
    }
}

/// When each step of the exchange that led to a lease happened, for the lease test's report (RFC 2131 §3.1 steps
/// 1–5, §3.2 for INIT-REBOOT, RFC 4039 for rapid commit, RFC 5227 for the conflict check).
public struct DHCPPhaseTimes: Sendable, Equatable {
    /// The first DHCPDISCOVER of the exchange; nil after INIT-REBOOT (no DISCOVER is sent).
    public var discoverSent: Instant?
    /// Nil after INIT-REBOOT and with rapid commit (the ACK answers the DISCOVER).
    public var offerReceived: Instant?
    /// The first DHCPREQUEST of the exchange; nil with rapid commit.
    public var requestSent: Instant?
    public var ackReceived: Instant
    /// The first ARP probe (RFC 5227 §2.1.1); nil without conflict detection.
    public var probeStart: Instant?
    /// The last ARP probe; nil without conflict detection.
    public var probeEnd: Instant?
    /// The first ARP announcement, ANNOUNCE_WAIT after the last probe (RFC 5227 §2.3); nil without conflict detection.
    public var announce: Instant?
    /// When the address was applied: `ackReceived` without conflict detection, `announce` with it.
    public var bound: Instant
    /// DISCOVER and REQUEST retransmissions (RFC 2131 §4.1) since the exchange began in INIT or INIT-REBOOT.
    public var retransmissions: Int

    public init(discoverSent: Instant?, offerReceived: Instant?, requestSent: Instant?, ackReceived: Instant,
                probeStart: Instant? = nil, probeEnd: Instant? = nil, announce: Instant? = nil, bound: Instant,
                retransmissions: Int = 0) {
        self.discoverSent = discoverSent
        self.offerReceived = offerReceived
        self.requestSent = requestSent
        self.ackReceived = ackReceived
        self.probeStart = probeStart
        self.probeEnd = probeEnd
        self.announce = announce
        self.bound = bound
        self.retransmissions = retransmissions
    }
}
