/// The 16-bit type field of an Ethernet II frame. IEEE 802.3 §3.2.6; values from the IANA/IEEE registry.
/// Open: any value is representable, the named ones are those tapvm handles.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// Internet Protocol version 4 (RFC 894).
    public static let ipv4 = EtherType(0x0800)
    /// Address Resolution Protocol (RFC 826).
    public static let arp = EtherType(0x0806)
    /// Internet Protocol version 6 (RFC 2464).
    public static let ipv6 = EtherType(0x86DD)
    /// IEEE 802.1Q VLAN tag (the TPID).
    public static let vlan = EtherType(0x8100)

    public var description: String {
        switch self {
        case .ipv4: "IPv4"
        case .arp: "ARP"
        case .ipv6: "IPv6"
        case .vlan: "802.1Q"
        default: "0x" + String(rawValue, radix: 16, uppercase: true)
        }
    }
}
