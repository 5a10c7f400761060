/// The type of an ICMPv4 message. RFC 792; IANA "ICMP Type Numbers". Open.
public struct ICMPv4Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let echoReply = ICMPv4Type(0)
    public static let destinationUnreachable = ICMPv4Type(3)
    public static let echoRequest = ICMPv4Type(8)
    public static let timeExceeded = ICMPv4Type(11)

    public var description: String {
        switch self {
        case .echoReply: "echo reply"
        case .destinationUnreachable: "destination unreachable"
        case .echoRequest: "echo request"
        case .timeExceeded: "time exceeded"
        default: "type \(rawValue)"
        }
    }
}

/// A view of an ICMPv4 message (the IPv4 payload). RFC 792.
///
/// Layout: type (1), code (1), checksum (2), rest of header (4), data. The checksum covers the whole message and
/// is not verified on init (see `isChecksumValid`).
public struct ICMPv4Packet {
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer

    /// Throws `.truncated` below 8 bytes.
    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.headerLength, format: "ICMPv4")
        self.bytes = bytes
    }

    public var type: ICMPv4Type { ICMPv4Type(bytes[0]) }
    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// The 4 type-specific bytes after the checksum.
    public var restOfHeader: UInt32 { bytes.bigEndian(UInt32.self, at: 4) }
    /// Echo and echo reply: the high half of `restOfHeader`. RFC 792, "Echo or Echo Reply Message".
    public var identifier: UInt16 { UInt16(truncatingIfNeeded: restOfHeader >> 16) }
    /// Echo and echo reply: the low half of `restOfHeader`.
    public var sequenceNumber: UInt16 { UInt16(truncatingIfNeeded: restOfHeader) }
    public var payload: UnsafeRawBufferPointer { bytes.rebased(Self.headerLength ..< bytes.count) }

    /// Whether the message sums to zero with its checksum included.
    public var isChecksumValid: Bool { InternetChecksum.checksum(bytes) == 0 }
}

/// An ICMPv4 message as a value, payload included. RFC 792. `emit` computes the checksum.
public struct ICMPv4Message: Equatable, Hashable, Sendable {
    public var type: ICMPv4Type
    public var code: UInt8
    public var restOfHeader: UInt32
    public var payload: [UInt8]

    public init(type: ICMPv4Type, code: UInt8 = 0, restOfHeader: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type
        self.code = code
        self.restOfHeader = restOfHeader
        self.payload = payload
    }

    public init(_ view: ICMPv4Packet) {
        self.init(type: view.type, code: view.code, restOfHeader: view.restOfHeader, payload: Array(view.payload))
    }

    /// An echo request (type 8, code 0). RFC 792.
    public static func echoRequest(identifier: UInt16, sequenceNumber: UInt16, payload: [UInt8] = []) -> ICMPv4Message {
        ICMPv4Message(type: .echoRequest, code: 0,
                      restOfHeader: UInt32(identifier) << 16 | UInt32(sequenceNumber), payload: payload)
    }

    /// An echo reply (type 0, code 0). RFC 792: the identifier, sequence number and data of the request.
    public static func echoReply(identifier: UInt16, sequenceNumber: UInt16, payload: [UInt8] = []) -> ICMPv4Message {
        ICMPv4Message(type: .echoReply, code: 0,
                      restOfHeader: UInt32(identifier) << 16 | UInt32(sequenceNumber), payload: payload)
    }

    public var identifier: UInt16 { UInt16(truncatingIfNeeded: restOfHeader >> 16) }
    public var sequenceNumber: UInt16 { UInt16(truncatingIfNeeded: restOfHeader) }

    /// Header and payload.
    public var encodedLength: Int { ICMPv4Packet.headerLength + payload.count }

    /// Writes header, payload and checksum at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "ICMPv4")
        buffer[0] = type.rawValue
        buffer[1] = code
        buffer.storeBigEndian(UInt16(0), at: 2)
        buffer.storeBigEndian(restOfHeader, at: 4)
        buffer.storeBytes(payload, at: ICMPv4Packet.headerLength)
        let checksum = InternetChecksum.checksum(UnsafeRawBufferPointer(buffer.rebased(0 ..< encodedLength)))
        buffer.storeBigEndian(checksum, at: 2)
    }
}
