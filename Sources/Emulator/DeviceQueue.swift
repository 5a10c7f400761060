import Virtio

/// The device side of one split virtqueue: registers only (layout, nextAvailable, nextUsed); guest memory is
/// passed per call, as rust-vmm `virtio-queue` does. virtio 1.2 §2.7; Linux and the driver are on the other side.
///
/// Ordering: avail.idx is loaded acquiring (so the ring entries and descriptors the driver wrote before are
/// visible), used.idx is stored releasing (so the used entries and buffer contents are visible to the driver), and
/// a full fence separates publishing from reading the driver's flags or used_event.
public struct DeviceQueue: Sendable {
    /// Which descriptor directions a queue accepts (virtio-net: receiveq writable only, transmitq readable only).
    public enum Access: Sendable {
        case deviceReadable, deviceWritable, any
    }

    public let layout: QueueLayout
    public let access: Access
    /// VIRTIO_F_EVENT_IDX negotiated: use used_event / avail_event instead of the flags.
    public let eventIndex: Bool

    /// The next avail ring entry the device will consume (free-running, modulo 2^16).
    public private(set) var nextAvailable: UInt16 = 0
    /// The next used ring entry the device will fill (free-running, modulo 2^16).
    public private(set) var nextUsed: UInt16 = 0
    /// used.idx when the device last decided about an interrupt (for vring_need_event).
    private var signalledUsed: UInt16 = 0

    public var size: UInt16 { layout.size }

    public init(layout: QueueLayout, access: Access = .any, features: VirtioFeatures = []) {
        self.layout = layout
        self.access = access
        eventIndex = features.contains(.ringEventIndex)
    }

    /// How many entries the driver has made available beyond `nextAvailable`, validated against the queue size.
    public func pendingCount(_ memory: GuestMemory) throws(QueueError) -> UInt16 {
        let availableIndex: UInt16
        do { availableIndex = try memory.loadAcquiring(at: layout.availableIndex) } catch { throw .memory(error) }
        let pending = availableIndex &- nextAvailable
        guard pending <= layout.size else {
            throw .availableIndexJumped(previous: nextAvailable, new: availableIndex, size: layout.size)
        }
        return pending
    }

    /// Takes the next available chain, or nil when the driver has made none available. Walks the chain with a
    /// hop limit of the queue size, checks every index, address and length, and the direction rules. virtio 1.2
    /// §2.7.13.2 (the device side of §2.7.13), §2.7.5.
    public mutating func popAvailable(_ memory: GuestMemory) throws(QueueError) -> DescriptorChain? {
        guard try pendingCount(memory) > 0 else { return nil }
        let head: UInt16
        do { head = try memory.load(UInt16.self, at: layout.availableEntry(nextAvailable & (layout.size - 1))) }
        catch { throw .memory(error) }
        let chain = try walk(head: head, memory)
        nextAvailable &+= 1
        return chain
    }

    /// Puts back the chain popped last (EAGAIN from the backend: nothing to write into it yet).
    public mutating func undoPop() {
        nextAvailable &-= 1
    }

    private func walk(head: UInt16, _ memory: GuestMemory) throws(QueueError) -> DescriptorChain {
        var chain = DescriptorChain(head: head)
        var index = head
        var hops = 0
        while true {
            guard index < layout.size else { throw .descriptorIndexOutOfRange(index: index, size: layout.size) }
            hops += 1
            guard hops <= Int(layout.size) else { throw .chainTooLong(head: head, limit: Int(layout.size)) }
            let descriptor: VirtqDescriptor
            do { descriptor = try VirtqDescriptor(from: memory, at: layout.descriptor(index)) } catch { throw .memory(error) }
            if descriptor.flags.contains(.indirect) {
                // tapvm does not offer INDIRECT_DESC (NetDevice.offeredFeatures), so an indirect descriptor breaks
                // §2.7.5.3.1; the device model has no indirect-table walker either way.
                throw .indirectUnsupported(index: index)
            }
            guard memory.contains(descriptor.address, length: Int(descriptor.length)) else {
                throw .badBuffer(index: index, address: descriptor.address, length: descriptor.length)
            }
            let writable = descriptor.flags.contains(.write)
            switch (access, writable) {
            case (.deviceReadable, true), (.deviceWritable, false): throw .wrongDirection(index: index, writable: writable)
            default: break
            }
            if !writable && !chain.writable.isEmpty { throw .wrongDirection(index: index, writable: false) }
            let buffer = DescriptorChain.Buffer(address: descriptor.address, length: descriptor.length)
            if writable { chain.writable.append(buffer) } else { chain.readable.append(buffer) }
            guard descriptor.flags.contains(.next) else { return chain }
            index = descriptor.next
        }
    }

    /// Writes a used entry {head, length} at `nextUsed` (not yet visible to the driver: see `publishUsed`).
    /// virtio 1.2 §2.7.8.
    public mutating func addUsed(head: UInt16, length: UInt32, _ memory: GuestMemory) throws(QueueError) {
        let entry = layout.usedEntry(nextUsed & (layout.size - 1))
        do {
            try memory.store(UInt32(head), at: entry)
            try memory.store(length, at: entry + 4)
        } catch { throw .memory(error) }
        nextUsed &+= 1
    }

    /// Makes every used entry added so far visible: release-store of used.idx. virtio 1.2 §2.7.8.2.
    public func publishUsed(_ memory: GuestMemory) throws(QueueError) {
        do { try memory.storeReleasing(nextUsed, at: layout.usedIndex) } catch { throw .memory(error) }
    }

    /// Whether the driver wants an interrupt for the entries published since the last call: used_event with
    /// EVENT_IDX (vring_need_event), else VIRTQ_AVAIL_F_NO_INTERRUPT clear. virtio 1.2 §2.7.10; call after
    /// `publishUsed` (the full fence here orders the two).
    public mutating func needsInterrupt(_ memory: GuestMemory) throws(QueueError) -> Bool {
        fullMemoryFence()
        let old = signalledUsed
        signalledUsed = nextUsed
        do {
            if eventIndex {
                let usedEvent = try memory.loadRelaxed(at: layout.usedEvent)
                return vringNeedEvent(event: usedEvent, new: nextUsed, old: old)
            }
            let flags = try memory.loadRelaxed(at: layout.availableFlags)
            return flags & QueueLayout.availableFlagNoInterrupt == 0 && old != nextUsed
        } catch { throw .memory(error) }
    }

    /// Asks the driver not to ring the doorbell (VIRTQ_USED_F_NO_NOTIFY); with EVENT_IDX the device simply stops
    /// advancing avail_event. A hint: the device must still cope with kicks. virtio 1.2 §2.7.10.
    public func disableNotification(_ memory: GuestMemory) throws(QueueError) {
        guard !eventIndex else { return }
        do { try memory.storeRelaxed(QueueLayout.usedFlagNoNotify, at: layout.usedFlags) } catch { throw .memory(error) }
    }

    /// Asks the driver to ring the doorbell for new buffers (flags cleared, or avail_event = nextAvailable), then
    /// re-checks: returns true when buffers arrived meanwhile, so the caller processes them instead of sleeping
    /// (the device half of the lost-wakeup race; rust-vmm `enable_notification`).
    public func enableNotification(_ memory: GuestMemory) throws(QueueError) -> Bool {
        do {
            if eventIndex {
                try memory.storeRelaxed(nextAvailable, at: layout.availableEvent)
            } else {
                try memory.storeRelaxed(0, at: layout.usedFlags)
            }
        } catch { throw .memory(error) }
        fullMemoryFence()
        return try pendingCount(memory) > 0
    }
}
