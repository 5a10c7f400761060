/// A DHCPv6 option code. RFC 8415 §21; IANA "DHCPv6 Option Codes". Open.
public struct DHCPv6OptionCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// OPTION_CLIENTID, a DUID. RFC 8415 §21.2.
    public static let clientIdentifier = DHCPv6OptionCode(1)
    /// OPTION_SERVERID, a DUID. RFC 8415 §21.3.
    public static let serverIdentifier = DHCPv6OptionCode(2)
    /// OPTION_IA_NA. RFC 8415 §21.4.
    public static let iaNA = DHCPv6OptionCode(3)
    /// OPTION_IAADDR, inside IA_NA. RFC 8415 §21.6.
    public static let iaAddress = DHCPv6OptionCode(5)
    /// OPTION_ORO. RFC 8415 §21.7.
    public static let optionRequest = DHCPv6OptionCode(6)
    /// OPTION_PREFERENCE. RFC 8415 §21.8.
    public static let preference = DHCPv6OptionCode(7)
    /// OPTION_ELAPSED_TIME. RFC 8415 §21.9.
    public static let elapsedTime = DHCPv6OptionCode(8)
    /// OPTION_UNICAST: the server's address for unicast messages. RFC 8415 §21.12.
    public static let serverUnicast = DHCPv6OptionCode(12)
    /// OPTION_STATUS_CODE. RFC 8415 §21.13.
    public static let statusCode = DHCPv6OptionCode(13)
    /// OPTION_RAPID_COMMIT, empty. RFC 8415 §21.14.
    public static let rapidCommit = DHCPv6OptionCode(14)
    /// OPTION_DNS_SERVERS. RFC 3646 §3.
    public static let dnsServers = DHCPv6OptionCode(23)
    /// OPTION_DOMAIN_LIST. RFC 3646 §4.
    public static let domainList = DHCPv6OptionCode(24)
    /// OPTION_INFORMATION_REFRESH_TIME. RFC 8415 §21.23.
    public static let informationRefreshTime = DHCPv6OptionCode(32)
    /// OPTION_SOL_MAX_RT. RFC 8415 §21.24.
    public static let solMaxRT = DHCPv6OptionCode(82)
    /// OPTION_INF_MAX_RT. RFC 8415 §21.25.
    public static let informationMaxRT = DHCPv6OptionCode(83)

    public var description: String {
        switch self {
        case .clientIdentifier: "OPTION_CLIENTID"
        case .serverIdentifier: "OPTION_SERVERID"
        case .iaNA: "OPTION_IA_NA"
        case .iaAddress: "OPTION_IAADDR"
        case .optionRequest: "OPTION_ORO"
        case .preference: "OPTION_PREFERENCE"
        case .elapsedTime: "OPTION_ELAPSED_TIME"
        case .statusCode: "OPTION_STATUS_CODE"
        case .rapidCommit: "OPTION_RAPID_COMMIT"
        case .dnsServers: "OPTION_DNS_SERVERS"
        case .domainList: "OPTION_DOMAIN_LIST"
        case .informationRefreshTime: "OPTION_INFORMATION_REFRESH_TIME"
        case .solMaxRT: "OPTION_SOL_MAX_RT"
        case .serverUnicast: "OPTION_UNICAST"
        case .informationMaxRT: "OPTION_INF_MAX_RT"
        default: "DHCPv6 option \(rawValue)"
        }
    }
}

/// One DHCPv6 option: a code and its data. RFC 8415 §21.1: option-code (2), option-len (2), data.
/// Options may repeat (several IA_NA) and nest (IAADDR inside IA_NA, status code inside both).
public struct DHCPv6Option: Equatable, Hashable, Sendable {
    public var code: DHCPv6OptionCode
    /// At most 65535 bytes (emit checks).
    public var data: [UInt8]

    public init(code: DHCPv6OptionCode, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    // MARK: Parsing and encoding (shared by messages and nested options)

    /// The options filling `area`. Throws `.truncated` for a header or data running past it. The number of
    /// options is bounded by the area (each takes at least 4 bytes).
    static func parse(_ area: UnsafeRawBufferPointer, format: String) throws(WireError) -> [DHCPv6Option] {
        var options: [DHCPv6Option] = []
        var index = 0
        while index < area.count {
            guard index + 4 <= area.count else { throw .truncated(format: format, needed: index + 4, available: area.count) }
            let code = DHCPv6OptionCode(area.bigEndian(UInt16.self, at: index))
            let end = index + 4 + Int(area.bigEndian(UInt16.self, at: index + 2))
            guard end <= area.count else { throw .truncated(format: "\(format) \(code)", needed: end, available: area.count) }
            options.append(DHCPv6Option(code: code, data: Array(area.rebased(index + 4 ..< end))))
            index = end
        }
        return options
    }

    /// The options parsed from nested option data (`data` of IA_NA after its 12 bytes, of IAADDR after its 24).
    static func parse(_ data: ArraySlice<UInt8>, format: String) throws(WireError) -> [DHCPv6Option] {
        try parsing(Array(data)) { (bytes) throws(WireError) in try parse(bytes, format: format) }
    }

    /// The wire form of `options`. A data length over 65535 is truncated in its length field here; the
    /// enclosing message's `emit` rejects it (an outer option is always longer than what it nests).
    static func encode(_ options: [DHCPv6Option]) -> [UInt8] {
        var bytes: [UInt8] = []
        for option in options {
            bytes += bigEndianBytes(option.code.rawValue)
            bytes += bigEndianBytes(UInt16(truncatingIfNeeded: option.data.count))
            bytes += option.data
        }
        return bytes
    }

    /// The encoded length of `options`.
    static func encodedLength(_ options: [DHCPv6Option]) -> Int { options.reduce(0) { $0 + 4 + $1.data.count } }

    // MARK: Builders

    /// OPTION_CLIENTID. RFC 8415 §21.2.
    public static func clientIdentifier(_ duid: DUID) -> DHCPv6Option { DHCPv6Option(code: .clientIdentifier, data: duid.bytes) }
    /// OPTION_SERVERID. RFC 8415 §21.3.
    public static func serverIdentifier(_ duid: DUID) -> DHCPv6Option { DHCPv6Option(code: .serverIdentifier, data: duid.bytes) }
    /// OPTION_IA_NA. RFC 8415 §21.4.
    public static func iaNA(_ association: DHCPv6IANA) -> DHCPv6Option { DHCPv6Option(code: .iaNA, data: association.data) }
    /// OPTION_IAADDR. RFC 8415 §21.6.
    public static func iaAddress(_ address: DHCPv6IAAddress) -> DHCPv6Option { DHCPv6Option(code: .iaAddress, data: address.data) }
    /// OPTION_STATUS_CODE. RFC 8415 §21.13.
    public static func statusCode(_ status: DHCPv6Status) -> DHCPv6Option { DHCPv6Option(code: .statusCode, data: status.data) }
    /// OPTION_ORO: the codes the client asks for. RFC 8415 §21.7.
    public static func optionRequest(_ codes: [DHCPv6OptionCode]) -> DHCPv6Option {
        DHCPv6Option(code: .optionRequest, data: codes.flatMap { bigEndianBytes($0.rawValue) })
    }
    /// OPTION_PREFERENCE. RFC 8415 §21.8.
    public static func preference(_ value: UInt8) -> DHCPv6Option { DHCPv6Option(code: .preference, data: [value]) }
    /// OPTION_ELAPSED_TIME in hundredths of a second since the client began the exchange, saturating at 0xFFFF
    /// ("any greater value"). Negative input counts as 0. RFC 8415 §21.9.
    public static func elapsedTime(hundredthsOfSecond: Int) -> DHCPv6Option {
        DHCPv6Option(code: .elapsedTime, data: bigEndianBytes(UInt16(min(max(hundredthsOfSecond, 0), 0xFFFF))))
    }
    /// OPTION_RAPID_COMMIT, empty. RFC 8415 §21.14.
    public static let rapidCommit = DHCPv6Option(code: .rapidCommit, data: [])
    /// OPTION_DNS_SERVERS. RFC 3646 §3.
    public static func dnsServers(_ addresses: [IPv6Address]) -> DHCPv6Option {
        DHCPv6Option(code: .dnsServers, data: addresses.flatMap(\.bytes))
    }
    /// OPTION_DOMAIN_LIST. RFC 3646 §4, names encoded per RFC 1035 §3.1 without compression. Throws
    /// `.malformed` for a name that cannot be encoded.
    public static func domainList(_ names: [String]) throws(WireError) -> DHCPv6Option {
        DHCPv6Option(code: .domainList, data: try DomainNameList.encode(names, format: "DHCPv6 OPTION_DOMAIN_LIST"))
    }
    /// OPTION_INFORMATION_REFRESH_TIME in seconds. RFC 8415 §21.23.
    public static func informationRefreshTime(_ seconds: UInt32) -> DHCPv6Option {
        DHCPv6Option(code: .informationRefreshTime, data: bigEndianBytes(seconds))
    }
    /// OPTION_SOL_MAX_RT in seconds. RFC 8415 §21.24.
    public static func solMaxRT(_ seconds: UInt32) -> DHCPv6Option { DHCPv6Option(code: .solMaxRT, data: bigEndianBytes(seconds)) }
}
