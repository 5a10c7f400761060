/// The 8-bit protocol number of an IPv4 header or IPv6 next header. RFC 791 §3.1; values from the IANA
/// "Assigned Internet Protocol Numbers" registry. Open: any value is representable.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// IPv6 Hop-by-Hop Options header (RFC 8200 §4.3).
    public static let hopByHop = IPProtocol(0)
    /// Internet Control Message Protocol (RFC 792).
    public static let icmp = IPProtocol(1)
    /// Transmission Control Protocol (RFC 9293).
    public static let tcp = IPProtocol(6)
    /// User Datagram Protocol (RFC 768).
    public static let udp = IPProtocol(17)
    /// IPv6 Routing header (RFC 8200 §4.4).
    public static let routing = IPProtocol(43)
    /// IPv6 Fragment header (RFC 8200 §4.5).
    public static let ipv6Fragment = IPProtocol(44)
    /// ICMP for IPv6 (RFC 4443).
    public static let icmpv6 = IPProtocol(58)
    /// IPv6 No Next Header: nothing follows (RFC 8200 §4.7).
    public static let noNextHeader = IPProtocol(59)
    /// IPv6 Destination Options header (RFC 8200 §4.6).
    public static let destinationOptions = IPProtocol(60)

    public var description: String {
        switch self {
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .icmpv6: "ICMPv6"
        case .hopByHop: "IPv6 hop-by-hop options"
        case .routing: "IPv6 routing"
        case .ipv6Fragment: "IPv6 fragment"
        case .noNextHeader: "no next header"
        case .destinationOptions: "IPv6 destination options"
        default: String(rawValue)
        }
    }
}
