import Virtio

/// A bump allocator over guest memory: the guest's only memory manager. Rings and buffers are laid out once at
/// boot and never freed.
public struct GuestAllocator: Sendable {
    public let memory: GuestMemory
    /// The next free address.
    public private(set) var next: GuestAddress

    /// Allocates from `start` (default one page in, so that address 0 is never a valid buffer) to the end.
    public init(memory: GuestMemory, start: GuestAddress = GuestAddress(UInt64(GuestMemory.pageSize))) {
        self.memory = memory
        next = start
    }

    /// Bytes left.
    public var remaining: Int { max(0, memory.size - Int(clamping: next.rawValue)) }

    /// `size` bytes aligned to `alignment` (a power of two).
    public mutating func allocate(size: Int, alignment: Int = 16) throws(DriverError) -> GuestAddress {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        let mask = UInt64(alignment - 1)
        let aligned = (next.rawValue + mask) & ~mask
        guard memory.contains(GuestAddress(aligned), length: size) else { throw .outOfGuestMemory(requested: size) }
        next = GuestAddress(aligned + UInt64(size))
        return GuestAddress(aligned)
    }
}
