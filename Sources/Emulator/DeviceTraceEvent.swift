import Virtio

/// One step of the device, for `--trace`: every backend read, chain, used-ring update and interrupt, in order.
public enum DeviceTraceEvent: Sendable, Equatable {
    /// The device read a packet of `length` bytes (header included) from the backend.
    case backendRead(length: Int)
    /// The device wrote a packet of `length` bytes (header included) to the backend.
    case backendWrite(length: Int)
    /// The device consumed the chain at `head` from `queue` (avail entry `availableIndex`); for RX, logged once the
    /// packet was read into it (a chain put back on EAGAIN is not logged).
    case chainPopped(queue: Int, head: UInt16, availableIndex: UInt16, readable: Int, writable: Int)
    /// The device published used.idx = `usedIndex` on `queue`.
    case usedPublished(queue: Int, usedIndex: UInt16)
    /// The device raised the interrupt line.
    case interruptRaised(queue: Int)
    /// The doorbell of `queue` rang (`count` coalesced kicks).
    case doorbell(queue: Int, count: UInt64)
    /// RX ran out of buffers: the device stops reading the backend until the guest kicks.
    case receiveStalled
    /// The backend was full (EAGAIN) on a write: the TX chain went back and TX waits for it to be writable.
    case transmitBlocked
    /// A frame was dropped: it did not fit the guest's chain.
    case receiveTruncated(length: Int, room: Int)
    /// A GSO frame (`gsoType`, `length` bytes without header) from the backend was dropped: the driver takes none.
    case receiveGSODropped(gsoType: UInt8, length: Int)
    /// A backend read threw (counted in rxErrors; the packet, if any, is lost).
    case backendReadFailed(String)
    /// Backend reads kept failing: the device set NEEDS_RESET and stopped watching the backend.
    case backendFailed
    /// The driver broke the ring protocol; the device set NEEDS_RESET.
    case queueError(queue: Int, QueueError)
    /// The device read the queue registers at DRIVER_OK.
    case activated(features: VirtioFeatures)
}
