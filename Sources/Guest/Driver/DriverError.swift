import Virtio

/// What can go wrong on the driver side: the device misbehaving (the driver counts it and stops using the
/// queue, as Linux marks a vring broken), guest memory too small, or a refused handshake.
public enum DriverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// used.idx moved more than the queue size past what the driver consumed.
    case usedIndexJumped(previous: UInt16, new: UInt16, size: UInt16)
    /// A used entry names a descriptor the driver did not make available.
    case unknownUsedID(UInt32)
    /// A used entry claims more bytes than the buffer had.
    case usedLengthBeyondBuffer(id: UInt32, length: UInt32, bufferLength: UInt32)
    /// The queue was marked broken by an earlier error.
    case queueBroken
    /// Guest memory has no room for `requested` more bytes.
    case outOfGuestMemory(requested: Int)
    /// A frame larger than a TX buffer.
    case frameTooLarge(length: Int, limit: Int)
    /// The device did not offer what the driver needs, or refused FEATURES_OK, or a queue.
    case handshakeFailed(String)
    case memory(VirtioError)

    public var description: String {
        switch self {
        case let .usedIndexJumped(previous, new, size): return "used.idx jumped from \(previous) to \(new) (queue size \(size))"
        case let .unknownUsedID(id): return "used entry names descriptor \(id), which is not in flight"
        case let .usedLengthBeyondBuffer(id, length, bufferLength):
            return "used entry \(id) claims \(length) bytes of a \(bufferLength)-byte buffer"
        case .queueBroken: return "the queue is broken (an earlier device error)"
        case let .outOfGuestMemory(requested): return "guest memory has no room for \(requested) more bytes"
        case let .frameTooLarge(length, limit): return "frame of \(length) bytes exceeds the \(limit)-byte TX buffer"
        case let .handshakeFailed(why): return "virtio handshake failed: \(why)"
        case let .memory(error): return "guest memory: \(error)"
        }
    }
}
