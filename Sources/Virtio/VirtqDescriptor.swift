/// One entry of the descriptor table: a guest buffer the device reads or writes. virtio 1.2 §2.7.5
/// (`struct virtq_desc`: le64 addr, le32 len, le16 flags, le16 next; 16 bytes).
public struct VirtqDescriptor: Equatable, Sendable {
    /// The descriptor flags. virtio 1.2 §2.7.5.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// VIRTQ_DESC_F_NEXT: the chain continues at `next`.
        public static let next = Flags(rawValue: 1)
        /// VIRTQ_DESC_F_WRITE: the buffer is device-writable (else device-readable).
        public static let write = Flags(rawValue: 2)
        /// VIRTQ_DESC_F_INDIRECT: the buffer holds a table of descriptors (§2.7.5.3).
        public static let indirect = Flags(rawValue: 4)
    }

    /// The size of one descriptor in the table.
    public static let size = 16

    public var address: GuestAddress
    public var length: UInt32
    public var flags: Flags
    public var next: UInt16

    public init(address: GuestAddress, length: UInt32, flags: Flags = [], next: UInt16 = 0) {
        self.address = address
        self.length = length
        self.flags = flags
        self.next = next
    }

    /// Reads the descriptor at `address` (a table entry).
    public init(from memory: GuestMemory, at address: GuestAddress) throws(VirtioError) {
        self.address = GuestAddress(try memory.load(UInt64.self, at: address))
        length = try memory.load(UInt32.self, at: address + 8)
        flags = Flags(rawValue: try memory.load(UInt16.self, at: address + 12))
        next = try memory.load(UInt16.self, at: address + 14)
    }

    /// Writes the descriptor at `address` (a table entry), every field little-endian.
    public func write(to memory: GuestMemory, at address: GuestAddress) throws(VirtioError) {
        _ = try memory.offset(of: address, length: Self.size)
        try memory.store(self.address.rawValue, at: address)
        try memory.store(length, at: address + 8)
        try memory.store(flags.rawValue, at: address + 12)
        try memory.store(next, at: address + 14)
    }
}
