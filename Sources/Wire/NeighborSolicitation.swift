/// A view of a Neighbor Solicitation (a whole ICMPv6 message). RFC 4861 §4.3.
///
/// Layout: type 135 (1), code (1), checksum (2), reserved (4), target address (16), options. The initializer
/// checks the type and the 24 bytes; `options()` parses separately. Validity checks of §7.1.1 are the
/// receiver's (for Duplicate Address Detection the source is `::` and there is no source link-layer option).
public struct NeighborSolicitationPacket {
    public static let fixedLength = 24

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.requireICMPv6(.neighborSolicitation, minimumLength: Self.fixedLength, format: "neighbor solicitation")
        self.bytes = bytes
    }

    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// The address whose link-layer address is sought.
    public var targetAddress: IPv6Address { IPv6Address(bytes, at: 8) }
    public var optionsArea: UnsafeRawBufferPointer { bytes.rebased(Self.fixedLength ..< bytes.count) }
    /// Throws for a malformed option (RFC 4861 §4.6).
    public func options() throws(WireError) -> [NDPOption] { try NDPOption.parse(optionsArea) }
}

/// A Neighbor Solicitation as a value. RFC 4861 §4.3. Code 0, reserved bytes zero.
public struct NeighborSolicitation: Equatable, Hashable, Sendable {
    public var targetAddress: IPv6Address
    public var options: [NDPOption]

    public init(targetAddress: IPv6Address, options: [NDPOption] = []) {
        self.targetAddress = targetAddress
        self.options = options
    }

    public init(_ view: NeighborSolicitationPacket) throws(WireError) {
        self.init(targetAddress: view.targetAddress, options: try view.options())
    }

    public var encodedLength: Int { NeighborSolicitationPacket.fixedLength + NDPOption.encodedLength(options) }

    /// Writes the message with its checksum over the pseudo-header of `source` → `destination`. RFC 4443 §2.3.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "neighbor solicitation")
        buffer[0] = ICMPv6Type.neighborSolicitation.rawValue
        buffer[1] = 0
        buffer.storeBigEndian(UInt32(0), at: 4)
        targetAddress.store(into: buffer, at: 8)
        _ = try NDPOption.emit(options, into: buffer, at: NeighborSolicitationPacket.fixedLength)
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}
