import Synchronization
import Virtio
import Wire
@testable import Emulator

/// The driver side, written by hand the way rust-vmm's MockSplitQueue does: real descriptors, avail and used
/// rings in a real GuestMemory, so the device under test reads exactly what a guest would have written.
final class MockDriverQueue {
    let memory: GuestMemory
    let layout: QueueLayout
    private(set) var availableIndex: UInt16 = 0
    private var nextDescriptor: UInt16 = 0

    init(memory: GuestMemory, at base: UInt64, size: UInt16) throws {
        self.memory = memory
        let table = base
        let available = table + UInt64(QueueLayout.descriptorTableSize(queueSize: size))
        let used = (available + UInt64(QueueLayout.availableRingSize(queueSize: size)) + 3) & ~3
        layout = try QueueLayout(size: size, descriptorTable: GuestAddress(table), availableRing: GuestAddress(available), usedRing: GuestAddress(used))
    }

    /// Writes a chain of descriptors (fresh indices) and makes it available; returns the head.
    @discardableResult
    func addChain(_ buffers: [(address: UInt64, length: UInt32, writable: Bool)], publish: Bool = true) throws -> UInt16 {
        let head = nextDescriptor
        for (i, buffer) in buffers.enumerated() {
            let index = (head &+ UInt16(i)) % layout.size
            let last = i == buffers.count - 1
            var flags: VirtqDescriptor.Flags = buffer.writable ? .write : []
            if !last { flags.insert(.next) }
            try VirtqDescriptor(address: GuestAddress(buffer.address), length: buffer.length, flags: flags,
                                next: last ? 0 : (index &+ 1) % layout.size).write(to: memory, at: layout.descriptor(index))
        }
        nextDescriptor = (head &+ UInt16(buffers.count)) % layout.size
        try makeAvailable(head: head, publish: publish)
        return head
    }

    func makeAvailable(head: UInt16, publish: Bool = true) throws {
        try memory.store(head, at: layout.availableEntry(availableIndex % layout.size))
        availableIndex &+= 1
        if publish { try memory.storeReleasing(availableIndex, at: layout.availableIndex) }
    }

    func writeDescriptor(_ index: UInt16, _ descriptor: VirtqDescriptor) throws {
        try descriptor.write(to: memory, at: layout.descriptor(index))
    }

    func setAvailableIndex(_ value: UInt16) throws { try memory.storeReleasing(value, at: layout.availableIndex) }
    func setAvailableFlags(_ value: UInt16) throws { try memory.store(value, at: layout.availableFlags) }
    func setUsedEvent(_ value: UInt16) throws { try memory.store(value, at: layout.usedEvent) }

    var usedIndex: UInt16 { (try? memory.loadAcquiring(at: layout.usedIndex)) ?? 0xFFFF }
    var usedFlags: UInt16 { (try? memory.load(UInt16.self, at: layout.usedFlags)) ?? 0xFFFF }
    func usedEntry(_ slot: UInt16) throws -> (id: UInt32, length: UInt32) {
        let address = layout.usedEntry(slot % layout.size)
        return (try memory.load(UInt32.self, at: address), try memory.load(UInt32.self, at: address + 4))
    }
}

/// An in-memory backend: packets to deliver (readable eventfd while any wait) and packets transmitted.
final class FakeBackend: NetBackend, @unchecked Sendable {
    private struct State {
        var incoming: [[UInt8]] = []
        var transmitted: [[UInt8]] = []
        var reads = 0
        var failingReads = 0
        var writesBlocked = false
        var writeAttempts = 0
    }
    private let state = Mutex(State())
    private let readable: EventNotifier
    let vnetHeaderSize: Int
    let maximumPacketSize: Int
    var pollFD: Int32 { readable.fd }

    init(vnetHeaderSize: Int = 10, maximumPacketSize: Int = 65_565) throws {
        self.vnetHeaderSize = vnetHeaderSize
        self.maximumPacketSize = maximumPacketSize
        readable = try EventNotifier()
    }

    func inject(_ packet: [UInt8]) {
        state.withLock {
            $0.incoming.append(packet)
            readable.signal()
        }
    }

    var pendingCount: Int { state.withLock { $0.incoming.count } }
    var transmitted: [[UInt8]] { state.withLock { $0.transmitted } }
    var reads: Int { state.withLock { $0.reads } }

    /// Makes the next `count` reads throw (the fd stays readable, as a broken fd's would).
    func failReads(_ count: Int) {
        state.withLock {
            $0.failingReads = count
            readable.signal()
        }
    }

    struct ReadError: Error, CustomStringConvertible {
        var description: String { "fake read error" }
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        try state.withLock { s throws in
            s.reads += 1
            if s.failingReads > 0 {
                s.failingReads -= 1
                throw ReadError()
            }
            guard !s.incoming.isEmpty else {
                readable.drain()
                return nil
            }
            let packet = s.incoming.removeFirst()
            if s.incoming.isEmpty { readable.drain() }
            let n = min(packet.count, buffer.count)
            packet.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
            return n
        }
    }

    func transmit(_ packet: UnsafeRawBufferPointer) throws -> Bool {
        state.withLock {
            $0.writeAttempts += 1
            guard !$0.writesBlocked else { return false }
            $0.transmitted.append(Array(packet))
            return true
        }
    }

    /// While true, every write says EAGAIN (false).
    var writesBlocked: Bool {
        get { state.withLock { $0.writesBlocked } }
        set { state.withLock { $0.writesBlocked = newValue } }
    }
    var writeAttempts: Int { state.withLock { $0.writeAttempts } }
}

/// Memory, transport, device and both mock queues, with the handshake done.
struct Bench {
    let memory = GuestMemory(size: 1 << 20)
    let transport: Transport
    let backend: FakeBackend
    let interrupt: InterruptLine
    let device: NetDevice
    let rx: MockDriverQueue
    let tx: MockDriverQueue
    let trace: TraceLog

    init(queueSize: UInt16 = 8, features: VirtioFeatures = [.version1, .netMAC], backendHeader: Int = 10,
         maximumPacketSize: Int = 65_565) throws {
        transport = Transport(deviceFeatures: features, maximumQueueSize: 256, config: VirtioNetConfig(mac: MACAddress(0x02, 0xAA, 0, 0, 0, 1)))
        backend = try FakeBackend(vnetHeaderSize: backendHeader, maximumPacketSize: maximumPacketSize)
        interrupt = try InterruptLine()
        let trace = TraceLog()
        self.trace = trace
        device = NetDevice(memory: memory, transport: transport, backend: backend, interrupt: interrupt, trace: { trace.append($0) })
        rx = try MockDriverQueue(memory: memory, at: 0x1000, size: queueSize)
        tx = try MockDriverQueue(memory: memory, at: 0x8000, size: queueSize)
        transport.writeStatus([.acknowledge, .driver])
        transport.writeDriverFeatures(features)
        transport.writeStatus([.acknowledge, .driver, .featuresOK])
        transport.configureQueue(0, layout: rx.layout)
        transport.configureQueue(1, layout: tx.layout)
        transport.writeStatus([.acknowledge, .driver, .featuresOK, .driverOK])
    }

    var interruptsPending: UInt64 { interrupt.acknowledge() }
}

final class TraceLog: @unchecked Sendable {
    private let events = Mutex<[DeviceTraceEvent]>([])
    func append(_ event: DeviceTraceEvent) { events.withLock { $0.append(event) } }
    var all: [DeviceTraceEvent] { events.withLock { $0 } }
}

/// A packet as the backend carries it: a 10-byte header with distinctive values (DATA_VALID, hdr_len 0x22,
/// csum_start 14, csum_offset 16; no NEEDS_CSUM, so the frame reaches the guest unchanged), then the frame.
func backendPacket(frame: [UInt8], header: [UInt8] = [0x02, 0x00, 0x22, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x10, 0x00]) -> [UInt8] {
    header + frame
}

/// A frame of `length` bytes whose bytes encode `seed`, so a mix-up shows.
func testFrame(length: Int, seed: UInt8) -> [UInt8] {
    (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
}
