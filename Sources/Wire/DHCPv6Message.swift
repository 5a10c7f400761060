/// A DHCPv6 client/server message as a value: type, transaction ID and options in order. RFC 8415 §8.
public struct DHCPv6Message: Equatable, Hashable, Sendable {
    public var messageType: DHCPv6MessageType
    /// 24 bits.
    public var transactionID: UInt32
    public var options: [DHCPv6Option]

    public init(messageType: DHCPv6MessageType, transactionID: UInt32, options: [DHCPv6Option] = []) {
        self.messageType = messageType
        self.transactionID = transactionID
        self.options = options
    }

    /// Throws what `DHCPv6Packet.options()` throws.
    public init(_ view: DHCPv6Packet) throws(WireError) {
        self.init(messageType: view.messageType, transactionID: view.transactionID, options: try view.options())
    }

    public var encodedLength: Int { DHCPv6Packet.headerLength + DHCPv6Option.encodedLength(options) }

    /// Writes the message at the start of `buffer`. Throws `.malformed` for a transaction ID over 24 bits or
    /// option data over 65535 bytes.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard transactionID <= 0x00FF_FFFF else {
            throw .malformed(format: "DHCPv6", field: "transactionID", detail: "0x\(String(transactionID, radix: 16)) does not fit 24 bits")
        }
        for option in options where option.data.count > Int(UInt16.max) {
            throw .malformed(format: "DHCPv6", field: "options", detail: "\(option.code) has \(option.data.count) bytes, at most 65535")
        }
        try buffer.requireCapacity(encodedLength, format: "DHCPv6")
        buffer.storeBigEndian(UInt32(messageType.rawValue) << 24 | transactionID, at: 0)
        buffer.storeBytes(DHCPv6Option.encode(options), at: DHCPv6Packet.headerLength)
    }

    // MARK: Typed options (nil or empty when absent or malformed)

    /// The first option with `code`.
    public func option(_ code: DHCPv6OptionCode) -> DHCPv6Option? { options.first { $0.code == code } }

    /// Every option with `code`, in order.
    public func options(_ code: DHCPv6OptionCode) -> [DHCPv6Option] { options.filter { $0.code == code } }

    private func uint32(_ code: DHCPv6OptionCode) -> UInt32? {
        guard let data = option(code)?.data, data.count == 4 else { return nil }
        return data.bigEndian(UInt32.self, at: 0)
    }

    /// OPTION_CLIENTID. RFC 8415 §21.2.
    public var clientIdentifier: DUID? { option(.clientIdentifier).map { DUID(bytes: $0.data) } }
    /// OPTION_SERVERID. RFC 8415 §21.3.
    public var serverIdentifier: DUID? { option(.serverIdentifier).map { DUID(bytes: $0.data) } }
    /// Every OPTION_IA_NA that parses, in order. RFC 8415 §21.4.
    public var identityAssociations: [DHCPv6IANA] { options(.iaNA).compactMap { try? DHCPv6IANA(data: $0.data) } }
    /// OPTION_ORO (an odd length makes it malformed: empty). RFC 8415 §21.7.
    public var optionRequest: [DHCPv6OptionCode] {
        guard let data = option(.optionRequest)?.data, data.count % 2 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 2).map { DHCPv6OptionCode(data.bigEndian(UInt16.self, at: $0)) }
    }
    /// OPTION_PREFERENCE. RFC 8415 §21.8.
    public var preference: UInt8? {
        guard let data = option(.preference)?.data, data.count == 1 else { return nil }
        return data[0]
    }
    /// OPTION_ELAPSED_TIME in hundredths of a second. RFC 8415 §21.9.
    public var elapsedTime: UInt16? {
        guard let data = option(.elapsedTime)?.data, data.count == 2 else { return nil }
        return data.bigEndian(UInt16.self, at: 0)
    }
    /// The top-level OPTION_STATUS_CODE (absent means success). RFC 8415 §21.13.
    public var status: DHCPv6Status? { option(.statusCode).flatMap { try? DHCPv6Status(data: $0.data) } }
    /// Whether OPTION_RAPID_COMMIT is present. RFC 8415 §21.14.
    public var rapidCommit: Bool { option(.rapidCommit) != nil }
    /// OPTION_DNS_SERVERS (a length that is not a multiple of 16 makes it malformed: empty). RFC 3646 §3.
    public var dnsServers: [IPv6Address] {
        guard let data = option(.dnsServers)?.data, data.count % 16 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 16).map { IPv6Address(bytes: data[$0 ..< $0 + 16])! }
    }
    /// OPTION_DOMAIN_LIST (malformed: empty). RFC 3646 §4.
    public var domainList: [String] {
        guard let data = option(.domainList)?.data else { return [] }
        return (try? parsing(data) { (bytes) throws(WireError) in
            try DomainNameList.decode(bytes, format: "DHCPv6 OPTION_DOMAIN_LIST")
        }) ?? []
    }
    /// OPTION_INFORMATION_REFRESH_TIME in seconds. RFC 8415 §21.23.
    public var informationRefreshTime: UInt32? { uint32(.informationRefreshTime) }
    /// OPTION_SOL_MAX_RT in seconds. RFC 8415 §21.24.
    public var solMaxRT: UInt32? { uint32(.solMaxRT) }
    /// OPTION_INF_MAX_RT in seconds. RFC 8415 §21.25.
    public var informationMaxRT: UInt32? { uint32(.informationMaxRT) }
    /// OPTION_UNICAST: the server's address; nil unless the option holds exactly 16 bytes. RFC 8415 §21.12.
    public var serverUnicast: IPv6Address? {
        option(.serverUnicast).flatMap { $0.data.count == 16 ? IPv6Address(bytes: $0.data) : nil }
    }
}
