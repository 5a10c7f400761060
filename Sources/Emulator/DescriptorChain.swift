import Virtio

/// A descriptor chain the device popped from the available ring, already validated: every buffer lies inside
/// guest memory, readable buffers come before writable ones. virtio 1.2 §2.7.5.2.
public struct DescriptorChain: Equatable, Sendable {
    /// One buffer of the chain.
    public struct Buffer: Equatable, Sendable {
        public var address: GuestAddress
        public var length: UInt32
        public init(address: GuestAddress, length: UInt32) {
            self.address = address
            self.length = length
        }
    }

    /// The head descriptor index: the id the device returns in the used ring.
    public var head: UInt16
    /// Device-readable buffers, in chain order.
    public var readable: [Buffer] = []
    /// Device-writable buffers, in chain order.
    public var writable: [Buffer] = []

    public init(head: UInt16) { self.head = head }

    /// Total bytes the device may read.
    public var readableLength: Int { readable.reduce(0) { $0 + Int($1.length) } }
    /// Total bytes the device may write.
    public var writableLength: Int { writable.reduce(0) { $0 + Int($1.length) } }
}
