/// An address in guest physical memory (virtio 1.2 §2.7.5 "addr"): an offset into the one `GuestMemory` region.
/// A plain value: it says nothing about whether the address is valid; every access checks that.
public struct GuestAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { rawValue = value }

    public static func < (a: GuestAddress, b: GuestAddress) -> Bool { a.rawValue < b.rawValue }

    /// The address `offset` bytes further on, or nil when that overflows 64 bits.
    public func adding(_ offset: UInt64) -> GuestAddress? {
        let (sum, overflow) = rawValue.addingReportingOverflow(offset)
        return overflow ? nil : GuestAddress(sum)
    }

    /// The address `offset` bytes further on. For addresses the caller computed itself (ring layouts it checked);
    /// wraps on overflow, and the memory access that follows rejects the result.
    public static func + (a: GuestAddress, offset: Int) -> GuestAddress {
        GuestAddress(a.rawValue &+ UInt64(truncatingIfNeeded: offset))
    }

    public var description: String { "0x" + String(rawValue, radix: 16) }
}
