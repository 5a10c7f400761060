import Virtio

/// The driver side of one split virtqueue (Linux drivers/virtio/virtio_ring.c, split part): owns the ring memory
/// it laid out, a free-descriptor list and the token of every buffer in flight. One descriptor per buffer.
///
/// Ordering: avail.idx is stored releasing (descriptors and ring entries first), used.idx is loaded acquiring,
/// a full fence separates publishing from reading the device's flags or avail_event (virtio 1.2 §2.7.13.3.1,
/// §2.7.13.4). Used entries are untrusted: an unknown id or a length beyond the buffer is an error and the
/// queue is marked broken, never a trap.
public final class DriverQueue {
    public let layout: QueueLayout
    public let memory: GuestMemory
    /// VIRTIO_F_EVENT_IDX negotiated.
    public let eventIndex: Bool

    private var freeDescriptors: [UInt16]
    private var tokens: [Int?]
    private var bufferLengths: [UInt32]
    /// The driver's copy of avail.idx (entries written, published or not).
    private var availableShadow: UInt16 = 0
    /// avail.idx at the last `kickNeeded` decision.
    private var availableAtLastKick: UInt16 = 0
    /// The next used entry the driver will read.
    public private(set) var lastUsed: UInt16 = 0
    /// Set by the first device error; the queue is unusable until reset.
    public var broken: Bool { failure != nil }
    /// The device error that broke the queue (Linux marks the vring broken), for the report.
    public private(set) var failure: DriverError?
    /// The avail flags the driver last wrote (interrupt suppression).
    private var availableFlags: UInt16 = 0

    /// Lays out a queue of `size` entries in memory from `allocator` and zeroes it. virtio 1.2 §2.7.
    public init(size: UInt16, allocator: inout GuestAllocator, features: VirtioFeatures) throws(DriverError) {
        memory = allocator.memory
        let descriptorTable = try allocator.allocate(size: QueueLayout.descriptorTableSize(queueSize: size), alignment: QueueLayout.descriptorTableAlignment)
        let availableRing = try allocator.allocate(size: QueueLayout.availableRingSize(queueSize: size), alignment: QueueLayout.availableRingAlignment)
        let usedRing = try allocator.allocate(size: QueueLayout.usedRingSize(queueSize: size), alignment: QueueLayout.usedRingAlignment)
        do throws(VirtioError) {
            layout = try QueueLayout(size: size, descriptorTable: descriptorTable, availableRing: availableRing, usedRing: usedRing)
            try memory.fill(at: descriptorTable, count: QueueLayout.descriptorTableSize(queueSize: size), with: 0)
            try memory.fill(at: availableRing, count: QueueLayout.availableRingSize(queueSize: size), with: 0)
            try memory.fill(at: usedRing, count: QueueLayout.usedRingSize(queueSize: size), with: 0)
        } catch { throw .memory(error) }
        eventIndex = features.contains(.ringEventIndex)
        freeDescriptors = (0..<size).reversed().map { $0 }
        tokens = Array(repeating: nil, count: Int(size))
        bufferLengths = Array(repeating: 0, count: Int(size))
    }

    /// Free descriptors.
    public var freeCount: Int { freeDescriptors.count }
    /// Buffers the device holds or has returned but the driver has not popped.
    public var inFlight: Int { Int(layout.size) - freeDescriptors.count }

    /// Adds one buffer (one descriptor) and writes its avail ring entry; not visible to the device until
    /// `publishAvailable`. Returns false when no descriptor is free. virtio 1.2 §2.7.13.1-2.
    public func addBuffer(address: GuestAddress, length: UInt32, deviceWritable: Bool, token: Int) throws(DriverError) -> Bool {
        guard !broken else { throw .queueBroken }
        guard let index = freeDescriptors.popLast() else { return false }
        let descriptor = VirtqDescriptor(address: address, length: length, flags: deviceWritable ? .write : [])
        do throws(VirtioError) {
            try descriptor.write(to: memory, at: layout.descriptor(index))
            try memory.store(index, at: layout.availableEntry(availableShadow & (layout.size - 1)))
        } catch { throw .memory(error) }
        tokens[Int(index)] = token
        bufferLengths[Int(index)] = length
        availableShadow &+= 1
        return true
    }

    /// Entries added since the last publish.
    public var unpublished: Bool { availableShadow != availableAtLastKick }

    /// Makes added buffers visible: release-store of avail.idx. virtio 1.2 §2.7.13.3.
    public func publishAvailable() {
        try? memory.storeReleasing(availableShadow, at: layout.availableIndex)
    }

    /// Whether the device wants a doorbell for the entries published since the last call: avail_event with
    /// EVENT_IDX (vring_need_event), else VIRTQ_USED_F_NO_NOTIFY clear. Linux `virtqueue_kick_prepare_split`;
    /// call after `publishAvailable`.
    public func kickNeeded() -> Bool {
        fullMemoryFence()
        let old = availableAtLastKick
        let new = availableShadow
        availableAtLastKick = new
        guard old != new else { return false }
        if eventIndex {
            guard let event = try? memory.loadRelaxed(at: layout.availableEvent) else { return true }
            return vringNeedEvent(event: event, new: new, old: old)
        }
        guard let flags = try? memory.loadRelaxed(at: layout.usedFlags) else { return true }
        return flags & QueueLayout.usedFlagNoNotify == 0
    }

    /// Whether the device has returned buffers the driver has not popped (acquire-load of used.idx). Always false
    /// on a broken queue: nothing more will be popped from it, so "work waiting" would make its caller spin.
    public var hasUsed: Bool {
        guard !broken, let index = try? memory.loadAcquiring(at: layout.usedIndex) else { return false }
        return index != lastUsed
    }

    /// The next buffer the device returned and how many bytes it wrote, or nil. Validates the entry: an index
    /// jump, an unknown id or a length beyond the buffer throws and breaks the queue. virtio 1.2 §2.7.14.
    public func popUsed() throws(DriverError) -> (token: Int, length: UInt32)? {
        guard !broken else { throw .queueBroken }
        do { return try popUsedChecked() } catch {
            failure = error
            throw error
        }
    }

    private func popUsedChecked() throws(DriverError) -> (token: Int, length: UInt32)? {
        let usedIndex = try guestMemory { () throws(VirtioError) in try memory.loadAcquiring(at: layout.usedIndex) }
        guard usedIndex != lastUsed else { return nil }
        guard usedIndex &- lastUsed <= layout.size else {
            throw .usedIndexJumped(previous: lastUsed, new: usedIndex, size: layout.size)
        }
        let entry = layout.usedEntry(lastUsed & (layout.size - 1))
        let id = try guestMemory { () throws(VirtioError) in try memory.load(UInt32.self, at: entry) }
        let length = try guestMemory { () throws(VirtioError) in try memory.load(UInt32.self, at: entry + 4) }
        guard id < UInt32(layout.size), let token = tokens[Int(id)] else { throw .unknownUsedID(id) }
        guard length <= bufferLengths[Int(id)] else {
            throw .usedLengthBeyondBuffer(id: id, length: length, bufferLength: bufferLengths[Int(id)])
        }
        tokens[Int(id)] = nil
        freeDescriptors.append(UInt16(id))
        lastUsed &+= 1
        return (token, length)
    }

    /// Asks the device not to interrupt (VIRTQ_AVAIL_F_NO_INTERRUPT; with EVENT_IDX used_event is left behind,
    /// Linux `virtqueue_disable_cb_split`). A hint: an interrupt may still come.
    public func disableInterrupts() {
        guard !eventIndex, availableFlags & QueueLayout.availableFlagNoInterrupt == 0 else { return }
        availableFlags |= QueueLayout.availableFlagNoInterrupt
        try? memory.storeRelaxed(availableFlags, at: layout.availableFlags)
    }

    /// Asks the device to interrupt for the next used entry, then re-checks: true when entries arrived meanwhile,
    /// so the caller polls again instead of sleeping (Linux `virtqueue_enable_cb_prepare` + `virtqueue_poll`:
    /// the lost-wakeup race). False on a broken queue (see `hasUsed`).
    public func enableInterrupts() -> Bool {
        guard !broken else { return false }
        if eventIndex {
            try? memory.storeRelaxed(lastUsed, at: layout.usedEvent)
        } else if availableFlags & QueueLayout.availableFlagNoInterrupt != 0 {
            availableFlags &= ~QueueLayout.availableFlagNoInterrupt
            try? memory.storeRelaxed(availableFlags, at: layout.availableFlags)
        }
        fullMemoryFence()
        return hasUsed
    }
}

/// Runs a guest memory access, mapping its error into the driver's.
@inline(__always)
func guestMemory<T>(_ body: () throws(VirtioError) -> T) throws(DriverError) -> T {
    do { return try body() } catch { throw .memory(error) }
}
