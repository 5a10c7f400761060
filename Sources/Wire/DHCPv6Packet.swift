/// The type of a DHCPv6 message. RFC 8415 §7.3; IANA "DHCPv6 Message Types". Open.
public struct DHCPv6MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let solicit = DHCPv6MessageType(1)
    public static let advertise = DHCPv6MessageType(2)
    public static let request = DHCPv6MessageType(3)
    public static let confirm = DHCPv6MessageType(4)
    public static let renew = DHCPv6MessageType(5)
    public static let rebind = DHCPv6MessageType(6)
    public static let reply = DHCPv6MessageType(7)
    public static let release = DHCPv6MessageType(8)
    public static let decline = DHCPv6MessageType(9)
    public static let reconfigure = DHCPv6MessageType(10)
    public static let informationRequest = DHCPv6MessageType(11)

    public var description: String {
        switch self {
        case .solicit: "SOLICIT"
        case .advertise: "ADVERTISE"
        case .request: "REQUEST"
        case .confirm: "CONFIRM"
        case .renew: "RENEW"
        case .rebind: "REBIND"
        case .reply: "REPLY"
        case .release: "RELEASE"
        case .decline: "DECLINE"
        case .reconfigure: "RECONFIGURE"
        case .informationRequest: "INFORMATION-REQUEST"
        default: "DHCPv6 message type \(rawValue)"
        }
    }
}

/// A view of a DHCPv6 client/server message (the UDP payload). RFC 8415 §8.
///
/// Layout: msg-type (1), transaction-id (3), options up to the end of the buffer. Relay-forward and relay-reply
/// messages (§9) have another layout and are not handled here. The initializer checks the 4 bytes; `options()`
/// parses (and may throw) separately.
public struct DHCPv6Packet {
    /// The UDP port clients listen on. RFC 8415 §7.2.
    public static let clientPort: UInt16 = 546
    /// The UDP port servers and relay agents listen on. RFC 8415 §7.2.
    public static let serverPort: UInt16 = 547
    public static let headerLength = 4

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.headerLength, format: "DHCPv6")
        self.bytes = bytes
    }

    public var messageType: DHCPv6MessageType { DHCPv6MessageType(bytes[0]) }
    /// The 24-bit transaction ID.
    public var transactionID: UInt32 { bytes.bigEndian(UInt32.self, at: 0) & 0x00FF_FFFF }
    public var optionsArea: UnsafeRawBufferPointer { bytes.rebased(Self.headerLength ..< bytes.count) }

    /// The options in order. Throws `.truncated` for an option running past the message. RFC 8415 §21.1.
    public func options() throws(WireError) -> [DHCPv6Option] {
        try DHCPv6Option.parse(optionsArea, format: "DHCPv6 option")
    }
}
