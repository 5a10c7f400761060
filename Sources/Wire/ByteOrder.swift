// Wire: packet views and values for every format tapvm speaks. No I/O, no state, no clock.
//
// Byte order lives in this file only: network (big-endian) fields through `bigEndian(_:at:)` and
// `storeBigEndian(_:at:)` (on raw buffers, and on `[UInt8]`/`ArraySlice<UInt8>` option data) and `bigEndianBytes(_:)`, virtio (little-endian) fields through `littleEndian(_:at:)` and
// `storeLittleEndian(_:at:)`. Callers check lengths first (a view's initializer does), so these never read past
// the buffer; they `precondition` on the range because an out-of-range offset here is a programmer error.

extension UnsafeRawBufferPointer {
    /// Reads a big-endian integer at `offset` (unaligned).
    @inlinable
    public func bigEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "read beyond the checked length")
        return T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a little-endian integer at `offset` (unaligned).
    @inlinable
    public func littleEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "read beyond the checked length")
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Writes `value` big-endian at `offset` (unaligned).
    @inlinable
    public func storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "write beyond the checked length")
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }

    /// Writes `value` little-endian at `offset` (unaligned).
    @inlinable
    public func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "write beyond the checked length")
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

extension Array where Element == UInt8 {
    /// Reads a big-endian integer at `offset` (from the first element).
    @inlinable
    public func bigEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T {
        self[...].bigEndian(T.self, at: offset)
    }
}

extension ArraySlice where Element == UInt8 {
    /// Reads a big-endian integer at `offset`, counted from `startIndex` (not from the base array's start).
    @inlinable
    public func bigEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "read beyond the checked length")
        let start = startIndex + offset
        return self[start ..< start + MemoryLayout<T>.size].reduce(T(0)) { $0 << 8 | T($1) }
    }
}

/// The bytes of `value`, most significant first.
@inlinable
public func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0 ..< MemoryLayout<T>.size).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}
