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
    public var router: IPv4Address?
    public var dnsServers: [IPv4Address]
    /// The server identifier (option 54).
    public var server: IPv4Address
    public var leaseTime: Duration
    /// T1 (option 58, else 0.5 × lease).
    public var renewalTime: Duration
    /// T2 (option 59, else 0.875 × lease).
    public var rebindingTime: Duration
    public var acquiredAt: Instant

    public init(address: IPv4Address, subnetMask: IPv4Address, router: IPv4Address?, dnsServers: [IPv4Address],
                server: IPv4Address, leaseTime: Duration, renewalTime: Duration, rebindingTime: Duration,
                acquiredAt: Instant) {
        self.address = address
        self.subnetMask = subnetMask
        self.prefixLength = subnetMask.prefixLength ?? subnetMask.rawValue.nonzeroBitCount
        self.router = router
        self.dnsServers = dnsServers
        self.server = server
        self.leaseTime = leaseTime
        self.renewalTime = renewalTime
        self.rebindingTime = rebindingTime
        self.acquiredAt = acquiredAt
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

/// When each step of the first lease exchange happened, for the lease test's report (RFC 2131 §3.1 steps 1–5).
public struct DHCPPhaseTimes: Sendable, Equatable {
    /// The first DHCPDISCOVER of the exchange that led to the lease.
    public var discoverSent: Instant
    public var offerReceived: Instant
    /// The first DHCPREQUEST for the chosen offer.
    public var requestSent: Instant
    public var ackReceived: Instant
    /// When the address was applied (no ARP probe is done, so this equals `ackReceived`).
    public var bound: Instant

    public init(discoverSent: Instant, offerReceived: Instant, requestSent: Instant, ackReceived: Instant, bound: Instant) {
        self.discoverSent = discoverSent
        self.offerReceived = offerReceived
        self.requestSent = requestSent
        self.ackReceived = ackReceived
        self.bound = bound
    }
}
