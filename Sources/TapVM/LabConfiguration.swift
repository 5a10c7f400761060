import Wire

/// How the lab's dnsmasq serves DHCPv4: the knobs the lease tests turn.
public struct LabConfiguration: Sendable, Equatable {
    /// dnsmasq's ping check: before offering a new address it pings it for up to 3 s (only for the first 6 new
    /// clients in 30 s). Off by default, so that leases take milliseconds (anchors README).
    public var pingCheck = false
    /// Addresses in the pool. Up to 150 fit the /24 (198.51.100.50 onwards); more use 198.18.0.0/15 (RFC 2544).
    public var poolSize = 101
    /// Whether dnsmasq is authoritative (`--dhcp-authoritative`): it NAKs requests for addresses it does not know.
    public var authoritative = true
    /// The lease time dnsmasq grants (it accepts no less than 120 s).
    public var leaseTime = 3600

    /// How dnsmasq serves IPv6 on 2001:db8:1::/64 (`tapvm lab up --ipv6`).
    public var ipv6: LabIPv6Mode = .slaac

    public static let largestPool = 65_000

    public init(pingCheck: Bool = false, poolSize: Int = 101, authoritative: Bool = true, leaseTime: Int = 3600,
                ipv6: LabIPv6Mode = .slaac) {
        self.pingCheck = pingCheck
        self.poolSize = poolSize
        self.authoritative = authoritative
        self.leaseTime = leaseTime
        self.ipv6 = ipv6
    }

    /// Whether the pool needs the benchmarking range instead of the /24.
    var usesBenchmarkRange: Bool { poolSize > 150 }

    public var serverAddress: IPv4Address { usesBenchmarkRange ? IPv4Address(198, 18, 0, 1) : IPv4Address(198, 51, 100, 1) }
    public var prefixLength: Int { usesBenchmarkRange ? 15 : 24 }
    public var netmask: IPv4Address { .mask(prefixLength: prefixLength) }
    public var poolStart: IPv4Address { usesBenchmarkRange ? IPv4Address(198, 18, 1, 0) : IPv4Address(198, 51, 100, 50) }
    /// The last address such that the range holds `poolSize` addresses dnsmasq will hand out: it never offers one
    /// ending in .0 or .255 (observed with dnsmasq 2.89 on a /15), so those are not counted.
    public var poolEnd: IPv4Address {
        var address = poolStart.rawValue
        var usable = 0
        while true {
            if address & 0xff != 0 && address & 0xff != 0xff { usable += 1 }
            if usable >= poolSize { return IPv4Address(rawValue: address) }
            address += 1
        }
    }

    /// Checks the values a user can give; the message says what is allowed.
    public func validate() throws(TapVMError) {
        guard (1...Self.largestPool).contains(poolSize) else {
            throw .invalidOption("--pool-size takes 1 to \(Self.largestPool)")
        }
        guard (120...86_400 * 365).contains(leaseTime) else {
            throw .invalidOption("--lease-time takes 120 s (dnsmasq's minimum) to a year")
        }
    }

    /// One line for `tapvm lab status`.
    public var summary: String {
        "pool \(poolStart)-\(poolEnd)/\(prefixLength) (\(poolSize) addresses), server \(serverAddress), lease \(leaseTime) s, " +
            "ping check \(pingCheck ? "on" : "off"), \(authoritative ? "authoritative" : "not authoritative"), IPv6 \(ipv6.summary)"
    }
}

/// How the lab's dnsmasq serves IPv6 on 2001:db8:1::/64 (RFC 4861 router advertisements, RFC 8415 DHCPv6). The RAs
/// carry 2001:db8:1::1 as RDNSS (RFC 8106) in every mode.
public enum LabIPv6Mode: String, Sendable, Equatable, CaseIterable {
    /// Router advertisements only (A=1, M=O=0): SLAAC.
    case slaac
    /// RAs with A=1 and O=1, and DHCPv6 Information-request answers (DNS): SLAAC plus stateless DHCPv6.
    case stateless
    /// RAs with M=1 (A=0), and DHCPv6 addresses from 2001:db8:1::100-1ff for an hour.
    case stateful

    /// The dnsmasq `--dhcp-range` for 2001:db8:1::/64 (dnsmasq(8) --dhcp-range, --enable-ra).
    public var dhcpRange: String {
        switch self {
        case .slaac: "2001:db8:1::,ra-only,64"
        case .stateless: "2001:db8:1::,ra-stateless,64"
        case .stateful: "2001:db8:1::100,2001:db8:1::1ff,64,1h"
        }
    }

    var summary: String {
        switch self {
        case .slaac: "SLAAC (RA only)"
        case .stateless: "SLAAC + stateless DHCPv6"
        case .stateful: "stateful DHCPv6 2001:db8:1::100-1ff"
        }
    }
}
