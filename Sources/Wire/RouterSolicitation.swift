/// A view of a Router Solicitation (a whole ICMPv6 message). RFC 4861 §4.1.
///
/// Layout: type 133 (1), code (1), checksum (2), reserved (4), options. The initializer checks the type and the
/// 8 bytes; `options()` parses separately. Validity checks of §6.1.1 (hop limit 255, code 0, checksum) are the
/// receiver's.
public struct RouterSolicitationPacket {
    public static let fixedLength = 8

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.requireICMPv6(.routerSolicitation, minimumLength: Self.fixedLength, format: "router solicitation")
        self.bytes = bytes
    }

    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    public var optionsArea: UnsafeRawBufferPointer { bytes.rebased(Self.fixedLength ..< bytes.count) }
    /// Throws for a malformed option (RFC 4861 §4.6).
    public func options() throws(WireError) -> [NDPOption] { try NDPOption.parse(optionsArea) }
}

/// A Router Solicitation as a value. RFC 4861 §4.1. Code 0, reserved bytes zero.
public struct RouterSolicitation: Equatable, Hashable, Sendable {
    /// Usually `[.sourceLinkLayerAddress(mac)]`, which must be absent when the source is `::` (§4.1).
    public var options: [NDPOption]

    public init(options: [NDPOption] = []) { self.options = options }

    public init(_ view: RouterSolicitationPacket) throws(WireError) {
        self.init(options: try view.options())
    }

    public var encodedLength: Int { RouterSolicitationPacket.fixedLength + NDPOption.encodedLength(options) }

    /// Writes the message with its checksum over the pseudo-header of `source` → `destination`. RFC 4443 §2.3.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "router solicitation")
        buffer[0] = ICMPv6Type.routerSolicitation.rawValue
        buffer[1] = 0
        buffer.storeBigEndian(UInt32(0), at: 4)
        _ = try NDPOption.emit(options, into: buffer, at: RouterSolicitationPacket.fixedLength)
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}
