import Synchronization
import Virtio
import Wire

/// The virtio-net device model: moves packets between a `NetBackend` and the guest's receive and transmit
/// queues (virtio 1.2 §5.1; QEMU hw/net/virtio-net.c, Firecracker devices/virtio/net). Driven from one thread
/// (the `DeviceThread`, or a test); the counters are readable from anywhere.
public final class NetDevice: @unchecked Sendable {
    /// receiveq1 and transmitq1. virtio 1.2 §5.1.2.
    public static let receiveQueue = 0
    public static let transmitQueue = 1
    /// What tapvm's device offers (the one list the Machine passes to its Transport): a modern device (VERSION_1)
    /// with a MAC and a link status, and event-index notification suppression. No checksum or segmentation
    /// offloads (the fd is set to TUNSETOFFLOAD(0)), no MRG_RXBUF, no INDIRECT_DESC. virtio 1.2 §5.1.3, §6.
    public static let offeredFeatures: VirtioFeatures = [.version1, .netMAC, .netStatus, .ringEventIndex]

    public let memory: GuestMemory
    public let transport: Transport
    public let backend: NetBackend
    public let interrupt: InterruptLine
    public let counters = NetDeviceCounters()
    private let trace: ((DeviceTraceEvent) -> Void)?

    private var receiveQueue: DeviceQueue?
    private var transmitQueue: DeviceQueue?
    private var guestHeaderSize = VirtioNetHeader.size
    /// VIRTIO_NET_F_GUEST_CSUM negotiated: the driver takes partial checksums (never, as tapvm does not offer it).
    private var guestTakesPartialChecksums = false
    private var scratch: UnsafeMutableRawBufferPointer
    /// Set when the driver broke the protocol or the backend failed: the device stays quiet until reset.
    public private(set) var broken = false
    /// Why the device is broken, for other threads (the health check).
    private let failureReason = Mutex<String?>(nil)
    /// Backend reads that threw, in a row (reset by a read that succeeds or finds nothing).
    private var consecutiveReadErrors = 0
    /// Consecutive backend read errors after which the backend counts as dead (its fd stays readable, so going on
    /// would spin): the device sets NEEDS_RESET and stops watching it. One error (an oversized frame, say) is
    /// only counted.
    public static let maximumConsecutiveReadErrors = 16
    /// False when the last RX pass ran out of guest buffers: the device thread stops watching the backend until
    /// the RX doorbell rings.
    public private(set) var receiveHasBuffers = true
    /// The last RX pass stopped at its budget with more possibly waiting: run another without waiting for an event.
    public private(set) var receiveMoreWaiting = false
    /// The last TX pass stopped at its budget with chains left: run another without waiting for a kick.
    public private(set) var transmitMoreWaiting = false
    /// Whether another pass is due now (a budget ran out), so the device thread must not sleep.
    public var hasMoreWork: Bool { (receiveMoreWaiting && wantsBackendReadable) || (transmitMoreWaiting && !broken) }
    /// Frames (backend reads or TX chains) per pass before the device thread goes back to epoll: like Linux NAPI
    /// weight and vhost-net's per-pass quota.
    public static let passBudget = 64
    /// True after the backend said EAGAIN on a write: TX waits (the chain put back) until the backend is writable.
    public private(set) var transmitBlocked = false

    public init(
        memory: GuestMemory, transport: Transport, backend: NetBackend, interrupt: InterruptLine,
        trace: ((DeviceTraceEvent) -> Void)? = nil
    ) {
        self.memory = memory
        self.transport = transport
        self.backend = backend
        self.interrupt = interrupt
        self.trace = trace
        scratch = .allocate(byteCount: Self.scratchSize(maximumPacketSize: backend.maximumPacketSize), alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// The scratch buffer for `maximumPacketSize`-byte backend packets: room for the largest header difference
    /// (a 12-byte guest header built before a headerless packet, or the reverse on TX), plus one byte so that a
    /// read that fills its buffer is known to be truncated.
    static func scratchSize(maximumPacketSize: Int) -> Int {
        max(0, maximumPacketSize) + VirtioNetHeader.size + 1
    }

    /// True once the device has read its queues after DRIVER_OK.
    public var isActive: Bool { receiveQueue != nil && transmitQueue != nil }

    /// Whether the backend's readability matters now: active, healthy and with RX buffers.
    public var wantsBackendReadable: Bool { isActive && !broken && receiveHasBuffers }

    /// Whether the backend's writability matters now: a TX chain waits for room in the backend.
    public var wantsBackendWritable: Bool { isActive && !broken && transmitBlocked }

    /// Reads the queue registers if the driver set DRIVER_OK (virtio 1.2 §3.1.1 step 8); returns `isActive`.
    /// A bad layout is the driver's error: NEEDS_RESET.
    @discardableResult
    public func activateIfReady() -> Bool {
        if isActive || broken { return isActive }
        let status = transport.status
        guard status.contains(.driverOK), status.contains(.featuresOK), !status.contains(.needsReset) else { return false }
        let features = transport.negotiatedFeatures
        do throws(VirtioError) {
            let rx = transport.queueRegisters(Self.receiveQueue)
            let tx = transport.queueRegisters(Self.transmitQueue)
            guard rx.ready, tx.ready else { throw VirtioError.invalidLayout("queues not ready at DRIVER_OK") }
            let rxLayout = try rx.layout()
            let txLayout = try tx.layout()
            try rxLayout.check(in: memory)
            try txLayout.check(in: memory)
            receiveQueue = DeviceQueue(layout: rxLayout, access: .deviceWritable, features: features)
            transmitQueue = DeviceQueue(layout: txLayout, access: .deviceReadable, features: features)
        } catch {
            fail(queue: Self.receiveQueue, .memory(error))
            return false
        }
        guestHeaderSize = VirtioNetHeader.size(for: features)
        guestTakesPartialChecksums = features.contains(.netGuestChecksum)
        receiveHasBuffers = true
        trace?(.activated(features: features))
        return true
    }

    /// Why the device stopped working (a queue error, the backend failing), or nil while it works. Readable from
    /// any thread; cleared when the driver resets the device.
    public var failure: String? { failureReason.withLock { $0 } }

    private func fail(queue: Int, _ error: QueueError) {
        counters.queueErrors.increment()
        markFailed("queue \(queue): \(error)")
        trace?(.queueError(queue: queue, error))
    }

    /// DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2): the device stops using its queues and the backend until reset.
    private func markFailed(_ reason: String) {
        broken = true
        failureReason.withLock { if $0 == nil { $0 = reason } }
        transport.setNeedsReset()
    }

    private func raiseInterrupt(queue: Int) {
        counters.interruptsRaised.increment()
        trace?(.interruptRaised(queue: queue))
        interrupt.raise()
    }

    /// Forgets the queues if the driver reset the device (status written to 0, virtio 1.2 §2.4), so that the
    /// next DRIVER_OK activates it afresh. Called on every doorbell.
    public func followReset() {
        guard isActive || broken, transport.status.isEmpty else { return }
        receiveQueue = nil
        transmitQueue = nil
        broken = false
        transmitBlocked = false
        consecutiveReadErrors = 0
        failureReason.withLock { $0 = nil }
        receiveHasBuffers = true
    }

    /// The RX doorbell rang: buffers were added.
    public func receiveDoorbell(count: UInt64 = 1) {
        followReset()
        counters.doorbells.increment()
        trace?(.doorbell(queue: Self.receiveQueue, count: count))
        receiveHasBuffers = true
        activateIfReady()
        processReceive()
    }

    /// The TX doorbell rang: frames were added.
    public func transmitDoorbell(count: UInt64 = 1) {
        followReset()
        counters.doorbells.increment()
        trace?(.doorbell(queue: Self.transmitQueue, count: count))
        activateIfReady()
        processTransmit()
    }

    // MARK: RX

    /// Moves packets from the backend into the guest's RX buffers while both have some, at most `budget` backend
    /// reads per pass (so an RX flood cannot starve the TX doorbell or the stop notifier); publishes used.idx and
    /// raises at most one interrupt per pass. With no buffers, stops (`receiveHasBuffers` false) without reading
    /// the backend; on EAGAIN, un-pops the chain. When the budget ran out, `receiveMoreWaiting` says to come back
    /// without waiting for an event. Returns the number of frames delivered.
    @discardableResult
    public func processReceive(budget: Int = NetDevice.passBudget) -> Int {
        receiveMoreWaiting = false
        guard !broken, var queue = receiveQueue else { return 0 }
        var delivered = 0
        var reads = 0
        defer {
            if delivered > 0 { finishBatch(&queue, queueIndex: Self.receiveQueue) }
            receiveQueue = queue
        }
        while true {
            if reads >= budget {
                receiveMoreWaiting = true
                return delivered
            }
            reads += 1
            let chain: DescriptorChain
            do {
                guard let popped = try queue.popAvailable(memory) else {
                    // No buffers: ask for a kick, and re-check the race (buffers added meanwhile).
                    if try queue.enableNotification(memory) { continue }
                    receiveHasBuffers = false
                    counters.rxNoBuffer.increment()
                    trace?(.receiveStalled)
                    return delivered
                }
                chain = popped
            } catch {
                fail(queue: Self.receiveQueue, error)
                return delivered
            }
            switch receiveOne(into: chain) {
            case .wouldBlock:
                queue.undoPop()
                return delivered
            case .dropped:
                queue.undoPop()  // the buffer is still free: reuse it for the next packet
            case let .delivered(length):
                trace?(.chainPopped(queue: Self.receiveQueue, head: chain.head, availableIndex: queue.nextAvailable &- 1,
                                    readable: chain.readable.count, writable: chain.writable.count))
                do { try queue.addUsed(head: chain.head, length: UInt32(length), memory) } catch {
                    fail(queue: Self.receiveQueue, error)
                    return delivered
                }
                delivered += 1
            }
        }
    }

    private enum ReceiveResult { case wouldBlock, dropped, delivered(Int) }

    /// Reads one packet and writes it, with the guest's header, into `chain`.
    private func receiveOne(into chain: DescriptorChain) -> ReceiveResult {
        let backendHeader = backend.vnetHeaderSize
        let guestHeader = guestHeaderSize
        // Read so that the guest header can be built in place right before the frame.
        let readOffset = max(0, guestHeader - backendHeader)
        let length: Int
        let readBuffer = UnsafeMutableRawBufferPointer(rebasing: scratch[readOffset...])
        do {
            guard let n = try backend.receive(into: readBuffer) else {
                consecutiveReadErrors = 0
                return .wouldBlock
            }
            length = n
        } catch {
            // Counted and skipped; a run of them means the backend is dead (else level-triggered epoll spins).
            counters.rxErrors.increment()
            consecutiveReadErrors += 1
            trace?(.backendReadFailed(String(describing: error)))
            if consecutiveReadErrors >= Self.maximumConsecutiveReadErrors {
                markFailed("backend read failed \(consecutiveReadErrors) times in a row: \(error)")
                trace?(.backendFailed)
                return .wouldBlock
            }
            return .dropped
        }
        consecutiveReadErrors = 0
        trace?(.backendRead(length: length))
        guard length < readBuffer.count else {
            // More than maximumPacketSize: the backend cut it. Never deliver a cut frame.
            counters.rxOversized.increment()
            return .dropped
        }
        guard length >= backendHeader else {
            counters.rxErrors.increment()
            return .dropped
        }
        let frameLength = length - backendHeader
        let start = readOffset + backendHeader - guestHeader
        let backendFields = Self.parseHeader(UnsafeRawBufferPointer(rebasing: scratch[readOffset..<(readOffset + backendHeader)]))
        let frame = UnsafeMutableRawBufferPointer(rebasing: scratch[(readOffset + backendHeader)..<(readOffset + length)])
        guard var header = headerForGuest(from: backendFields, frame: frame) else { return .dropped }
        // The guest's virtio_net_hdr, built in place before the frame, num_buffers = 1.
        header.numBuffers = 1
        Self.emitHeader(header, into: UnsafeMutableRawBufferPointer(rebasing: scratch[start..<(start + guestHeader)]))
        let total = guestHeader + frameLength
        let room = chain.writableLength
        guard total <= room else {
            counters.rxTruncated.increment()
            trace?(.receiveTruncated(length: total, room: room))
            return .dropped
        }
        var copied = 0
        for buffer in chain.writable where copied < total {
            let count = min(Int(buffer.length), total - copied)
            // In range: popAvailable checked every buffer.
            try? memory.write(at: buffer.address, from: UnsafeRawBufferPointer(rebasing: scratch[(start + copied)..<(start + copied + count)]))
            copied += count
        }
        counters.rxFrames.increment()
        counters.rxBytes.increment(by: UInt64(frameLength))
        return .delivered(total)
    }

    /// The header the guest may see for a frame the backend delivered with `backend`. virtio 1.2 §5.1.6.4.1:
    /// without VIRTIO_NET_F_GUEST_CSUM the device sets flags to 0 and gso_type to NONE, so a partial checksum
    /// (NEEDS_CSUM) is completed here, over csum_start to the end, stored at csum_start + csum_offset (Linux
    /// `skb_checksum_help`), and DATA_VALID is simply cleared. A GSO frame (no GUEST_TSO/UFO is offered, and
    /// TUNSETOFFLOAD(0) keeps the kernel from sending one) and checksum fields outside the frame are counted drops
    /// (nil).
    private func headerForGuest(from backend: VirtioNetHeader, frame: UnsafeMutableRawBufferPointer) -> VirtioNetHeader? {
        guard backend.gsoType.rawValue & ~VirtioNetHeader.GSOType.ecn.rawValue == VirtioNetHeader.GSOType.none.rawValue
        else {
            counters.rxGSODropped.increment()
            trace?(.receiveGSODropped(gsoType: backend.gsoType.rawValue, length: frame.count))
            return nil
        }
        if guestTakesPartialChecksums {
            var header = backend
            header.gsoType = .none
            header.headerLength = 0
            header.gsoSize = 0
            return header
        }
        if backend.flags.contains(.needsChecksum) {
            let start = Int(backend.checksumStart)
            let field = start + Int(backend.checksumOffset)
            guard field + 2 <= frame.count else {
                counters.rxChecksumErrors.increment()
                return nil
            }
            var checksum = InternetChecksum()
            checksum.add(UnsafeRawBufferPointer(rebasing: frame[start...]))
            // A computed 0 is sent as 0xFFFF (the same in one's complement; 0 means "none" in UDP). RFC 768.
            let value = checksum.value
            frame.storeBigEndian(value == 0 ? 0xFFFF : value, at: field)
            counters.rxChecksumsCompleted.increment()
        }
        return VirtioNetHeader()
    }

    // MARK: TX

    /// Sends the available TX chains to the backend (header converted to the backend's size + frame, in one
    /// write), at most `budget` per pass (`transmitMoreWaiting` then says to come back), returns each with used
    /// length 0, publishes once per pass and raises at most one interrupt. Suppresses TX
    /// kicks while working and re-checks after re-enabling them. When the backend is full (EAGAIN), puts the
    /// chain back and stops until `backendWritable()` (DESIGN: "EAGAIN from the fd means un-pop and wait").
    /// Returns the number of chains consumed.
    @discardableResult
    public func processTransmit(budget: Int = NetDevice.passBudget) -> Int {
        transmitMoreWaiting = false
        guard !broken, !transmitBlocked, var queue = transmitQueue else { return 0 }
        var consumed = 0
        defer {
            if consumed > 0 { finishBatch(&queue, queueIndex: Self.transmitQueue) }
            transmitQueue = queue
        }
        do {
            repeat {
                try queue.disableNotification(memory)
                while let chain = try queue.popAvailable(memory) {
                    if consumed >= budget {
                        // Come back after a turn of the event loop; notifications stay off meanwhile.
                        queue.undoPop()
                        transmitMoreWaiting = true
                        return consumed
                    }
                    if case .wouldBlock = transmitOne(chain) {
                        queue.undoPop()
                        transmitBlocked = true
                        trace?(.transmitBlocked)
                        return consumed
                    }
                    trace?(.chainPopped(queue: Self.transmitQueue, head: chain.head, availableIndex: queue.nextAvailable &- 1,
                                        readable: chain.readable.count, writable: chain.writable.count))
                    try queue.addUsed(head: chain.head, length: 0, memory)
                    consumed += 1
                }
            } while try queue.enableNotification(memory)
        } catch {
            fail(queue: Self.transmitQueue, error)
        }
        return consumed
    }

    /// The backend became writable after an EAGAIN: retry the waiting TX chains.
    public func backendWritable() {
        guard transmitBlocked else { return }
        transmitBlocked = false
        processTransmit()
    }

    private enum TransmitResult { case consumed, wouldBlock }

    /// Writes one chain to the backend; `.consumed` also when the chain was bad or refused (counted).
    private func transmitOne(_ chain: DescriptorChain) -> TransmitResult {
        let guestHeader = guestHeaderSize
        let backendHeader = backend.vnetHeaderSize
        let total = chain.readableLength
        guard total >= guestHeader else {
            counters.txErrors.increment()
            return .consumed
        }
        let frameLength = total - guestHeader
        // Gather at an offset such that the backend header ends where the guest header ends.
        let base = max(0, backendHeader - guestHeader)
        guard base + total <= scratch.count else {
            counters.txErrors.increment()
            return .consumed
        }
        var gathered = 0
        for buffer in chain.readable {
            try? memory.read(at: buffer.address, into: UnsafeMutableRawBufferPointer(rebasing: scratch[(base + gathered)..<(base + gathered + Int(buffer.length))]))
            gathered += Int(buffer.length)
        }
        let frameStart = base + guestHeader
        let packetStart = frameStart - backendHeader
        // The backend header: the guest's fields (flags, gso, csum); num_buffers is RX only.
        var header = Self.parseHeader(UnsafeRawBufferPointer(rebasing: scratch[base..<frameStart]))
        header.numBuffers = 0
        Self.emitHeader(header, into: UnsafeMutableRawBufferPointer(rebasing: scratch[packetStart..<frameStart]))
        let packet = UnsafeRawBufferPointer(rebasing: scratch[packetStart..<(frameStart + frameLength)])
        do {
            guard try backend.transmit(packet) else { return .wouldBlock }
        } catch {
            counters.txErrors.increment()
            return .consumed
        }
        trace?(.backendWrite(length: packet.count))
        counters.txFrames.increment()
        counters.txBytes.increment(by: UInt64(frameLength))
        return .consumed
    }

    // MARK: virtio_net_hdr (through Wire's value and view, the one place its bytes are read and written)

    /// The header at the start of `bytes` (10 or 12 bytes, or more with the rest ignored); all zero when shorter
    /// than the legacy header (a backend without one).
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) -> VirtioNetHeader {
        let size = bytes.count >= VirtioNetHeader.size ? VirtioNetHeader.size : VirtioNetHeader.legacySize
        guard let view = try? VirtioNetHeaderView(bytes, size: size) else { return VirtioNetHeader() }
        return VirtioNetHeader(view)
    }

    /// Writes `header` over all of `bytes`: the largest Wire layout that fits, zeros beyond it (or only zeros
    /// when `bytes` is shorter than the legacy header).
    static func emitHeader(_ header: VirtioNetHeader, into bytes: UnsafeMutableRawBufferPointer) {
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        guard bytes.count >= VirtioNetHeader.legacySize else { return }
        let size = bytes.count >= VirtioNetHeader.size ? VirtioNetHeader.size : VirtioNetHeader.legacySize
        try? header.emit(into: bytes, size: size)  // cannot fail: the size is 10 or 12 and fits
    }

    private func finishBatch(_ queue: inout DeviceQueue, queueIndex: Int) {
        do {
            try queue.publishUsed(memory)
            trace?(.usedPublished(queue: queueIndex, usedIndex: queue.nextUsed))
            if try queue.needsInterrupt(memory) { raiseInterrupt(queue: queueIndex) }
        } catch {
            fail(queue: queueIndex, error)
        }
    }
}
