// The IPv6 pseudo-header and UDP over IPv6 (RFC 8200 §8.1).

extension InternetChecksum {
    /// Adds the sixteen bytes of `address` in network order.
    public mutating func add(_ address: IPv6Address) {
        for shift in stride(from: 48, through: 0, by: -16) { add(UInt16(truncatingIfNeeded: address.high >> UInt64(shift))) }
        for shift in stride(from: 48, through: 0, by: -16) { add(UInt16(truncatingIfNeeded: address.low >> UInt64(shift))) }
    }

    /// A sum started with the IPv6 pseudo-header: source, destination, the 32-bit upper-layer packet length,
    /// three zero bytes and the next header (the upper-layer protocol, not an extension header). RFC 8200 §8.1.
    /// `upperLayerLength` must be 0 through 2³² − 1 (a programmer error otherwise).
    public static func pseudoHeader(source: IPv6Address, destination: IPv6Address,
                                    nextHeader: IPProtocol, upperLayerLength: Int) -> InternetChecksum {
        precondition(upperLayerLength >= 0 && upperLayerLength <= Int(UInt32.max), "pseudo-header length out of range")
        var sum = InternetChecksum()
        sum.add(source)
        sum.add(destination)
        sum.add(UInt16(truncatingIfNeeded: upperLayerLength >> 16))
        sum.add(UInt16(truncatingIfNeeded: upperLayerLength))
        sum.add(UInt16(0))
        sum.add(UInt16(nextHeader.rawValue))
        return sum
    }
}

extension UDPDatagram {
    /// Whether the datagram sums to zero with the IPv6 pseudo-header. Over IPv6 the checksum is mandatory: a
    /// zero checksum is invalid. RFC 8200 §8.1.
    public func isChecksumValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        if checksum == 0 { return false }
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .udp, upperLayerLength: length)
        sum.add(bytes.rebased(0 ..< length))
        return sum.value == 0
    }
}

extension UDPHeader {
    /// Computes the checksum of the datagram at the start of `datagram` with the IPv6 pseudo-header and stores
    /// it; a computed 0 is sent as 0xFFFF. RFC 8200 §8.1, RFC 768. The length field must lie within `datagram`.
    public static func fillChecksum(datagram: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) {
        precondition(datagram.count >= UDPDatagram.headerLength, "a UDP datagram needs 8 bytes")
        let length = Int(UnsafeRawBufferPointer(datagram).bigEndian(UInt16.self, at: 4))
        precondition(length >= UDPDatagram.headerLength && length <= datagram.count, "UDP length field outside the buffer")
        datagram.storeBigEndian(UInt16(0), at: 6)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .udp, upperLayerLength: length)
        sum.add(UnsafeRawBufferPointer(datagram.rebased(0 ..< length)))
        let checksum = sum.value
        datagram.storeBigEndian(checksum == 0 ? 0xFFFF : checksum, at: 6)
    }
}
