/// A view of a UDP datagram (the IP payload). RFC 768.
///
/// Layout: source port (2), destination port (2), length (2, header included), checksum (2), data. The
/// initializer checks 8 ≤ length ≤ buffer; `payload` ends at `length`.
public struct UDPDatagram {
    public static let headerLength = 8

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.headerLength, format: "UDP")
        let length = Int(bytes.bigEndian(UInt16.self, at: 4))
        guard length >= Self.headerLength else {
            throw .malformed(format: "UDP", field: "length", detail: "\(length), below the header length 8")
        }
        try bytes.require(length, format: "UDP")
        self.bytes = bytes
    }

    public var sourcePort: UInt16 { bytes.bigEndian(UInt16.self, at: 0) }
    public var destinationPort: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// Header plus data, in bytes.
    public var length: Int { Int(bytes.bigEndian(UInt16.self, at: 4)) }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 6) }
    /// The data after the header, up to `length`.
    public var payload: UnsafeRawBufferPointer { bytes.rebased(Self.headerLength ..< length) }

    /// Whether the datagram sums to zero with the IPv4 pseudo-header. A checksum of 0 means "not computed" and
    /// is valid. RFC 768, "Fields".
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        if checksum == 0 { return true }
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .udp, length: length)
        sum.add(bytes.rebased(0 ..< length))
        return sum.value == 0
    }
}

/// A UDP header as a value. RFC 768. `emit` writes a zero checksum; `fillChecksum` computes the real one once
/// the payload is in place.
public struct UDPHeader: Equatable, Hashable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Header plus payload, in bytes (8 through 65535).
    public var length: Int

    public init(sourcePort: UInt16, destinationPort: UInt16, length: Int) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
    }

    /// A header for `payloadLength` bytes of data.
    public init(sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int) {
        self.init(sourcePort: sourcePort, destinationPort: destinationPort, length: UDPDatagram.headerLength + payloadLength)
    }

    public init(_ view: UDPDatagram) {
        self.init(sourcePort: view.sourcePort, destinationPort: view.destinationPort, length: view.length)
    }

    public var payloadLength: Int { length - UDPDatagram.headerLength }

    /// Always 8: the header alone.
    public var encodedLength: Int { UDPDatagram.headerLength }

    /// Writes the 8 header bytes, checksum 0, at the start of `buffer`. Throws `.malformed` unless
    /// 8 ≤ length ≤ 65535.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard length >= UDPDatagram.headerLength, length <= Int(UInt16.max) else {
            throw .malformed(format: "UDP", field: "length", detail: "\(length), need 8 through 65535")
        }
        try buffer.requireCapacity(encodedLength, format: "UDP")
        buffer.storeBigEndian(sourcePort, at: 0)
        buffer.storeBigEndian(destinationPort, at: 2)
        buffer.storeBigEndian(UInt16(length), at: 4)
        buffer.storeBigEndian(UInt16(0), at: 6)
    }

    /// Computes the checksum of the datagram at the start of `datagram` (header and payload, `length` bytes as
    /// its length field says) with the IPv4 pseudo-header, and stores it. A computed 0 is sent as 0xFFFF.
    /// RFC 768, "Fields". The length field must lie within `datagram` (a programmer error otherwise).
    public static func fillChecksum(datagram: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address) {
        precondition(datagram.count >= UDPDatagram.headerLength, "a UDP datagram needs 8 bytes")
        let length = Int(UnsafeRawBufferPointer(datagram).bigEndian(UInt16.self, at: 4))
        precondition(length >= UDPDatagram.headerLength && length <= datagram.count, "UDP length field outside the buffer")
        datagram.storeBigEndian(UInt16(0), at: 6)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .udp, length: length)
        sum.add(UnsafeRawBufferPointer(datagram.rebased(0 ..< length)))
        let checksum = sum.value
        datagram.storeBigEndian(checksum == 0 ? 0xFFFF : checksum, at: 6)
    }
}
