/// The type of an ICMPv6 message. RFC 4443 §2.1; IANA "ICMPv6 'type' Numbers". Open. Types below 128 are
/// errors, 128 and above informational.
public struct ICMPv6Type: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// RFC 4443 §3.1.
    public static let destinationUnreachable = ICMPv6Type(1)
    /// RFC 4443 §3.2.
    public static let packetTooBig = ICMPv6Type(2)
    /// RFC 4443 §3.3.
    public static let timeExceeded = ICMPv6Type(3)
    /// RFC 4443 §3.4.
    public static let parameterProblem = ICMPv6Type(4)
    /// RFC 4443 §4.1.
    public static let echoRequest = ICMPv6Type(128)
    /// RFC 4443 §4.2.
    public static let echoReply = ICMPv6Type(129)
    /// MLDv1 and MLDv2 query. RFC 2710 §3, RFC 3810 §5.1.
    public static let multicastListenerQuery = ICMPv6Type(130)
    /// MLDv1 report. RFC 2710 §3.
    public static let multicastListenerReport = ICMPv6Type(131)
    /// MLDv1 done. RFC 2710 §3.
    public static let multicastListenerDone = ICMPv6Type(132)
    /// RFC 4861 §4.1.
    public static let routerSolicitation = ICMPv6Type(133)
    /// RFC 4861 §4.2.
    public static let routerAdvertisement = ICMPv6Type(134)
    /// RFC 4861 §4.3.
    public static let neighborSolicitation = ICMPv6Type(135)
    /// RFC 4861 §4.4.
    public static let neighborAdvertisement = ICMPv6Type(136)
    /// RFC 4861 §4.5.
    public static let redirect = ICMPv6Type(137)
    /// RFC 3810 §5.2.
    public static let version2MulticastListenerReport = ICMPv6Type(143)

    /// Types 0 through 127 are error messages. RFC 4443 §2.1.
    public var isError: Bool { rawValue < 128 }

    public var description: String {
        switch self {
        case .destinationUnreachable: "destination unreachable"
        case .packetTooBig: "packet too big"
        case .timeExceeded: "time exceeded"
        case .parameterProblem: "parameter problem"
        case .echoRequest: "echo request"
        case .echoReply: "echo reply"
        case .multicastListenerQuery: "multicast listener query"
        case .routerSolicitation: "router solicitation"
        case .routerAdvertisement: "router advertisement"
        case .neighborSolicitation: "neighbor solicitation"
        case .neighborAdvertisement: "neighbor advertisement"
        case .redirect: "redirect"
        case .version2MulticastListenerReport: "MLDv2 report"
        default: "type \(rawValue)"
        }
    }
}

/// A view of an ICMPv6 message (the upper-layer payload of an IPv6 packet). RFC 4443 §2.1.
///
/// Layout: type (1), code (1), checksum (2), message body. The checksum covers the IPv6 pseudo-header
/// (RFC 8200 §8.1) and the whole message; it is not verified on init (see `isChecksumValid`). The NDP and MLD
/// views (`RouterAdvertisementPacket`, `MLDQueryPacket`, ...) are made over the same bytes.
public struct ICMPv6Packet {
    public static let headerLength = 4

    public let bytes: UnsafeRawBufferPointer

    /// Throws `.truncated` below 4 bytes.
    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.headerLength, format: "ICMPv6")
        self.bytes = bytes
    }

    public var type: ICMPv6Type { ICMPv6Type(bytes[0]) }
    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// Everything after the checksum.
    public var body: UnsafeRawBufferPointer { bytes.rebased(Self.headerLength ..< bytes.count) }

    /// Echo request and reply: the identifier, or nil if the body is shorter than 4 bytes. RFC 4443 §4.1.
    public var identifier: UInt16? { bytes.count >= 8 ? bytes.bigEndian(UInt16.self, at: 4) : nil }
    /// Echo request and reply: the sequence number, or nil if the body is shorter than 4 bytes. RFC 4443 §4.1.
    public var sequenceNumber: UInt16? { bytes.count >= 8 ? bytes.bigEndian(UInt16.self, at: 6) : nil }

    /// Whether the message sums to zero with the IPv6 pseudo-header of `source` and `destination`.
    /// RFC 4443 §2.3, RFC 8200 §8.1.
    public func isChecksumValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                nextHeader: .icmpv6, upperLayerLength: bytes.count)
        sum.add(bytes)
        return sum.value == 0
    }

    /// Computes the checksum of the `length`-byte ICMPv6 message at the start of `message` with the IPv6
    /// pseudo-header and stores it at bytes 2–3. RFC 4443 §2.3. The caller has checked `length`.
    public static func fillChecksum(message: UnsafeMutableRawBufferPointer, length: Int,
                                    source: IPv6Address, destination: IPv6Address) {
        precondition(length >= headerLength && length <= message.count, "ICMPv6 length outside the buffer")
        message.storeBigEndian(UInt16(0), at: 2)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination,
                                                nextHeader: .icmpv6, upperLayerLength: length)
        sum.add(UnsafeRawBufferPointer(message.rebased(0 ..< length)))
        message.storeBigEndian(sum.value, at: 2)
    }
}

/// An ICMPv6 message as a value: type, code and body. RFC 4443 §2.1. `emit` computes the checksum, so it takes
/// the addresses of the enclosing IPv6 header.
public struct ICMPv6Message: Equatable, Hashable, Sendable {
    public var type: ICMPv6Type
    public var code: UInt8
    /// Everything after the checksum.
    public var body: [UInt8]

    public init(type: ICMPv6Type, code: UInt8 = 0, body: [UInt8] = []) {
        self.type = type
        self.code = code
        self.body = body
    }

    public init(_ view: ICMPv6Packet) {
        self.init(type: view.type, code: view.code, body: Array(view.body))
    }

    /// An echo request. RFC 4443 §4.1.
    public static func echoRequest(identifier: UInt16, sequenceNumber: UInt16, data: [UInt8] = []) -> ICMPv6Message {
        ICMPv6Message(type: .echoRequest, body: echoBody(identifier, sequenceNumber, data))
    }

    /// An echo reply: the identifier, sequence number and data of the request. RFC 4443 §4.2.
    public static func echoReply(identifier: UInt16, sequenceNumber: UInt16, data: [UInt8] = []) -> ICMPv6Message {
        ICMPv6Message(type: .echoReply, body: echoBody(identifier, sequenceNumber, data))
    }

    private static func echoBody(_ identifier: UInt16, _ sequenceNumber: UInt16, _ data: [UInt8]) -> [UInt8] {
        [UInt8(identifier >> 8), UInt8(truncatingIfNeeded: identifier),
         UInt8(sequenceNumber >> 8), UInt8(truncatingIfNeeded: sequenceNumber)] + data
    }

    /// Header and body.
    public var encodedLength: Int { ICMPv6Packet.headerLength + body.count }

    /// Writes the message with its checksum (over the pseudo-header of `source` → `destination`) at the start
    /// of `buffer`. RFC 4443 §2.3.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "ICMPv6")
        buffer[0] = type.rawValue
        buffer[1] = code
        buffer.storeBytes(body, at: ICMPv6Packet.headerLength)
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}

extension UnsafeRawBufferPointer {
    /// Checks the length and the ICMPv6 type of a typed ICMPv6 view (NDP, MLD).
    func requireICMPv6(_ type: ICMPv6Type, minimumLength: Int, format: String) throws(WireError) {
        try require(minimumLength, format: format)
        guard self[0] == type.rawValue else {
            throw .malformed(format: format, field: "type", detail: "\(ICMPv6Type(self[0])), expected \(type)")
        }
    }
}
