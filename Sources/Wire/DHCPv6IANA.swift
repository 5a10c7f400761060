/// A DHCPv6 status code. RFC 8415 §21.13; IANA "DHCPv6 Status Codes". Open.
public struct DHCPv6StatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let success = DHCPv6StatusCode(0)
    public static let unspecifiedFailure = DHCPv6StatusCode(1)
    public static let noAddressesAvailable = DHCPv6StatusCode(2)
    public static let noBinding = DHCPv6StatusCode(3)
    public static let notOnLink = DHCPv6StatusCode(4)
    public static let useMulticast = DHCPv6StatusCode(5)
    public static let noPrefixAvailable = DHCPv6StatusCode(6)

    public var description: String {
        switch self {
        case .success: "Success"
        case .unspecifiedFailure: "UnspecFail"
        case .noAddressesAvailable: "NoAddrsAvail"
        case .noBinding: "NoBinding"
        case .notOnLink: "NotOnLink"
        case .useMulticast: "UseMulticast"
        case .noPrefixAvailable: "NoPrefixAvail"
        default: "status \(rawValue)"
        }
    }
}

/// The value of OPTION_STATUS_CODE: a code and a UTF-8 message for people. RFC 8415 §21.13.
public struct DHCPv6Status: Equatable, Hashable, Sendable {
    public var code: DHCPv6StatusCode
    public var message: String

    public init(code: DHCPv6StatusCode, message: String = "") {
        self.code = code
        self.message = message
    }

    /// Parses option data: status-code (2), status-message. Throws `.truncated` below 2 bytes. Invalid UTF-8 in
    /// the message is replaced (the message is for display only).
    public init(data: [UInt8]) throws(WireError) {
        guard data.count >= 2 else { throw .truncated(format: "DHCPv6 OPTION_STATUS_CODE", needed: 2, available: data.count) }
        self.init(code: DHCPv6StatusCode(data.bigEndian(UInt16.self, at: 0)),
                  message: String(decoding: data[2...], as: UTF8.self))
    }

    /// The option data.
    public var data: [UInt8] { bigEndianBytes(code.rawValue) + Array(message.utf8) }
}

/// The value of OPTION_IAADDR: an address with its lifetimes and options (usually a status code).
/// RFC 8415 §21.6. Lifetimes are seconds, 0xFFFFFFFF meaning infinity.
public struct DHCPv6IAAddress: Equatable, Hashable, Sendable {
    public var address: IPv6Address
    public var preferredLifetime: UInt32
    public var validLifetime: UInt32
    public var options: [DHCPv6Option]

    public init(address: IPv6Address, preferredLifetime: UInt32, validLifetime: UInt32, options: [DHCPv6Option] = []) {
        self.address = address
        self.preferredLifetime = preferredLifetime
        self.validLifetime = validLifetime
        self.options = options
    }

    /// Parses option data: address (16), preferred-lifetime (4), valid-lifetime (4), options. Throws
    /// `.truncated` below 24 bytes or for a nested option running past the data.
    public init(data: [UInt8]) throws(WireError) {
        guard data.count >= 24 else { throw .truncated(format: "DHCPv6 OPTION_IAADDR", needed: 24, available: data.count) }
        self.init(address: IPv6Address(bytes: data[0 ..< 16])!,
                  preferredLifetime: data.bigEndian(UInt32.self, at: 16),
                  validLifetime: data.bigEndian(UInt32.self, at: 20),
                  options: try DHCPv6Option.parse(data[24...], format: "DHCPv6 option in OPTION_IAADDR"))
    }

    /// The option data.
    public var data: [UInt8] {
        address.bytes + bigEndianBytes(preferredLifetime) + bigEndianBytes(validLifetime) + DHCPv6Option.encode(options)
    }

    /// The nested status code, if present and well-formed.
    public var status: DHCPv6Status? { options.first { $0.code == .statusCode }.flatMap { try? DHCPv6Status(data: $0.data) } }
}

/// The value of OPTION_IA_NA, an Identity Association for Non-temporary Addresses. RFC 8415 §21.4.
/// T1 and T2 are seconds (0 = left to the client, RFC 8415 §21.4).
public struct DHCPv6IANA: Equatable, Hashable, Sendable {
    /// IAID, unique per client interface and stable across restarts.
    public var iaid: UInt32
    public var t1: UInt32
    public var t2: UInt32
    /// Usually IAADDR options and a status code.
    public var options: [DHCPv6Option]

    public init(iaid: UInt32, t1: UInt32 = 0, t2: UInt32 = 0, options: [DHCPv6Option] = []) {
        self.iaid = iaid
        self.t1 = t1
        self.t2 = t2
        self.options = options
    }

    /// Parses option data: IAID (4), T1 (4), T2 (4), options. Throws `.truncated` below 12 bytes or for a
    /// nested option running past the data.
    public init(data: [UInt8]) throws(WireError) {
        guard data.count >= 12 else { throw .truncated(format: "DHCPv6 OPTION_IA_NA", needed: 12, available: data.count) }
        self.init(iaid: data.bigEndian(UInt32.self, at: 0), t1: data.bigEndian(UInt32.self, at: 4),
                  t2: data.bigEndian(UInt32.self, at: 8),
                  options: try DHCPv6Option.parse(data[12...], format: "DHCPv6 option in OPTION_IA_NA"))
    }

    /// The option data.
    public var data: [UInt8] { bigEndianBytes(iaid) + bigEndianBytes(t1) + bigEndianBytes(t2) + DHCPv6Option.encode(options) }

    /// The nested IAADDR options that parse, in order.
    public var addresses: [DHCPv6IAAddress] {
        options.filter { $0.code == .iaAddress }.compactMap { try? DHCPv6IAAddress(data: $0.data) }
    }

    /// The nested status code, if present and well-formed (absent means success, RFC 8415 §21.13).
    public var status: DHCPv6Status? { options.first { $0.code == .statusCode }.flatMap { try? DHCPv6Status(data: $0.data) } }
}
