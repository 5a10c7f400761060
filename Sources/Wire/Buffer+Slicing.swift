// Small internal helpers shared by the views and values: bounded slices and output-size checks.

extension UnsafeRawBufferPointer {
    /// The bytes in `range`, rebased to start at index 0. The caller has checked the range.
    @inlinable
    func rebased(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice beyond the checked length")
        return UnsafeRawBufferPointer(rebasing: self[range])
    }

    /// Throws `.truncated` unless at least `needed` bytes are present.
    @inlinable
    func require(_ needed: Int, format: String) throws(WireError) {
        if count < needed { throw .truncated(format: format, needed: needed, available: count) }
    }
}

extension UnsafeMutableRawBufferPointer {
    /// The bytes in `range`, rebased to start at index 0. The caller has checked the range.
    @inlinable
    func rebased(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice beyond the checked length")
        return UnsafeMutableRawBufferPointer(rebasing: self[range])
    }

    /// Throws `.bufferTooSmall` unless at least `needed` bytes fit.
    @inlinable
    func requireCapacity(_ needed: Int, format: String) throws(WireError) {
        if count < needed { throw .bufferTooSmall(format: format, needed: needed, available: count) }
    }

    /// Copies `bytes` to `offset` and fills the rest of `offset ..< offset + fieldLength` with zeros.
    @inlinable
    func storeZeroPadded(_ bytes: [UInt8], at offset: Int, fieldLength: Int) {
        precondition(bytes.count <= fieldLength && offset >= 0 && offset + fieldLength <= count)
        for index in 0 ..< fieldLength {
            self[offset + index] = index < bytes.count ? bytes[index] : 0
        }
    }

    /// Copies `bytes` to `offset`. The caller has checked the length.
    @inlinable
    func storeBytes(_ bytes: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= count, "write beyond the checked length")
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, let destination = baseAddress {
                (destination + offset).copyMemory(from: base, byteCount: source.count)
            }
        }
    }
}
