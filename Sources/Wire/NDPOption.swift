/// The type of a Neighbor Discovery option. RFC 4861 §4.6; IANA "IPv6 Neighbor Discovery Option Formats". Open.
public struct NDPOptionType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// RFC 4861 §4.6.1.
    public static let sourceLinkLayerAddress = NDPOptionType(1)
    /// RFC 4861 §4.6.1.
    public static let targetLinkLayerAddress = NDPOptionType(2)
    /// RFC 4861 §4.6.2.
    public static let prefixInformation = NDPOptionType(3)
    /// RFC 4861 §4.6.3.
    public static let redirectedHeader = NDPOptionType(4)
    /// RFC 4861 §4.6.4.
    public static let mtu = NDPOptionType(5)
    /// Recursive DNS Server. RFC 8106 §5.1.
    public static let recursiveDNSServer = NDPOptionType(25)
    /// DNS Search List. RFC 8106 §5.2.
    public static let dnsSearchList = NDPOptionType(31)

    public var description: String {
        switch self {
        case .sourceLinkLayerAddress: "source link-layer address"
        case .targetLinkLayerAddress: "target link-layer address"
        case .prefixInformation: "prefix information"
        case .redirectedHeader: "redirected header"
        case .mtu: "MTU"
        case .recursiveDNSServer: "RDNSS"
        case .dnsSearchList: "DNSSL"
        default: "NDP option \(rawValue)"
        }
    }
}

/// The body of a Prefix Information option. RFC 4861 §4.6.2. Lifetimes are in seconds, 0xFFFFFFFF meaning
/// infinity. The reserved bits are dropped on parse and written as zero.
public struct NDPPrefixInformation: Equatable, Hashable, Sendable {
    /// 0 through 128.
    public var prefixLength: UInt8
    /// The L flag: the prefix is on-link.
    public var onLink: Bool
    /// The A flag: the prefix may be used for stateless address autoconfiguration (RFC 4862 §5.5.3).
    public var autonomous: Bool
    public var validLifetime: UInt32
    public var preferredLifetime: UInt32
    /// The prefix; bits after `prefixLength` are meant to be zero (receivers ignore them).
    public var prefix: IPv6Address

    public init(prefixLength: UInt8, onLink: Bool, autonomous: Bool, validLifetime: UInt32,
                preferredLifetime: UInt32, prefix: IPv6Address) {
        self.prefixLength = prefixLength
        self.onLink = onLink
        self.autonomous = autonomous
        self.validLifetime = validLifetime
        self.preferredLifetime = preferredLifetime
        self.prefix = prefix
    }

    /// `prefix`/`prefixLength` as an `IPv6Prefix`, or nil if the length exceeds 128.
    public var ipv6Prefix: IPv6Prefix? {
        prefixLength <= 128 ? IPv6Prefix(address: prefix, length: Int(prefixLength)) : nil
    }
}

/// One Neighbor Discovery option, typed where tapvm uses it and raw otherwise. RFC 4861 §4.6, RFC 8106 §5.
///
/// Options are type (1), length (1, in units of 8 bytes, type and length included), data. A length of 0 or an
/// option running past the message makes the whole message malformed (RFC 4861 §4.6, §6.1.2: "all included
/// options have a length that is greater than zero"). A known option whose body does not fit its format (a
/// link-layer address option of length ≠ 1 — Ethernet MACs, RFC 2464 §6 —, an RDNSS of even length, a DNSSL that
/// does not decode) spoils only itself: it parses as `.invalid` and the receiver ignores it, as Linux does
/// (ndisc_parse_options skips a bad option instead of dropping the message).
public enum NDPOption: Equatable, Hashable, Sendable {
    case sourceLinkLayerAddress(MACAddress)
    case targetLinkLayerAddress(MACAddress)
    case prefixInformation(NDPPrefixInformation)
    /// The link MTU. RFC 4861 §4.6.4.
    case mtu(UInt32)
    /// Recursive DNS servers and their lifetime in seconds. RFC 8106 §5.1.
    case recursiveDNSServer(lifetime: UInt32, addresses: [IPv6Address])
    /// Domain names to search and their lifetime in seconds. RFC 8106 §5.2.
    case dnsSearchList(lifetime: UInt32, domainNames: [String])
    /// Any other option: `data` is everything after the type and length bytes, so `data.count + 2` is a
    /// multiple of 8.
    case other(type: NDPOptionType, data: [UInt8])
    /// A known option whose body does not fit its format (see above): `data` as in `.other`. Receivers ignore it
    /// (and count it); emitting writes it back verbatim.
    case invalid(type: NDPOptionType, data: [UInt8])

    public var type: NDPOptionType {
        switch self {
        case .sourceLinkLayerAddress: .sourceLinkLayerAddress
        case .targetLinkLayerAddress: .targetLinkLayerAddress
        case .prefixInformation: .prefixInformation
        case .mtu: .mtu
        case .recursiveDNSServer: .recursiveDNSServer
        case .dnsSearchList: .dnsSearchList
        case let .other(type, _), let .invalid(type, _): type
        }
    }

    /// The encoded length in bytes, a multiple of 8.
    public var encodedLength: Int {
        switch self {
        case .sourceLinkLayerAddress, .targetLinkLayerAddress, .mtu: 8
        case .prefixInformation: 32
        case let .recursiveDNSServer(_, addresses): 8 + 16 * addresses.count
        case let .dnsSearchList(_, names): (8 + DomainNameList.encodedLength(names) + 7) / 8 * 8
        case let .other(_, data), let .invalid(_, data): data.count + 2
        }
    }

    // MARK: Parsing

    /// Parses the options filling `area` (the bytes after an NDP message's fixed part). RFC 4861 §4.6.
    static func parse(_ area: UnsafeRawBufferPointer) throws(WireError) -> [NDPOption] {
        var options: [NDPOption] = []
        var index = 0
        while index < area.count {
            guard index + 2 <= area.count else {
                throw .truncated(format: "NDP option", needed: index + 2, available: area.count)
            }
            let type = NDPOptionType(area[index])
            let units = Int(area[index + 1])
            guard units > 0 else {
                throw .malformed(format: "NDP option \(type)", field: "length", detail: "0 at offset \(index)")
            }
            let end = index + units * 8
            guard end <= area.count else {
                throw .truncated(format: "NDP option \(type)", needed: end, available: area.count)
            }
            let body = area.rebased(index ..< end)
            do {
                options.append(try parseOne(type: type, units: units, body))
            } catch {
                options.append(.invalid(type: type, data: Array(body.rebased(2 ..< body.count))))
            }
            index = end
        }
        return options
    }

    private static func parseOne(type: NDPOptionType, units: Int, _ option: UnsafeRawBufferPointer) throws(WireError) -> NDPOption {
        func requireUnits(_ valid: Bool, _ expected: String) throws(WireError) {
            guard valid else {
                throw .malformed(format: "NDP option \(type)", field: "length", detail: "\(units), expected \(expected)")
            }
        }
        switch type {
        case .sourceLinkLayerAddress:
            try requireUnits(units == 1, "1 (an Ethernet MAC)")
            return .sourceLinkLayerAddress(MACAddress(option, at: 2))
        case .targetLinkLayerAddress:
            try requireUnits(units == 1, "1 (an Ethernet MAC)")
            return .targetLinkLayerAddress(MACAddress(option, at: 2))
        case .prefixInformation:
            try requireUnits(units == 4, "4")
            return .prefixInformation(NDPPrefixInformation(
                prefixLength: option[2], onLink: option[3] & 0x80 != 0, autonomous: option[3] & 0x40 != 0,
                validLifetime: option.bigEndian(UInt32.self, at: 4), preferredLifetime: option.bigEndian(UInt32.self, at: 8),
                prefix: IPv6Address(option, at: 16)))
        case .mtu:
            try requireUnits(units == 1, "1")
            return .mtu(option.bigEndian(UInt32.self, at: 4))
        case .recursiveDNSServer:
            try requireUnits(units >= 3 && units % 2 == 1, "an odd number of at least 3 (RFC 8106 §5.1)")
            let addresses = stride(from: 8, to: option.count, by: 16).map { IPv6Address(option, at: $0) }
            return .recursiveDNSServer(lifetime: option.bigEndian(UInt32.self, at: 4), addresses: addresses)
        case .dnsSearchList:
            try requireUnits(units >= 2, "at least 2 (RFC 8106 §5.2)")
            let names = try DomainNameList.decode(option.rebased(8 ..< option.count), format: "NDP option DNSSL")
            guard !names.isEmpty else {
                throw .malformed(format: "NDP option DNSSL", field: "domainNames", detail: "none (RFC 8106 §5.2 needs one)")
            }
            return .dnsSearchList(lifetime: option.bigEndian(UInt32.self, at: 4), domainNames: names)
        default:
            return .other(type: type, data: Array(option.rebased(2 ..< option.count)))
        }
    }

    // MARK: Emitting

    /// Writes `options` at `offset` in `buffer` and returns the offset after them. The caller has checked the
    /// capacity with `encodedLength`. Throws `.malformed` for an option that cannot be encoded.
    static func emit(_ options: [NDPOption], into buffer: UnsafeMutableRawBufferPointer, at start: Int) throws(WireError) -> Int {
        var offset = start
        for option in options {
            let length = option.encodedLength
            guard length % 8 == 0, length > 0, length <= 255 * 8 else {
                throw .malformed(format: "NDP option \(option.type)", field: "length", detail: "\(length) bytes, need a non-zero multiple of 8 up to 2040")
            }
            buffer[offset] = option.type.rawValue
            buffer[offset + 1] = UInt8(length / 8)
            switch option {
            case let .sourceLinkLayerAddress(mac), let .targetLinkLayerAddress(mac):
                mac.store(into: buffer, at: offset + 2)
            case let .prefixInformation(information):
                buffer[offset + 2] = information.prefixLength
                buffer[offset + 3] = (information.onLink ? 0x80 : 0) | (information.autonomous ? 0x40 : 0)
                buffer.storeBigEndian(information.validLifetime, at: offset + 4)
                buffer.storeBigEndian(information.preferredLifetime, at: offset + 8)
                buffer.storeBigEndian(UInt32(0), at: offset + 12)
                information.prefix.store(into: buffer, at: offset + 16)
            case let .mtu(mtu):
                buffer.storeBigEndian(UInt16(0), at: offset + 2)
                buffer.storeBigEndian(mtu, at: offset + 4)
            case let .recursiveDNSServer(lifetime, addresses):
                guard !addresses.isEmpty else {
                    throw .malformed(format: "NDP option RDNSS", field: "addresses", detail: "empty (RFC 8106 §5.1)")
                }
                buffer.storeBigEndian(UInt16(0), at: offset + 2)
                buffer.storeBigEndian(lifetime, at: offset + 4)
                for (index, address) in addresses.enumerated() { address.store(into: buffer, at: offset + 8 + 16 * index) }
            case let .dnsSearchList(lifetime, names):
                guard !names.isEmpty else {
                    throw .malformed(format: "NDP option DNSSL", field: "domainNames", detail: "empty (RFC 8106 §5.2)")
                }
                let encoded = try DomainNameList.encode(names, format: "NDP option DNSSL")
                buffer.storeBigEndian(UInt16(0), at: offset + 2)
                buffer.storeBigEndian(lifetime, at: offset + 4)
                buffer.storeZeroPadded(encoded, at: offset + 8, fieldLength: length - 8)
            case let .other(_, data), let .invalid(_, data):
                buffer.storeBytes(data, at: offset + 2)
            }
            offset += length
        }
        return offset
    }

    /// The total encoded length of `options`.
    static func encodedLength(_ options: [NDPOption]) -> Int { options.reduce(0) { $0 + $1.encodedLength } }
}

extension Array where Element == NDPOption {
    /// The MAC of the first source link-layer address option.
    public var sourceLinkLayerAddress: MACAddress? {
        for case let .sourceLinkLayerAddress(mac) in self { return mac }
        return nil
    }
    /// The MAC of the first target link-layer address option.
    public var targetLinkLayerAddress: MACAddress? {
        for case let .targetLinkLayerAddress(mac) in self { return mac }
        return nil
    }
    /// Every prefix information option, in order.
    public var prefixInformation: [NDPPrefixInformation] {
        compactMap { if case let .prefixInformation(information) = $0 { information } else { nil } }
    }
    /// How many options are `.invalid` (known but malformed, ignored by the receiver).
    public var invalidCount: Int {
        reduce(0) { count, option in if case .invalid = option { count + 1 } else { count } }
    }
    /// The value of the first MTU option.
    public var mtu: UInt32? {
        for case let .mtu(mtu) in self { return mtu }
        return nil
    }
}
