import Virtio
import Wire

/// One step of the driver, for `--trace`.
public enum DriverTraceEvent: Sendable, Equatable {
    /// A receive poll handed `frames` frames to the stack (budget `budget`).
    case receivePoll(frames: Int, budget: Int)
    /// RX buffers were given back to the device.
    case refilled(count: Int)
    /// The driver rang `queue`'s doorbell.
    case kick(queue: Int)
    /// TX buffers the device finished with were reclaimed.
    case reclaimed(count: Int)
    /// The TX ring was full: the frame waits in the stack.
    case transmitRingFull
    /// Interrupts re-enabled; `pending` when used entries had already arrived (poll again).
    case interruptsEnabled(pending: Bool)
}

/// The guest's virtio-net driver (Linux drivers/net/virtio_net.c, much reduced): the probe handshake, one RX and
/// one TX queue of single-descriptor buffers, budgeted receive with refill, transmit with reclaim, and the
/// interrupt masking the vCPU loop uses. Called from the vCPU thread only.
public final class VirtioNetDriver {
    /// Counters, read on the vCPU thread (or after it stopped).
    public struct Counters: Equatable, Sendable {
        public var rxFrames: UInt64 = 0
        public var rxBytes: UInt64 = 0
        /// Used RX entries shorter than the virtio header.
        public var rxErrors: UInt64 = 0
        public var txFrames: UInt64 = 0
        public var txBytes: UInt64 = 0
        /// transmit() calls refused because the ring was full.
        public var txRingFull: UInt64 = 0
        /// Frames dropped because they exceed a TX buffer (`transmit` threw `frameTooLarge`).
        public var txDropped: UInt64 = 0
        public var rxKicks: UInt64 = 0
        public var txKicks: UInt64 = 0
        /// Device protocol errors (bad used entries); the queue is broken afterwards.
        public var deviceErrors: UInt64 = 0
        public init() {}
    }

    /// What the driver accepts when the device offers it.
    public static let supportedFeatures: VirtioFeatures = [.version1, .netMAC, .netStatus, .netMTU, .ringEventIndex]
    /// Bytes per RX and TX buffer: the 12-byte header + a 1514-byte frame + a VLAN tag, rounded to 64.
    public static let bufferSize = 1536

    public let memory: GuestMemory
    public let transport: Transport
    public let receiveDoorbell: Doorbell
    public let transmitDoorbell: Doorbell
    public let interrupt: InterruptLine
    public let negotiatedFeatures: VirtioFeatures
    /// The MAC from config space (VIRTIO_NET_F_MAC), or nil when the device gave none.
    public let macAddress: MACAddress?
    /// The virtio_net_hdr size in every buffer (12 with VERSION_1).
    public let headerSize: Int
    public private(set) var counters = Counters()
    public var trace: ((DriverTraceEvent) -> Void)?

    private let receiveQueue: DriverQueue
    private let transmitQueue: DriverQueue
    private let receiveBuffers: GuestAddress
    private let transmitBuffers: GuestAddress
    private var freeTransmitSlots: [Int]
    private var transmitStalled = false

    /// Probes the device the way Linux does (virtio 1.2 §3.1.1): reset, ACKNOWLEDGE, DRIVER, read features,
    /// accept a subset, FEATURES_OK and check it stuck, read config, set up RX and TX queues of `queueSize`
    /// (capped at QueueNumMax), fill RX, DRIVER_OK, kick RX. Memory comes from a bump allocator starting one page
    /// in. `useEventIndex` false keeps VIRTIO_F_EVENT_IDX out even when offered.
    public init(
        memory: GuestMemory, transport: Transport, rxDoorbell: Doorbell, txDoorbell: Doorbell,
        interrupt: InterruptLine, queueSize: UInt16 = 256, useEventIndex: Bool = true
    ) throws(DriverError) {
        self.memory = memory
        self.transport = transport
        receiveDoorbell = rxDoorbell
        transmitDoorbell = txDoorbell
        self.interrupt = interrupt

        transport.writeStatus([])
        guard transport.status.isEmpty else { throw .handshakeFailed("reset did not clear status") }
        var status: DeviceStatus = [.acknowledge]
        transport.writeStatus(status)
        status.insert(.driver)
        transport.writeStatus(status)
        let offered = transport.deviceFeatures
        guard offered.contains(.version1) else {
            transport.writeStatus(status.union(.failed))
            throw .handshakeFailed("device does not offer VERSION_1 (offered \(offered))")
        }
        var wanted = offered.intersection(Self.supportedFeatures)
        if !useEventIndex { wanted.remove(.ringEventIndex) }
        transport.writeDriverFeatures(wanted)
        status.insert(.featuresOK)
        transport.writeStatus(status)
        guard transport.status.contains(.featuresOK) else {
            transport.writeStatus(status.subtracting(.featuresOK).union(.failed))
            throw .handshakeFailed("device refused features \(wanted)")
        }
        negotiatedFeatures = wanted
        headerSize = VirtioNetHeader.size(for: wanted)
        macAddress = wanted.contains(.netMAC) ? transport.config.mac : nil

        var allocator = GuestAllocator(memory: memory)
        let rxSize = min(queueSize, transport.maximumQueueSize(0))
        let txSize = min(queueSize, transport.maximumQueueSize(1))
        receiveQueue = try DriverQueue(size: rxSize, allocator: &allocator, features: wanted)
        transmitQueue = try DriverQueue(size: txSize, allocator: &allocator, features: wanted)
        receiveBuffers = try allocator.allocate(size: Int(rxSize) * Self.bufferSize, alignment: 64)
        transmitBuffers = try allocator.allocate(size: Int(txSize) * Self.bufferSize, alignment: 64)
        freeTransmitSlots = (0..<Int(txSize)).reversed().map { $0 }
        guard transport.configureQueue(0, layout: receiveQueue.layout),
            transport.configureQueue(1, layout: transmitQueue.layout)
        else {
            transport.writeStatus(status.union(.failed))
            throw .handshakeFailed("device refused a queue")
        }
        for slot in 0..<Int(rxSize) {
            _ = try receiveQueue.addBuffer(address: receiveBuffer(slot), length: UInt32(Self.bufferSize), deviceWritable: true, token: slot)
        }
        receiveQueue.publishAvailable()
        status.insert(.driverOK)
        transport.writeStatus(status)
        if receiveQueue.kickNeeded() {
            counters.rxKicks += 1
            rxDoorbell.ring()
        }
    }

    private func receiveBuffer(_ slot: Int) -> GuestAddress { receiveBuffers + slot * Self.bufferSize }
    private func transmitBuffer(_ slot: Int) -> GuestAddress { transmitBuffers + slot * Self.bufferSize }

    /// The largest frame `transmit` takes.
    public var maximumFrameLength: Int { Self.bufferSize - headerSize }

    /// Whether the device set DEVICE_NEEDS_RESET, or a queue broke.
    public var needsReset: Bool { failure != nil }

    /// Why the card cannot be used until reset: a queue the device broke (the error), or DEVICE_NEEDS_RESET in
    /// the status (virtio 1.2 §2.1.2); nil while it works. Call on the vCPU thread (the `VCPU` publishes it).
    public var failure: String? {
        if let error = receiveQueue.failure { return "receive queue: \(error)" }
        if let error = transmitQueue.failure { return "transmit queue: \(error)" }
        if transport.status.contains(.needsReset) { return "the device set NEEDS_RESET" }
        return nil
    }

    // MARK: receive

    /// Hands up to `budget` received frames (without the virtio header) to `deliver`, gives each buffer back,
    /// publishes the refill and kicks RX if the device wants it (Linux `virtnet_poll` / `virtnet_receive` /
    /// `try_fill_recv`). Returns the number of used entries consumed; `budget` means "more may be waiting".
    public func receive(budget: Int, deliver: (UnsafeRawBufferPointer) -> Void) -> Int {
        var consumed = 0
        var refilled = 0
        while consumed < budget {
            let used: (token: Int, length: UInt32)?
            do { used = try receiveQueue.popUsed() } catch {
                counters.deviceErrors += 1
                break
            }
            guard let (slot, length) = used else { break }
            consumed += 1
            let address = receiveBuffer(slot)
            if Int(length) < headerSize {
                counters.rxErrors += 1
            } else {
                let frameLength = Int(length) - headerSize
                _ = try? memory.withUnsafeBytes(at: address + headerSize, length: frameLength) { deliver($0) }
                counters.rxFrames += 1
                counters.rxBytes += UInt64(frameLength)
            }
            if (try? receiveQueue.addBuffer(address: address, length: UInt32(Self.bufferSize), deviceWritable: true, token: slot)) == true {
                refilled += 1
            }
        }
        trace?(.receivePoll(frames: consumed, budget: budget))
        if refilled > 0 {
            receiveQueue.publishAvailable()
            trace?(.refilled(count: refilled))
            if receiveQueue.kickNeeded() {
                counters.rxKicks += 1
                trace?(.kick(queue: 0))
                receiveDoorbell.ring()
            }
        }
        return consumed
    }

    // MARK: transmit

    /// Queues one Ethernet frame after a zero virtio_net_hdr (no offloads). Returns false when the TX ring is full
    /// even after reclaiming (the caller keeps the frame); a frame larger than a buffer throws and is counted in
    /// `txDropped`. Not visible to the device until `flushTransmit`.
    public func transmit(_ frame: UnsafeRawBufferPointer) throws(DriverError) -> Bool {
        guard frame.count <= maximumFrameLength else {
            counters.txDropped += 1
            throw .frameTooLarge(length: frame.count, limit: maximumFrameLength)
        }
        if freeTransmitSlots.isEmpty { reclaimTransmitted() }
        guard let slot = freeTransmitSlots.popLast() else {
            counters.txRingFull += 1
            transmitStalled = true
            trace?(.transmitRingFull)
            return false
        }
        let address = transmitBuffer(slot)
        try guestMemory { () throws(VirtioError) in
            try memory.fill(at: address, count: headerSize, with: 0)
            try memory.write(at: address + headerSize, from: frame)
        }
        guard try transmitQueue.addBuffer(address: address, length: UInt32(headerSize + frame.count), deviceWritable: false, token: slot)
        else {
            freeTransmitSlots.append(slot)
            transmitStalled = true
            return false
        }
        counters.txFrames += 1
        counters.txBytes += UInt64(frame.count)
        return true
    }

    /// `transmit` for an array.
    public func transmit(_ frame: [UInt8]) throws(DriverError) -> Bool {
        var result: Result<Bool, DriverError> = .success(false)
        frame.withUnsafeBytes { bytes in
            do throws(DriverError) { result = .success(try transmit(bytes)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Publishes queued frames and rings the TX doorbell if the device wants it (Linux `virtqueue_kick`).
    public func flushTransmit() {
        guard transmitQueue.unpublished else { return }
        transmitQueue.publishAvailable()
        if transmitQueue.kickNeeded() {
            counters.txKicks += 1
            trace?(.kick(queue: 1))
            transmitDoorbell.ring()
        }
    }

    /// Frees the TX buffers the device is done with (Linux `free_old_xmit_skbs`). Returns how many.
    @discardableResult
    public func reclaimTransmitted() -> Int {
        var count = 0
        while true {
            do {
                guard let (slot, _) = try transmitQueue.popUsed() else { break }
                freeTransmitSlots.append(slot)
                count += 1
            } catch {
                counters.deviceErrors += 1
                break
            }
        }
        if count > 0 {
            transmitStalled = false
            trace?(.reclaimed(count: count))
        }
        return count
    }

    // MARK: interrupts

    /// Masks the device's interrupts while polling (Linux `virtqueue_disable_cb`).
    public func disableInterrupts() {
        receiveQueue.disableInterrupts()
        transmitQueue.disableInterrupts()
    }

    /// Unmasks RX interrupts (and TX ones only while a frame waits for TX room, like Linux's stopped queue), then
    /// re-checks: true when used entries arrived meanwhile, so the caller must poll again rather than sleep.
    public func enableInterrupts() -> Bool {
        var pending = receiveQueue.enableInterrupts()
        if transmitStalled { pending = transmitQueue.enableInterrupts() || pending }
        trace?(.interruptsEnabled(pending: pending))
        return pending
    }
}
