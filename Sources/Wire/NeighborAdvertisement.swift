/// A view of a Neighbor Advertisement (a whole ICMPv6 message). RFC 4861 §4.4.
///
/// Layout: type 136 (1), code (1), checksum (2), R|S|O|reserved (4), target address (16), options. The
/// initializer checks the type and the 24 bytes; `options()` parses separately.
public struct NeighborAdvertisementPacket {
    public static let fixedLength = 24

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.requireICMPv6(.neighborAdvertisement, minimumLength: Self.fixedLength, format: "neighbor advertisement")
        self.bytes = bytes
    }

    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// R: the sender is a router.
    public var router: Bool { bytes[4] & 0x80 != 0 }
    /// S: sent in response to a Neighbor Solicitation.
    public var solicited: Bool { bytes[4] & 0x40 != 0 }
    /// O: the advertisement should override an existing cache entry.
    public var override: Bool { bytes[4] & 0x20 != 0 }
    /// The address whose link-layer address is advertised.
    public var targetAddress: IPv6Address { IPv6Address(bytes, at: 8) }
    public var optionsArea: UnsafeRawBufferPointer { bytes.rebased(Self.fixedLength ..< bytes.count) }
    /// Throws for a malformed option (RFC 4861 §4.6).
    public func options() throws(WireError) -> [NDPOption] { try NDPOption.parse(optionsArea) }
}

/// A Neighbor Advertisement as a value. RFC 4861 §4.4. Code 0; the reserved bits are written as zero.
public struct NeighborAdvertisement: Equatable, Hashable, Sendable {
    public var router: Bool
    public var solicited: Bool
    public var override: Bool
    public var targetAddress: IPv6Address
    /// Usually `[.targetLinkLayerAddress(mac)]`.
    public var options: [NDPOption]

    public init(router: Bool = false, solicited: Bool, override: Bool, targetAddress: IPv6Address, options: [NDPOption] = []) {
        self.router = router
        self.solicited = solicited
        self.override = override
        self.targetAddress = targetAddress
        self.options = options
    }

    public init(_ view: NeighborAdvertisementPacket) throws(WireError) {
        self.init(router: view.router, solicited: view.solicited, override: view.override,
                  targetAddress: view.targetAddress, options: try view.options())
    }

    public var encodedLength: Int { NeighborAdvertisementPacket.fixedLength + NDPOption.encodedLength(options) }

    /// Writes the message with its checksum over the pseudo-header of `source` → `destination`. RFC 4443 §2.3.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "neighbor advertisement")
        buffer[0] = ICMPv6Type.neighborAdvertisement.rawValue
        buffer[1] = 0
        buffer.storeBigEndian(UInt32(router ? 0x8000_0000 : 0) | (solicited ? 0x4000_0000 : 0) | (override ? 0x2000_0000 : 0), at: 4)
        targetAddress.store(into: buffer, at: 8)
        _ = try NDPOption.emit(options, into: buffer, at: NeighborAdvertisementPacket.fixedLength)
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}
