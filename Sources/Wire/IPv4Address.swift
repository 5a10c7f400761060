/// An IPv4 address, held as its 32-bit value in host order (RFC 791 §3.2).
public struct IPv4Address: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad notation (`198.51.100.1`); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        rawValue = value
    }

    /// Reads 4 big-endian bytes at `offset`; the caller has checked the length.
    public init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
        rawValue = buffer.bigEndian(UInt32.self, at: offset)
    }

    /// Writes the 4 bytes big-endian at `offset`.
    public func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBigEndian(rawValue, at: offset)
    }

    public static let any = IPv4Address(rawValue: 0)
    public static let broadcast = IPv4Address(rawValue: 0xffff_ffff)

    /// The four octets in wire order.
    public var octets: [UInt8] {
        [UInt8(rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    public var isMulticast: Bool { rawValue >> 28 == 0xE }
    public var isUnspecified: Bool { rawValue == 0 }

    /// The network mask with `prefixLength` leading ones.
    public static func mask(prefixLength: Int) -> IPv4Address {
        precondition((0...32).contains(prefixLength))
        return IPv4Address(rawValue: prefixLength == 0 ? 0 : ~UInt32(0) << (32 - prefixLength))
    }

    /// The prefix length of a contiguous mask, or nil if the mask is not contiguous.
    public var prefixLength: Int? {
        let ones = rawValue.leadingZeroBitCount == 0 ? (~rawValue).leadingZeroBitCount : 0
        return IPv4Address.mask(prefixLength: ones) == self ? ones : nil
    }

    /// Whether `other` lies in the same network as `self` under `mask`.
    public func isSameNetwork(as other: IPv4Address, mask: IPv4Address) -> Bool {
        rawValue & mask.rawValue == other.rawValue & mask.rawValue
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.rawValue < b.rawValue }
    public var description: String { octets.map(String.init).joined(separator: ".") }
}
