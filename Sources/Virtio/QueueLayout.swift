/// Where a split virtqueue's three areas live in guest memory and how big they are. virtio 1.2 §2.7:
///
/// | area | spec name | size in bytes | alignment |
/// |---|---|---|---|
/// | descriptor table | Descriptor Area | 16 × size | 16 |
/// | available ring | Driver Area | 6 + 2 × size (flags, idx, ring[size], used_event) | 2 |
/// | used ring | Device Area | 6 + 8 × size (flags, idx, ring[size] of {id, len}, avail_event) | 4 |
public struct QueueLayout: Equatable, Sendable {
    /// The largest queue size the split ring allows (virtio 1.2 §2.7: Queue Size ≤ 32768).
    public static let maximumSize: UInt16 = 32768

    /// Number of descriptors, a power of two ≤ 32768.
    public let size: UInt16
    public let descriptorTable: GuestAddress
    /// The driver area: `struct virtq_avail`.
    public let availableRing: GuestAddress
    /// The device area: `struct virtq_used`.
    public let usedRing: GuestAddress

    /// Checks the size and the alignments (virtio 1.2 §2.7.1, §2.7 table); does not check memory bounds (that is
    /// done per access, see `check(in:)`).
    public init(size: UInt16, descriptorTable: GuestAddress, availableRing: GuestAddress, usedRing: GuestAddress)
        throws(VirtioError)
    {
        guard size > 0, size <= Self.maximumSize, size & (size - 1) == 0 else {
            throw .invalidLayout("size \(size) is not a power of two between 1 and 32768")
        }
        guard descriptorTable.rawValue % 16 == 0 else { throw .invalidLayout("descriptor table \(descriptorTable) not 16-aligned") }
        guard availableRing.rawValue % 2 == 0 else { throw .invalidLayout("available ring \(availableRing) not 2-aligned") }
        guard usedRing.rawValue % 4 == 0 else { throw .invalidLayout("used ring \(usedRing) not 4-aligned") }
        self.size = size
        self.descriptorTable = descriptorTable
        self.availableRing = availableRing
        self.usedRing = usedRing
    }

    // MARK: sizes and alignments (virtio 1.2 §2.7)

    public static let descriptorTableAlignment = 16
    public static let availableRingAlignment = 2
    public static let usedRingAlignment = 4

    public static func descriptorTableSize(queueSize: UInt16) -> Int { 16 * Int(queueSize) }
    public static func availableRingSize(queueSize: UInt16) -> Int { 6 + 2 * Int(queueSize) }
    public static func usedRingSize(queueSize: UInt16) -> Int { 6 + 8 * Int(queueSize) }

    /// Throws `outOfRange` unless all three areas lie inside `memory`.
    public func check(in memory: GuestMemory) throws(VirtioError) {
        _ = try memory.offset(of: descriptorTable, length: Self.descriptorTableSize(queueSize: size))
        _ = try memory.offset(of: availableRing, length: Self.availableRingSize(queueSize: size))
        _ = try memory.offset(of: usedRing, length: Self.usedRingSize(queueSize: size))
    }

    // MARK: field addresses

    /// descriptor table entry `index` (callers check index < size).
    public func descriptor(_ index: UInt16) -> GuestAddress { descriptorTable + 16 * Int(index) }

    /// `avail->flags` (VIRTQ_AVAIL_F_NO_INTERRUPT).
    public var availableFlags: GuestAddress { availableRing }
    /// `avail->idx`: where the driver will put the next entry, free-running modulo 2^16.
    public var availableIndex: GuestAddress { availableRing + 2 }
    /// `avail->ring[slot]`, slot in 0..<size.
    public func availableEntry(_ slot: UInt16) -> GuestAddress { availableRing + 4 + 2 * Int(slot) }
    /// `avail->used_event` (only with VIRTIO_F_EVENT_IDX). virtio 1.2 §2.7.10.
    public var usedEvent: GuestAddress { availableRing + 4 + 2 * Int(size) }

    /// `used->flags` (VIRTQ_USED_F_NO_NOTIFY).
    public var usedFlags: GuestAddress { usedRing }
    /// `used->idx`.
    public var usedIndex: GuestAddress { usedRing + 2 }
    /// `used->ring[slot]` (`struct virtq_used_elem`: le32 id, le32 len), slot in 0..<size.
    public func usedEntry(_ slot: UInt16) -> GuestAddress { usedRing + 4 + 8 * Int(slot) }
    /// `used->avail_event` (only with VIRTIO_F_EVENT_IDX). virtio 1.2 §2.7.10.
    public var availableEvent: GuestAddress { usedRing + 4 + 8 * Int(size) }

    /// VIRTQ_AVAIL_F_NO_INTERRUPT: the driver asks not to be interrupted (a hint). virtio 1.2 §2.7.7.
    public static let availableFlagNoInterrupt: UInt16 = 1
    /// VIRTQ_USED_F_NO_NOTIFY: the device asks not to be notified (a hint). virtio 1.2 §2.7.10.
    public static let usedFlagNoNotify: UInt16 = 1
}

/// Whether the side that moved an index from `old` to `new` must notify the other, which asked to be told once
/// the index passes `event`. virtio 1.2 §2.7.10 / Linux `vring_need_event`; all arithmetic modulo 2^16.
@inline(__always)
public func vringNeedEvent(event: UInt16, new: UInt16, old: UInt16) -> Bool {
    new &- event &- 1 < new &- old
}
