/// A DHCP message as a value: the fixed fields and the options in order. RFC 2131 §2, RFC 2132.
///
/// `serverName` and `bootFileName` hold their field without the trailing zero bytes (emit pads them back).
/// Only the first 6 bytes of chaddr are kept (`clientHardwareAddress`); emit zeroes the other 10.
public struct DHCPMessage: Equatable, Hashable, Sendable {
    public var op: DHCPOperation
    public var hardwareType: UInt8
    public var hardwareAddressLength: UInt8
    public var hops: UInt8
    /// xid.
    public var transactionID: UInt32
    /// secs.
    public var seconds: UInt16
    public var flags: UInt16
    /// ciaddr.
    public var clientAddress: IPv4Address
    /// yiaddr.
    public var yourAddress: IPv4Address
    /// siaddr.
    public var serverAddress: IPv4Address
    /// giaddr.
    public var relayAgentAddress: IPv4Address
    /// chaddr (first 6 bytes).
    public var clientHardwareAddress: MACAddress
    /// sname, at most 64 bytes, trailing zeros removed.
    public var serverName: [UInt8]
    /// file, at most 128 bytes, trailing zeros removed.
    public var bootFileName: [UInt8]
    /// The options in order, without pad and end.
    public var options: [DHCPOption]

    public init(op: DHCPOperation = .bootRequest, hardwareType: UInt8 = 1, hardwareAddressLength: UInt8 = 6,
                hops: UInt8 = 0, transactionID: UInt32 = 0, seconds: UInt16 = 0, flags: UInt16 = 0,
                clientAddress: IPv4Address = .any, yourAddress: IPv4Address = .any,
                serverAddress: IPv4Address = .any, relayAgentAddress: IPv4Address = .any,
                clientHardwareAddress: MACAddress = .zero, serverName: [UInt8] = [], bootFileName: [UInt8] = [],
                options: [DHCPOption] = []) {
        self.op = op
        self.hardwareType = hardwareType
        self.hardwareAddressLength = hardwareAddressLength
        self.hops = hops
        self.transactionID = transactionID
        self.seconds = seconds
        self.flags = flags
        self.clientAddress = clientAddress
        self.yourAddress = yourAddress
        self.serverAddress = serverAddress
        self.relayAgentAddress = relayAgentAddress
        self.clientHardwareAddress = clientHardwareAddress
        self.serverName = serverName
        self.bootFileName = bootFileName
        self.options = options
    }

    /// Copies the fixed fields and parses the options; throws what `DHCPPacket.options()` throws.
    public init(_ view: DHCPPacket) throws(WireError) {
        self.init(op: view.op, hardwareType: view.hardwareType, hardwareAddressLength: view.hardwareAddressLength,
                  hops: view.hops, transactionID: view.transactionID, seconds: view.seconds, flags: view.flags,
                  clientAddress: view.clientAddress, yourAddress: view.yourAddress,
                  serverAddress: view.serverAddress, relayAgentAddress: view.relayAgentAddress,
                  clientHardwareAddress: view.clientHardwareAddress,
                  serverName: Self.trimmingTrailingZeros(view.serverName),
                  bootFileName: Self.trimmingTrailingZeros(view.bootFileName),
                  options: try view.options())
    }

    private static func trimmingTrailingZeros(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var array = Array(bytes)
        while array.last == 0 { array.removeLast() }
        return array
    }

    /// The BROADCAST flag. RFC 2131 §4.1.
    public var isBroadcast: Bool {
        get { flags & 0x8000 != 0 }
        set { flags = newValue ? flags | 0x8000 : flags & 0x7FFF }
    }

    // MARK: Encoding

    /// The encoded length of the options: each split into pieces of at most 255 bytes (RFC 3396), plus end.
    private var optionsLength: Int {
        options.reduce(1) { length, option in
            let pieces = max(1, (option.data.count + 254) / 255)
            return length + 2 * pieces + option.data.count
        }
    }

    /// Fixed part, cookie, options and end, padded with zeros to at least 300 bytes (RFC 1542 §2.1).
    public var encodedLength: Int { max(DHCPPacket.minimumLength + optionsLength, DHCPPacket.minimumMessageLength) }

    /// Writes the whole message at the start of `buffer`. Throws `.malformed` for a `serverName` over 64 bytes,
    /// a `bootFileName` over 128 bytes, or a pad or end option in `options`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard serverName.count <= DHCPPacket.serverNameLength else {
            throw .malformed(format: "DHCP", field: "serverName", detail: "\(serverName.count) bytes, at most 64")
        }
        guard bootFileName.count <= DHCPPacket.bootFileNameLength else {
            throw .malformed(format: "DHCP", field: "bootFileName", detail: "\(bootFileName.count) bytes, at most 128")
        }
        for option in options where option.code == .pad || option.code == .end {
            throw .malformed(format: "DHCP", field: "options", detail: "\(option.code) is a marker, not an option with data")
        }
        let length = encodedLength
        try buffer.requireCapacity(length, format: "DHCP")
        buffer[0] = op.rawValue
        buffer[1] = hardwareType
        buffer[2] = hardwareAddressLength
        buffer[3] = hops
        buffer.storeBigEndian(transactionID, at: 4)
        buffer.storeBigEndian(seconds, at: 8)
        buffer.storeBigEndian(flags, at: 10)
        clientAddress.store(into: buffer, at: 12)
        yourAddress.store(into: buffer, at: 16)
        serverAddress.store(into: buffer, at: 20)
        relayAgentAddress.store(into: buffer, at: 24)
        buffer.storeZeroPadded(clientHardwareAddress.array, at: 28, fieldLength: 16)
        buffer.storeZeroPadded(serverName, at: DHCPPacket.serverNameOffset, fieldLength: DHCPPacket.serverNameLength)
        buffer.storeZeroPadded(bootFileName, at: DHCPPacket.bootFileNameOffset, fieldLength: DHCPPacket.bootFileNameLength)
        buffer.storeBigEndian(DHCPPacket.magicCookie, at: DHCPPacket.fixedLength)
        var offset = DHCPPacket.minimumLength
        for option in options {
            var start = 0
            repeat {
                let end = min(start + 255, option.data.count)
                buffer[offset] = option.code.rawValue
                buffer[offset + 1] = UInt8(end - start)
                buffer.storeBytes(Array(option.data[start ..< end]), at: offset + 2)
                offset += 2 + end - start
                start = end
            } while start < option.data.count
        }
        buffer[offset] = DHCPOptionCode.end.rawValue
        offset += 1
        while offset < length {
            buffer[offset] = 0
            offset += 1
        }
    }

    // MARK: Typed options (nil or empty when absent or malformed)

    /// The first option with `code` (options are already concatenated, so there is at most one when parsed).
    public func option(_ code: DHCPOptionCode) -> DHCPOption? {
        options.first { $0.code == code }
    }

    private func address(_ code: DHCPOptionCode) -> IPv4Address? {
        guard let data = option(code)?.data, data.count == 4 else { return nil }
        return IPv4Address(data[0], data[1], data[2], data[3])
    }

    private func addresses(_ code: DHCPOptionCode) -> [IPv4Address] {
        guard let data = option(code)?.data, !data.isEmpty, data.count % 4 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 4).map { IPv4Address(data[$0], data[$0 + 1], data[$0 + 2], data[$0 + 3]) }
    }

    private func uint32(_ code: DHCPOptionCode) -> UInt32? {
        guard let data = option(code)?.data, data.count == 4 else { return nil }
        return data.bigEndian(UInt32.self, at: 0)
    }

    private func uint16(_ code: DHCPOptionCode) -> UInt16? {
        guard let data = option(code)?.data, data.count == 2 else { return nil }
        return data.bigEndian(UInt16.self, at: 0)
    }

    /// Text options may carry a trailing NUL from some servers; it is dropped. Nil unless valid UTF-8.
    private func string(_ code: DHCPOptionCode) -> String? {
        guard var data = option(code)?.data else { return nil }
        while data.last == 0 { data.removeLast() }
        guard !data.isEmpty else { return nil }
        return String(validating: data, as: UTF8.self)
    }

    /// Option 53. RFC 2132 §9.6.
    public var messageType: DHCPMessageType? {
        guard let data = option(.messageType)?.data, data.count == 1 else { return nil }
        return DHCPMessageType(data[0])
    }
    /// Option 54. RFC 2132 §9.7.
    public var serverIdentifier: IPv4Address? { address(.serverIdentifier) }
    /// Option 50. RFC 2132 §9.1.
    public var requestedIPAddress: IPv4Address? { address(.requestedIPAddress) }
    /// Option 51, seconds (0xFFFFFFFF = infinity). RFC 2132 §9.2.
    public var ipAddressLeaseTime: UInt32? { uint32(.ipAddressLeaseTime) }
    /// Option 58, T1 in seconds. RFC 2132 §9.11.
    public var renewalTime: UInt32? { uint32(.renewalTime) }
    /// Option 59, T2 in seconds. RFC 2132 §9.12.
    public var rebindingTime: UInt32? { uint32(.rebindingTime) }
    /// Option 1. RFC 2132 §3.3.
    public var subnetMask: IPv4Address? { address(.subnetMask) }
    /// Option 28. RFC 2132 §5.3.
    public var broadcastAddress: IPv4Address? { address(.broadcastAddress) }
    /// Option 3, in order of preference. RFC 2132 §3.5.
    public var routers: [IPv4Address] { addresses(.router) }
    /// Option 6, in order of preference. RFC 2132 §3.8.
    public var domainNameServers: [IPv4Address] { addresses(.domainNameServer) }
    /// Option 12. RFC 2132 §3.14.
    public var hostName: String? { string(.hostName) }
    /// Option 15. RFC 2132 §3.17.
    public var domainName: String? { string(.domainName) }
    /// Option 26, at least 68. RFC 2132 §5.1.
    public var interfaceMTU: UInt16? {
        guard let mtu = uint16(.interfaceMTU), mtu >= 68 else { return nil }
        return mtu
    }
    /// Option 56, an error message (usually in a DHCPNAK). RFC 2132 §9.9.
    public var message: String? { string(.message) }
    /// Option 57. RFC 2132 §9.10.
    public var maximumMessageSize: UInt16? { uint16(.maximumMessageSize) }
    /// Option 55. RFC 2132 §9.8.
    public var parameterRequestList: [DHCPOptionCode] { option(.parameterRequestList)?.data.map { DHCPOptionCode(rawValue: $0) } ?? [] }
    /// Option 42, in order of preference. RFC 2132 §8.3.
    public var ntpServers: [IPv4Address] { addresses(.ntpServers) }
    /// Option 119: nil when absent or malformed (`DHCPDomainSearch.decode`). RFC 3397.
    public var domainSearch: [String]? { option(.domainSearch).flatMap { DHCPDomainSearch.decode($0.data) } }
    /// Option 121: nil when absent or malformed (`DHCPClasslessRoute.parse`). RFC 3442.
    public var classlessStaticRoutes: [DHCPClasslessRoute]? {
        option(.classlessStaticRoute).flatMap { DHCPClasslessRoute.parse($0.data) }
    }
    /// Option 108, V6ONLY_WAIT in seconds; nil unless exactly 4 bytes. RFC 8925 §3.1.
    public var ipv6OnlyPreferredWait: UInt32? { uint32(.ipv6OnlyPreferred) }
    /// Option 80 present (its length must be 0). RFC 4039 §4.
    public var hasRapidCommit: Bool { option(.rapidCommit)?.data.isEmpty ?? false }
    /// Option 61, raw. RFC 2132 §9.14.
    public var clientIdentifier: [UInt8]? { option(.clientIdentifier)?.data }
}
