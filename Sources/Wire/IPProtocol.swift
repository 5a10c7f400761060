/// The 8-bit protocol number of an IPv4 header or IPv6 next header. RFC 791 §3.1; values from the IANA
/// "Assigned Internet Protocol Numbers" registry. Open: any value is representable.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// Internet Control Message Protocol (RFC 792).
    public static let icmp = IPProtocol(1)
    /// Transmission Control Protocol (RFC 9293).
    public static let tcp = IPProtocol(6)
    /// User Datagram Protocol (RFC 768).
    public static let udp = IPProtocol(17)
    /// ICMP for IPv6 (RFC 4443).
    public static let icmpv6 = IPProtocol(58)

    public var description: String {
        switch self {
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .icmpv6: "ICMPv6"
        default: String(rawValue)
        }
    }
}
