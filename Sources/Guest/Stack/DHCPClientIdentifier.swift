import Wire

/// What the DHCP client sends as option 61 (RFC 2132 §9.14), which servers use to key the lease.
public enum DHCPClientIdentifier: Sendable, Equatable {
    /// Hardware type 1 (Ethernet) and the MAC: `01 xx:xx:xx:xx:xx:xx` (RFC 2132 §9.14, what most clients send).
    case hardwareAddress
    /// RFC 4361 §6.1: type 255, a 4-byte IAID and a DUID. A nil IAID is the last 4 bytes of the MAC (dhcpcd's default
    /// IAID, src/if-options.c); a nil DUID is the DUID-LL of the MAC (RFC 8415 §11.4: type 3, hardware type 1, MAC).
    /// Both defaults follow from the MAC alone, so the same identity always sends the same bytes.
    case duid(iaid: UInt32? = nil, duid: [UInt8]? = nil)
    /// The option's bytes as given (for example parsed from hex). RFC 2132 §9.14 asks for at least 2 bytes; a value
    /// outside 2...255 bytes is not sent (check `isValid` before using it).
    case raw([UInt8])

    /// Whether option 61 can carry this value (raw values of 2...255 bytes; the other cases always).
    public var isValid: Bool {
        if case let .raw(bytes) = self { return (2 ... 255).contains(bytes.count) }
        return true
    }

    /// The DUID-LL of `mac`: type 3, hardware type 1, the MAC. RFC 8415 §11.4 (`DUID.linkLayer`).
    public static func duidLinkLayer(_ mac: MACAddress) -> [UInt8] { DUID.linkLayer(mac).bytes }

    /// The IAID dhcpcd derives from a MAC: its last 4 bytes, big-endian (`IAID(mac:)`, shared with DHCPv6).
    public static func defaultIAID(_ mac: MACAddress) -> UInt32 { IAID(mac: mac) }

    /// Option 61 for `mac`, or nil for an invalid raw value.
    public func option(mac: MACAddress) -> DHCPOption? {
        switch self {
        case .hardwareAddress:
            return .clientIdentifier(mac)
        case let .duid(iaid, duid):
            return .clientIdentifier(iaid: iaid ?? Self.defaultIAID(mac), duid: duid ?? Self.duidLinkLayer(mac))
        case let .raw(bytes):
            return isValid ? DHCPOption(code: .clientIdentifier, data: bytes) : nil
        }
    }
}

/// The IAID derived from a MAC: its last 4 bytes, big-endian. Stable for the interface (RFC 8415 §12), and what
/// dhcpcd uses for RFC 4361 client identifiers (src/if-options.c). Both DHCP clients use this one derivation.
public func IAID(mac: MACAddress) -> UInt32 {
    let bytes = mac.array
    return bytes.bigEndian(UInt32.self, at: bytes.count - 4)
}
