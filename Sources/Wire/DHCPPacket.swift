/// The BOOTP/DHCP `op` field. RFC 2131 §2. Open.
public struct DHCPOperation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let bootRequest = DHCPOperation(1)
    public static let bootReply = DHCPOperation(2)

    public var description: String {
        switch self {
        case .bootRequest: "BOOTREQUEST"
        case .bootReply: "BOOTREPLY"
        default: "op \(rawValue)"
        }
    }
}

/// A view of a DHCP message (the UDP payload). RFC 2131 §2, options per RFC 2132 and RFC 3396.
///
/// Layout: op (1), htype (1), hlen (1), hops (1), xid (4), secs (2), flags (2), ciaddr (4), yiaddr (4),
/// siaddr (4), giaddr (4), chaddr (16), sname (64), file (128) — 236 bytes — then the magic cookie
/// 99.130.83.99 and the options up to the end of the buffer. The initializer checks the 240 bytes and the cookie;
/// `options()` parses (and may throw) separately.
public struct DHCPPacket {
    /// The UDP port servers listen on. RFC 2131 §4.1.
    public static let serverPort: UInt16 = 67
    /// The UDP port clients listen on. RFC 2131 §4.1.
    public static let clientPort: UInt16 = 68
    /// 99.130.83.99, the first four bytes of the options field. RFC 2131 §3, RFC 2132 §2.
    public static let magicCookie: UInt32 = 0x6382_5363
    /// The fixed part before the cookie.
    public static let fixedLength = 236
    /// The fixed part and the cookie.
    public static let minimumLength = 240
    /// The smallest BOOTP message relays must accept; `DHCPMessage.emit` pads to it. RFC 1542 §2.1.
    public static let minimumMessageLength = 300

    static let serverNameOffset = 44
    static let serverNameLength = 64
    static let bootFileNameOffset = 108
    static let bootFileNameLength = 128

    public let bytes: UnsafeRawBufferPointer

    /// Throws `.truncated` below 240 bytes and `.malformed` if the magic cookie is wrong.
    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.minimumLength, format: "DHCP")
        let cookie = bytes.bigEndian(UInt32.self, at: Self.fixedLength)
        guard cookie == Self.magicCookie else {
            throw .malformed(format: "DHCP", field: "magicCookie", detail: "\(IPv4Address(rawValue: cookie)), expected 99.130.83.99")
        }
        self.bytes = bytes
    }

    public var op: DHCPOperation { DHCPOperation(bytes[0]) }
    /// ARP hardware type (1 = Ethernet).
    public var hardwareType: UInt8 { bytes[1] }
    public var hardwareAddressLength: UInt8 { bytes[2] }
    public var hops: UInt8 { bytes[3] }
    /// xid.
    public var transactionID: UInt32 { bytes.bigEndian(UInt32.self, at: 4) }
    /// secs: seconds since the client began acquiring or renewing.
    public var seconds: UInt16 { bytes.bigEndian(UInt16.self, at: 8) }
    public var flags: UInt16 { bytes.bigEndian(UInt16.self, at: 10) }
    /// The BROADCAST flag, the leftmost bit of `flags`. RFC 2131 §2, Figure 2.
    public var isBroadcast: Bool { flags & 0x8000 != 0 }
    /// ciaddr.
    public var clientAddress: IPv4Address { IPv4Address(bytes, at: 12) }
    /// yiaddr.
    public var yourAddress: IPv4Address { IPv4Address(bytes, at: 16) }
    /// siaddr.
    public var serverAddress: IPv4Address { IPv4Address(bytes, at: 20) }
    /// giaddr.
    public var relayAgentAddress: IPv4Address { IPv4Address(bytes, at: 24) }
    /// The first 6 bytes of chaddr.
    public var clientHardwareAddress: MACAddress { MACAddress(bytes, at: 28) }
    /// All 16 bytes of chaddr.
    public var clientHardwareAddressField: UnsafeRawBufferPointer { bytes.rebased(28 ..< 44) }
    /// sname: 64 bytes, a NUL-terminated server host name (or options under overload).
    public var serverName: UnsafeRawBufferPointer {
        bytes.rebased(Self.serverNameOffset ..< Self.serverNameOffset + Self.serverNameLength)
    }
    /// file: 128 bytes, a NUL-terminated boot file name (or options under overload).
    public var bootFileName: UnsafeRawBufferPointer {
        bytes.rebased(Self.bootFileNameOffset ..< Self.bootFileNameOffset + Self.bootFileNameLength)
    }
    /// The bytes after the magic cookie.
    public var optionsField: UnsafeRawBufferPointer { bytes.rebased(Self.minimumLength ..< bytes.count) }

    /// Parses the options in order of first appearance. Pad (0) is skipped and end (255) stops an area; an area
    /// that ends without an end option is accepted. Repeated codes are concatenated into the first (RFC 3396 §5).
    /// With option overload (52, value 1, 2 or 3) the `file` and then the `sname` field are parsed too
    /// (RFC 2131 §4.1, RFC 3396 §5). Throws `.truncated` for an option whose length runs past its area.
    public func options() throws(WireError) -> [DHCPOption] {
        var options: [DHCPOption] = []
        var indexByCode: [UInt8: Int] = [:]
        try Self.parse(optionsField, area: "options", into: &options, indexByCode: &indexByCode)
        if let index = indexByCode[DHCPOptionCode.optionOverload.rawValue], options[index].data.count == 1 {
            let overload = options[index].data[0]
            if overload == 1 || overload == 3 {
                try Self.parse(bootFileName, area: "file", into: &options, indexByCode: &indexByCode)
            }
            if overload == 2 || overload == 3 {
                try Self.parse(serverName, area: "sname", into: &options, indexByCode: &indexByCode)
            }
        }
        return options
    }

    private static func parse(_ area: UnsafeRawBufferPointer, area name: String,
                              into options: inout [DHCPOption], indexByCode: inout [UInt8: Int]) throws(WireError) {
        var index = 0
        while index < area.count {
            let code = area[index]
            if code == DHCPOptionCode.pad.rawValue { index += 1; continue }
            if code == DHCPOptionCode.end.rawValue { return }
            guard index + 2 <= area.count else {
                throw .truncated(format: "DHCP option \(code) in \(name)", needed: index + 2, available: area.count)
            }
            let length = Int(area[index + 1])
            let end = index + 2 + length
            guard end <= area.count else {
                throw .truncated(format: "DHCP option \(code) in \(name)", needed: end, available: area.count)
            }
            let data = Array(area.rebased(index + 2 ..< end))
            if let existing = indexByCode[code] {
                options[existing].data += data
            } else {
                indexByCode[code] = options.count
                options.append(DHCPOption(code: DHCPOptionCode(code), data: data))
            }
            index = end
        }
    }
}
