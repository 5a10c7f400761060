/// The Internet checksum: the 16-bit one's complement of the one's complement sum of 16-bit big-endian words.
/// RFC 1071 §1 (with the incremental and byte-order-independent properties of §2).
///
/// The bytes fed through `add` form one stream: calls may split it at any point, even or odd, and the result
/// equals one call over the concatenation. An odd final byte is padded with a zero byte (RFC 1071 §4.1).
/// `add(_ word:)` and `add(_ address:)` append their bytes to the same stream in network order.
public struct InternetChecksum: Sendable {
    /// The running sum of 32-bit and 16-bit words; folded only when read. 64 bits cannot overflow here.
    private var sum: UInt64 = 0
    /// The first byte of a word whose second byte has not arrived yet (the stream length is odd).
    private var pendingHighByte: UInt8?

    /// An empty sum.
    public init() {}

    /// Adds `bytes` to the stream. RFC 1071 §4.1.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count > 0 else { return }
        var index = 0
        if let high = pendingHighByte {
            sum &+= UInt64(high) << 8 | UInt64(bytes[0])
            pendingHighByte = nil
            index = 1
        }
        // A 32-bit big-endian word w = hi * 65536 + lo and 65536 ≡ 1 (mod 65535), so adding w adds hi + lo.
        while index + 4 <= count {
            sum &+= UInt64(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
            index += 4
        }
        if index + 2 <= count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count { pendingHighByte = bytes[index] }
    }

    /// Adds the two bytes of `word`, high byte first, to the stream.
    public mutating func add(_ word: UInt16) {
        if let high = pendingHighByte {
            // The stream is odd: the word's high byte completes the pending word, its low byte waits.
            sum &+= UInt64(high) << 8 | UInt64(word >> 8)
            pendingHighByte = UInt8(truncatingIfNeeded: word)
        } else {
            sum &+= UInt64(word)
        }
    }

    /// Adds the four bytes of `address` in network order.
    public mutating func add(_ address: IPv4Address) {
        add(UInt16(truncatingIfNeeded: address.rawValue >> 16))
        add(UInt16(truncatingIfNeeded: address.rawValue))
    }

    /// The checksum of the stream so far: the one's complement of the folded sum. A buffer that already holds
    /// its correct checksum sums to 0 here (RFC 1071 §1, "verify").
    public var value: UInt16 {
        var folded = sum
        if let high = pendingHighByte { folded &+= UInt64(high) << 8 }
        while folded >> 16 != 0 { folded = (folded & 0xFFFF) + (folded >> 16) }
        return ~UInt16(truncatingIfNeeded: folded)
    }

    /// The checksum of `bytes` alone.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.value
    }

    /// A sum started with the IPv4 pseudo-header: source, destination, a zero byte, the protocol and the
    /// upper-layer length. RFC 768 (UDP), RFC 793 §3.1 (TCP). A `length` beyond 16 bits is added as two words,
    /// which is what the 32-bit length of the IPv6 pseudo-header needs (RFC 8200 §8.1).
    public static func pseudoHeader(source: IPv4Address, destination: IPv4Address,
                                    protocol: IPProtocol, length: Int) -> InternetChecksum {
        precondition(length >= 0 && length <= Int(UInt32.max), "pseudo-header length out of range")
        var sum = InternetChecksum()
        sum.add(source)
        sum.add(destination)
        sum.add(UInt16(`protocol`.rawValue))
        sum.add(UInt16(truncatingIfNeeded: length >> 16))
        sum.add(UInt16(truncatingIfNeeded: length))
        return sum
    }
}
