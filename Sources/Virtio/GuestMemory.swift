import Synchronization
import Wire

// The atomic ring words below are accessed in host order and converted with `littleEndian`, which is only a
// correct atomic view of a little-endian field on a little-endian host (x86-64, arm64): refuse anything else.
#if _endian(big)
#error("tapvm's GuestMemory needs a little-endian host: virtio ring words are little-endian (virtio 1.2 §1.4)")
#endif

/// The guest's physical memory: one zero-filled, page-aligned region shared by the device thread and the vCPU
/// thread. Every access is range-checked and throws `VirtioError.outOfRange` naming the address and the length;
/// guest contents are untrusted, so a bad address from a descriptor never traps.
///
/// Plain accesses are not synchronized: ordering between the two sides comes from the ring index words, which
/// are read and written through the atomic accessors (load acquiring, store releasing; virtio 1.2 §2.7.13.3.1,
/// §2.7.8.2).
public final class GuestMemory: @unchecked Sendable {
    /// The size of the region in bytes.
    public let size: Int
    private let base: UnsafeMutableRawPointer

    /// The page size the region is aligned to.
    public static let pageSize = 4096

    /// Allocates `size` bytes (rounded up to a page), zero-filled.
    public init(size: Int) {
        precondition(size > 0, "guest memory needs at least one byte")
        let rounded = (size + Self.pageSize - 1) / Self.pageSize * Self.pageSize
        self.size = rounded
        base = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: Self.pageSize)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: rounded)
    }

    deinit { base.deallocate() }

    /// The offset of `length` bytes at `address`, or `outOfRange` (including when address + length overflows).
    @inline(__always)
    public func offset(of address: GuestAddress, length: Int) throws(VirtioError) -> Int {
        guard length >= 0, address.rawValue <= UInt64(size), UInt64(length) <= UInt64(size) - address.rawValue
        else { throw .outOfRange(address: address, length: length, memorySize: size) }
        return Int(address.rawValue)
    }

    /// Whether `length` bytes at `address` lie inside the region.
    public func contains(_ address: GuestAddress, length: Int) -> Bool {
        (try? offset(of: address, length: length)) != nil
    }

    // MARK: bytes

    /// Copies `destination.count` bytes from guest memory at `address`.
    public func read(at address: GuestAddress, into destination: UnsafeMutableRawBufferPointer) throws(VirtioError) {
        let start = try offset(of: address, length: destination.count)
        if let target = destination.baseAddress { target.copyMemory(from: base + start, byteCount: destination.count) }
    }

    /// Copies `source` into guest memory at `address`.
    public func write(at address: GuestAddress, from source: UnsafeRawBufferPointer) throws(VirtioError) {
        let start = try offset(of: address, length: source.count)
        if let from = source.baseAddress { (base + start).copyMemory(from: from, byteCount: source.count) }
    }

    /// Reads `count` bytes at `address` into a new array.
    public func readBytes(at address: GuestAddress, count: Int) throws(VirtioError) -> [UInt8] {
        let start = try offset(of: address, length: count)
        return Array(UnsafeRawBufferPointer(start: base + start, count: count))
    }

    /// Writes `bytes` at `address`.
    public func write(at address: GuestAddress, bytes: [UInt8]) throws(VirtioError) {
        let start = try offset(of: address, length: bytes.count)
        bytes.withUnsafeBytes { (base + start).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Sets `count` bytes at `address` to `value`.
    public func fill(at address: GuestAddress, count: Int, with value: UInt8) throws(VirtioError) {
        let start = try offset(of: address, length: count)
        (base + start).initializeMemory(as: UInt8.self, repeating: value, count: count)
    }

    /// Calls `body` with the `length` bytes at `address`, for copying a frame out without an intermediate array.
    /// The pointer is valid only during the call; the other side may be writing the same bytes if it misbehaves.
    public func withUnsafeBytes<R>(
        at address: GuestAddress, length: Int, _ body: (UnsafeRawBufferPointer) -> R
    ) throws(VirtioError) -> R {
        let start = try offset(of: address, length: length)
        return body(UnsafeRawBufferPointer(start: base + start, count: length))
    }

    /// Calls `body` with the `length` writable bytes at `address`, for copying a frame in.
    public func withUnsafeMutableBytes<R>(
        at address: GuestAddress, length: Int, _ body: (UnsafeMutableRawBufferPointer) -> R
    ) throws(VirtioError) -> R {
        let start = try offset(of: address, length: length)
        return body(UnsafeMutableRawBufferPointer(start: base + start, count: length))
    }

    // MARK: little-endian integers (virtio 1.2 §1.4: fields are little-endian)

    /// Reads a little-endian integer at `address` (unaligned allowed).
    public func load<T: FixedWidthInteger>(_: T.Type = T.self, at address: GuestAddress) throws(VirtioError) -> T {
        let start = try offset(of: address, length: MemoryLayout<T>.size)
        return UnsafeRawBufferPointer(start: base + start, count: MemoryLayout<T>.size).littleEndian(T.self, at: 0)
    }

    /// Writes `value` little-endian at `address` (unaligned allowed).
    public func store<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws(VirtioError) {
        let start = try offset(of: address, length: MemoryLayout<T>.size)
        UnsafeMutableRawBufferPointer(start: base + start, count: MemoryLayout<T>.size).storeLittleEndian(value, at: 0)
    }

    // MARK: atomic ring words

    /// The 16-bit ring word at `address` as an atomic: in range and 2-byte aligned, or an error.
    /// Ring index, flags and event words are little-endian; the host is too (x86-64, arm64): a big-endian build
    /// stops at the `#error` at the top of this file.
    public func atomicUInt16(at address: GuestAddress) throws(VirtioError) -> UnsafeMutablePointer<Atomic<UInt16>> {
        let start = try offset(of: address, length: 2)
        guard start % 2 == 0 else { throw .misaligned(address: address, alignment: 2) }
        return (base + start).assumingMemoryBound(to: Atomic<UInt16>.self)
    }

    /// Loads a 16-bit ring word with acquire ordering: everything the other side wrote before its releasing store
    /// of this word (descriptors, ring entries) is visible afterwards. virtio 1.2 §2.7.13.3.1.
    public func loadAcquiring(at address: GuestAddress) throws(VirtioError) -> UInt16 {
        UInt16(littleEndian: try atomicUInt16(at: address).pointee.load(ordering: .acquiring))
    }

    /// Stores a 16-bit ring word with release ordering: everything written before (ring entries) becomes visible
    /// to a side that acquires this word. virtio 1.2 §2.7.13.3.1 / §2.7.8.2.
    public func storeReleasing(_ value: UInt16, at address: GuestAddress) throws(VirtioError) {
        try atomicUInt16(at: address).pointee.store(value.littleEndian, ordering: .releasing)
    }

    /// Loads a 16-bit ring word with relaxed ordering (flags and event words, ordered by `atomicMemoryFence`).
    public func loadRelaxed(at address: GuestAddress) throws(VirtioError) -> UInt16 {
        UInt16(littleEndian: try atomicUInt16(at: address).pointee.load(ordering: .relaxed))
    }

    /// Stores a 16-bit ring word with relaxed ordering (flags and event words, ordered by `atomicMemoryFence`).
    public func storeRelaxed(_ value: UInt16, at address: GuestAddress) throws(VirtioError) {
        try atomicUInt16(at: address).pointee.store(value.littleEndian, ordering: .relaxed)
    }
}

/// The full fence between publishing an index and reading the other side's event index or flags (virtio 1.2
/// §2.7.7.2, §2.7.10.1; Linux `virtio_mb`): without it, both sides can miss each other's update and sleep.
@inline(__always)
public func fullMemoryFence() {
    atomicMemoryFence(ordering: .sequentiallyConsistent)
}
