// Emulator: the device side. A virtio-net device model (like QEMU hw/net/virtio-net.c, Firecracker
// devices/virtio/net) over a device-side split virtqueue (like rust-vmm virtio-queue), a NetBackend (the tap fd)
// and a device thread that waits on the backend, the doorbells and a stop notifier.
//
// The device never imports the guest: it learns everything from guest memory and the Transport registers.

import Virtio

/// What can go wrong reading the driver's rings. Every case is the driver's fault (or a hostile guest's): the
/// device counts it, sets DEVICE_NEEDS_RESET and stops using the queue, never traps.
public enum QueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// avail.idx moved `pending` entries past what the device consumed, more than the queue holds. §2.7.13.
    case availableIndexJumped(previous: UInt16, new: UInt16, size: UInt16)
    /// A head or `next` index outside the descriptor table. §2.7.5.
    case descriptorIndexOutOfRange(index: UInt16, size: UInt16)
    /// A chain longer than the queue: a loop. §2.7.5.2 ("MUST NOT create a chain longer than Queue Size").
    case chainTooLong(head: UInt16, limit: Int)
    /// VIRTQ_DESC_F_INDIRECT: tapvm's device does not offer VIRTIO_F_INDIRECT_DESC and refuses indirect
    /// descriptors. §2.7.5.3.
    case indirectUnsupported(index: UInt16)
    /// A readable descriptor after a writable one (§2.7.5.2), or a direction this queue does not accept.
    case wrongDirection(index: UInt16, writable: Bool)
    /// A descriptor whose buffer is not inside guest memory.
    case badBuffer(index: UInt16, address: GuestAddress, length: UInt32)
    /// A ring word outside guest memory or misaligned (a bad layout that slipped through).
    case memory(VirtioError)

    public var description: String {
        switch self {
        case let .availableIndexJumped(previous, new, size):
            return "avail.idx jumped from \(previous) to \(new), more than the queue size \(size)"
        case let .descriptorIndexOutOfRange(index, size):
            return "descriptor index \(index) is outside a table of \(size)"
        case let .chainTooLong(head, limit):
            return "chain at head \(head) is longer than \(limit) descriptors (a loop?)"
        case let .indirectUnsupported(index):
            return "descriptor \(index) is INDIRECT, which this device does not offer"
        case let .wrongDirection(index, writable):
            return "descriptor \(index) is \(writable ? "device-writable" : "device-readable") where the queue expects otherwise"
        case let .badBuffer(index, address, length):
            return "descriptor \(index) points at \(length) bytes at \(address), outside guest memory"
        case let .memory(error):
            return "ring access: \(error)"
        }
    }
}
