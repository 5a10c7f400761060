/// The type of a DHCP Unique Identifier. RFC 8415 §11.1; IANA "DUID Types". Open.
public struct DUIDType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// DUID-LLT: hardware type, time, link-layer address. RFC 8415 §11.2.
    public static let linkLayerPlusTime = DUIDType(1)
    /// DUID-EN: enterprise number and identifier. RFC 8415 §11.3.
    public static let enterpriseNumber = DUIDType(2)
    /// DUID-LL: hardware type and link-layer address. RFC 8415 §11.4.
    public static let linkLayer = DUIDType(3)
    /// DUID-UUID: a 16-byte UUID. RFC 8415 §11.5, RFC 6355.
    public static let uuid = DUIDType(4)

    public var description: String {
        switch self {
        case .linkLayerPlusTime: "DUID-LLT"
        case .enterpriseNumber: "DUID-EN"
        case .linkLayer: "DUID-LL"
        case .uuid: "DUID-UUID"
        default: "DUID type \(rawValue)"
        }
    }
}

/// A DHCP Unique Identifier, kept as its raw bytes (type included) because DUIDs are compared as opaque byte
/// strings (RFC 8415 §11). The typed accessors read the known layouts and are nil when the layout does not fit.
public struct DUID: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// ARP hardware type 1, Ethernet (RFC 826, IANA "Hardware Types").
    public static let ethernetHardwareType: UInt16 = 1

    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// DUID-LL of an Ethernet MAC. RFC 8415 §11.4.
    public static func linkLayer(_ mac: MACAddress) -> DUID {
        DUID(bytes: bigEndianBytes(DUIDType.linkLayer.rawValue) + bigEndianBytes(ethernetHardwareType) + mac.array)
    }

    /// DUID-LLT of an Ethernet MAC; `time` is seconds since 2000-01-01 00:00 UTC modulo 2³². RFC 8415 §11.2.
    public static func linkLayerPlusTime(_ mac: MACAddress, time: UInt32) -> DUID {
        DUID(bytes: bigEndianBytes(DUIDType.linkLayerPlusTime.rawValue) + bigEndianBytes(ethernetHardwareType)
             + bigEndianBytes(time) + mac.array)
    }

    /// DUID-EN. RFC 8415 §11.3.
    public static func enterpriseNumber(_ number: UInt32, identifier: [UInt8]) -> DUID {
        DUID(bytes: bigEndianBytes(DUIDType.enterpriseNumber.rawValue) + bigEndianBytes(number) + identifier)
    }

    /// DUID-UUID; `uuid` must hold 16 bytes. RFC 6355 §4.
    public static func uuid(_ uuid: [UInt8]) -> DUID {
        precondition(uuid.count == 16, "a UUID has 16 bytes")
        return DUID(bytes: bigEndianBytes(DUIDType.uuid.rawValue) + uuid)
    }

    /// The type, or nil below 2 bytes.
    public var type: DUIDType? { bytes.count >= 2 ? DUIDType(bytes.bigEndian(UInt16.self, at: 0)) : nil }

    /// Whether the length is legal: a type and 1 through 128 more bytes. RFC 8415 §11.1.
    public var hasValidLength: Bool { (3 ... 130).contains(bytes.count) }

    /// DUID-LLT and DUID-LL: the hardware type.
    public var hardwareType: UInt16? {
        switch type {
        case .linkLayerPlusTime? where bytes.count >= 8, .linkLayer? where bytes.count >= 4:
            bytes.bigEndian(UInt16.self, at: 2)
        default: nil
        }
    }

    /// DUID-LLT: the time field.
    public var time: UInt32? {
        type == .linkLayerPlusTime && bytes.count >= 8 ? bytes.bigEndian(UInt32.self, at: 4) : nil
    }

    /// DUID-LLT and DUID-LL: the link-layer address bytes.
    public var linkLayerAddress: [UInt8]? {
        switch type {
        case .linkLayerPlusTime? where bytes.count >= 8: Array(bytes[8...])
        case .linkLayer? where bytes.count >= 4: Array(bytes[4...])
        default: nil
        }
    }

    /// DUID-LLT and DUID-LL of an Ethernet MAC: the MAC.
    public var macAddress: MACAddress? {
        guard hardwareType == Self.ethernetHardwareType, let address = linkLayerAddress else { return nil }
        return MACAddress(bytes: address)
    }

    /// DUID-EN: the enterprise number.
    public var enterpriseNumber: UInt32? {
        type == .enterpriseNumber && bytes.count >= 6 ? bytes.bigEndian(UInt32.self, at: 2) : nil
    }

    /// DUID-EN: the identifier after the enterprise number.
    public var identifier: [UInt8]? { type == .enterpriseNumber && bytes.count >= 6 ? Array(bytes[6...]) : nil }

    /// DUID-UUID: the 16 UUID bytes.
    public var uuid: [UInt8]? { type == .uuid && bytes.count == 18 ? Array(bytes[2...]) : nil }

    /// Colon-separated hex, as dnsmasq and ISC dhcpd log DUIDs.
    public var description: String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
    }
}
