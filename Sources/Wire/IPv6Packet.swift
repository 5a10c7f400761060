/// A view of an IPv6 packet. RFC 8200 §3.
///
/// The initializer checks the 40-byte header, version 6 and that the payload length fits the buffer; every
/// accessor is then safe. `payload` ends at `payloadLength`, so Ethernet padding is excluded. Jumbograms
/// (RFC 2675, payload length 0 with a Jumbo Payload option) are not supported: a payload length of 0 is an
/// empty payload. `upperLayer()` walks the extension headers.
public struct IPv6Packet {
    /// The fixed header: version/class/label (4), payload length (2), next header (1), hop limit (1),
    /// source (16), destination (16).
    public static let headerLength = 40

    /// The buffer the view was made over (may extend past the payload).
    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.headerLength, format: "IPv6")
        let version = bytes[0] >> 4
        guard version == 6 else {
            throw .malformed(format: "IPv6", field: "version", detail: "\(version), expected 6")
        }
        try bytes.require(Self.headerLength + Int(bytes.bigEndian(UInt16.self, at: 4)), format: "IPv6")
        self.bytes = bytes
    }

    /// Always 6 (checked on init).
    public var version: UInt8 { bytes[0] >> 4 }
    /// The 8-bit traffic class (DSCP and ECN, RFC 2474 / RFC 3168). RFC 8200 §7.
    public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.bigEndian(UInt32.self, at: 0) >> 20) }
    /// The 20-bit flow label. RFC 8200 §6, RFC 6437.
    public var flowLabel: UInt32 { bytes.bigEndian(UInt32.self, at: 0) & 0x000F_FFFF }
    /// The bytes after the fixed header, extension headers included.
    public var payloadLength: Int { Int(bytes.bigEndian(UInt16.self, at: 4)) }
    /// The type of the header after the fixed header: an extension header or the upper-layer protocol.
    public var nextHeader: IPProtocol { IPProtocol(bytes[6]) }
    public var hopLimit: UInt8 { bytes[7] }
    public var source: IPv6Address { IPv6Address(bytes, at: 8) }
    public var destination: IPv6Address { IPv6Address(bytes, at: 24) }
    /// The fixed header bytes.
    public var header: UnsafeRawBufferPointer { bytes.rebased(0 ..< Self.headerLength) }
    /// The bytes after the fixed header, up to `payloadLength` (extension headers included).
    public var payload: UnsafeRawBufferPointer { bytes.rebased(Self.headerLength ..< Self.headerLength + payloadLength) }

    /// Walks the extension headers of `payload` to the upper layer. See `IPv6UpperLayer.init(nextHeader:payload:)`.
    public func upperLayer() throws(WireError) -> IPv6UpperLayer {
        try IPv6UpperLayer(nextHeader: nextHeader, payload: payload)
    }
}

/// An IPv6 fixed header as a value. RFC 8200 §3. The version is always written as 6.
public struct IPv6Header: Equatable, Hashable, Sendable {
    public var trafficClass: UInt8
    /// 20 bits.
    public var flowLabel: UInt32
    /// The bytes after the fixed header (extension headers and upper layer), at most 65535.
    public var payloadLength: Int
    public var nextHeader: IPProtocol
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address

    public init(source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, payloadLength: Int,
                hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0) {
        self.source = source
        self.destination = destination
        self.nextHeader = nextHeader
        self.payloadLength = payloadLength
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
    }

    public init(_ view: IPv6Packet) {
        self.init(source: view.source, destination: view.destination, nextHeader: view.nextHeader,
                  payloadLength: view.payloadLength, hopLimit: view.hopLimit,
                  trafficClass: view.trafficClass, flowLabel: view.flowLabel)
    }

    /// Always 40: the fixed header alone (the caller writes the payload after it).
    public var encodedLength: Int { IPv6Packet.headerLength }

    /// Writes the 40 header bytes at the start of `buffer`. Throws `.malformed` if the flow label exceeds 20 bits
    /// or the payload length is outside 0 through 65535.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard flowLabel <= 0x000F_FFFF else {
            throw .malformed(format: "IPv6", field: "flowLabel", detail: "\(flowLabel) does not fit 20 bits")
        }
        guard payloadLength >= 0, payloadLength <= Int(UInt16.max) else {
            throw .malformed(format: "IPv6", field: "payloadLength", detail: "\(payloadLength) does not fit 16 bits")
        }
        try buffer.requireCapacity(IPv6Packet.headerLength, format: "IPv6")
        buffer.storeBigEndian(UInt32(6) << 28 | UInt32(trafficClass) << 20 | flowLabel, at: 0)
        buffer.storeBigEndian(UInt16(payloadLength), at: 4)
        buffer[6] = nextHeader.rawValue
        buffer[7] = hopLimit
        source.store(into: buffer, at: 8)
        destination.store(into: buffer, at: 24)
    }
}
