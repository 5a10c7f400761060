/// A view of a Multicast Listener Query, MLDv1 or MLDv2 (a whole ICMPv6 message). RFC 3810 §5.1, RFC 2710 §3.
///
/// Layout: type 130 (1), code (1), checksum (2), maximum response code (2), reserved (2), multicast address
/// (16) — the whole MLDv1 query, 24 bytes — then for MLDv2 reserved (4 bits) S (1 bit) QRV (3 bits), QQIC (1),
/// number of sources (2), sources. RFC 3810 §8.1: 24 bytes is MLDv1, 28 or more MLDv2, anything else is
/// malformed; the initializer checks this and that the sources fit. Bytes after the sources are ignored.
public struct MLDQueryPacket {
    public static let version1Length = 24
    public static let version2MinimumLength = 28

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.requireICMPv6(.multicastListenerQuery, minimumLength: Self.version1Length, format: "MLD query")
        if bytes.count > Self.version1Length {
            guard bytes.count >= Self.version2MinimumLength else {
                throw .malformed(format: "MLD query", field: "length", detail: "\(bytes.count), neither 24 (MLDv1) nor 28 or more (MLDv2)")
            }
            try bytes.require(Self.version2MinimumLength + 16 * Int(bytes.bigEndian(UInt16.self, at: 26)), format: "MLDv2 query")
        }
        self.bytes = bytes
    }

    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// An MLDv2 query (28 bytes or more). RFC 3810 §8.1.
    public var isVersion2: Bool { bytes.count >= Self.version2MinimumLength }
    /// Maximum Response Code. RFC 3810 §5.1.3.
    public var maximumResponseCode: UInt16 { bytes.bigEndian(UInt16.self, at: 4) }
    /// The maximum response delay in milliseconds decoded from `maximumResponseCode` (MLDv1: the code itself).
    public var maximumResponseDelay: Int {
        isVersion2 ? MLDQuery.maximumResponseDelay(code: maximumResponseCode) : Int(maximumResponseCode)
    }
    /// `::` for a general query, else the group asked about. RFC 3810 §5.1.5.
    public var multicastAddress: IPv6Address { IPv6Address(bytes, at: 8) }
    /// MLDv2 S flag: routers suppress timer updates. False for MLDv1. RFC 3810 §5.1.7.
    public var suppressRouterSideProcessing: Bool { isVersion2 && bytes[24] & 0x08 != 0 }
    /// MLDv2 QRV (0 for MLDv1 or "over 7"). RFC 3810 §5.1.8.
    public var querierRobustnessVariable: UInt8 { isVersion2 ? bytes[24] & 0x07 : 0 }
    /// MLDv2 QQIC (0 for MLDv1). RFC 3810 §5.1.9.
    public var querierQueryIntervalCode: UInt8 { isVersion2 ? bytes[25] : 0 }
    /// The querier's query interval in seconds decoded from QQIC.
    public var querierQueryInterval: Int { MLDQuery.querierQueryInterval(code: querierQueryIntervalCode) }
    /// MLDv2 sources (empty for MLDv1). RFC 3810 §5.1.10.
    public var sources: [IPv6Address] {
        guard isVersion2 else { return [] }
        return (0 ..< Int(bytes.bigEndian(UInt16.self, at: 26))).map { IPv6Address(bytes, at: 28 + 16 * $0) }
    }
}

/// The MLDv2-only fields of a query. RFC 3810 §5.1.7 through §5.1.10.
public struct MLDv2QueryFields: Equatable, Hashable, Sendable {
    /// S flag.
    public var suppressRouterSideProcessing: Bool
    /// QRV, 0 through 7.
    public var querierRobustnessVariable: UInt8
    /// QQIC.
    public var querierQueryIntervalCode: UInt8
    public var sources: [IPv6Address]

    public init(suppressRouterSideProcessing: Bool = false, querierRobustnessVariable: UInt8 = 2,
                querierQueryIntervalCode: UInt8 = 125, sources: [IPv6Address] = []) {
        self.suppressRouterSideProcessing = suppressRouterSideProcessing
        self.querierRobustnessVariable = querierRobustnessVariable
        self.querierQueryIntervalCode = querierQueryIntervalCode
        self.sources = sources
    }
}

/// A Multicast Listener Query as a value: MLDv1 when `version2` is nil, MLDv2 otherwise. RFC 3810 §5.1.
public struct MLDQuery: Equatable, Hashable, Sendable {
    public var maximumResponseCode: UInt16
    public var multicastAddress: IPv6Address
    public var version2: MLDv2QueryFields?

    public init(maximumResponseCode: UInt16, multicastAddress: IPv6Address = .unspecified, version2: MLDv2QueryFields? = nil) {
        self.maximumResponseCode = maximumResponseCode
        self.multicastAddress = multicastAddress
        self.version2 = version2
    }

    public init(_ view: MLDQueryPacket) {
        self.init(maximumResponseCode: view.maximumResponseCode, multicastAddress: view.multicastAddress,
                  version2: view.isVersion2 ? MLDv2QueryFields(
                    suppressRouterSideProcessing: view.suppressRouterSideProcessing,
                    querierRobustnessVariable: view.querierRobustnessVariable,
                    querierQueryIntervalCode: view.querierQueryIntervalCode, sources: view.sources) : nil)
    }

    /// Milliseconds from a Maximum Response Code: the code below 32768, else the mantissa with its implied
    /// 0x1000 shifted left by exponent + 3. RFC 3810 §5.1.3.
    public static func maximumResponseDelay(code: UInt16) -> Int {
        guard code >= 0x8000 else { return Int(code) }
        return (Int(code & 0x0FFF) | 0x1000) << (Int(code >> 12 & 0x7) + 3)
    }

    /// Seconds from a QQIC: the code below 128, else the mantissa with its implied 0x10 shifted left by
    /// exponent + 3. RFC 3810 §5.1.9.
    public static func querierQueryInterval(code: UInt8) -> Int {
        guard code >= 0x80 else { return Int(code) }
        return (Int(code & 0x0F) | 0x10) << (Int(code >> 4 & 0x7) + 3)
    }

    public var encodedLength: Int {
        guard let version2 else { return MLDQueryPacket.version1Length }
        return MLDQueryPacket.version2MinimumLength + 16 * version2.sources.count
    }

    /// Writes the message with its checksum over the pseudo-header of `source` → `destination`. Code and
    /// reserved bits are zero. Throws `.malformed` for a QRV over 7 or more than 65535 sources.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        if let version2 {
            guard version2.querierRobustnessVariable <= 7 else {
                throw .malformed(format: "MLD query", field: "querierRobustnessVariable", detail: "\(version2.querierRobustnessVariable), at most 7")
            }
            guard version2.sources.count <= Int(UInt16.max) else {
                throw .malformed(format: "MLD query", field: "numberOfSources", detail: "\(version2.sources.count) does not fit 16 bits")
            }
        }
        try buffer.requireCapacity(encodedLength, format: "MLD query")
        buffer[0] = ICMPv6Type.multicastListenerQuery.rawValue
        buffer[1] = 0
        buffer.storeBigEndian(maximumResponseCode, at: 4)
        buffer.storeBigEndian(UInt16(0), at: 6)
        multicastAddress.store(into: buffer, at: 8)
        if let version2 {
            buffer[24] = (version2.suppressRouterSideProcessing ? 0x08 : 0) | version2.querierRobustnessVariable
            buffer[25] = version2.querierQueryIntervalCode
            buffer.storeBigEndian(UInt16(version2.sources.count), at: 26)
            for (index, address) in version2.sources.enumerated() { address.store(into: buffer, at: 28 + 16 * index) }
        }
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}
