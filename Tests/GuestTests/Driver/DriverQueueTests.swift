import Testing
import Virtio
@testable import Guest

/// The driver side of the ring against a hand-written device: used entries are untrusted.
@Suite struct DriverQueueTests {
    func makeQueue(features: VirtioFeatures = []) throws -> (DriverQueue, GuestMemory) {
        let memory = GuestMemory(size: 64 << 10)
        var allocator = GuestAllocator(memory: memory)
        return (try DriverQueue(size: 8, allocator: &allocator, features: features), memory)
    }

    func deviceReturns(_ memory: GuestMemory, _ queue: DriverQueue, slot: UInt16, id: UInt32, length: UInt32, usedIndex: UInt16) throws {
        try memory.store(id, at: queue.layout.usedEntry(slot))
        try memory.store(length, at: queue.layout.usedEntry(slot) + 4)
        try memory.storeReleasing(usedIndex, at: queue.layout.usedIndex)
    }

    @Test func addPublishKickAndPop() throws {
        let (queue, memory) = try makeQueue()
        #expect(try queue.addBuffer(address: 0x8000, length: 1536, deviceWritable: true, token: 41))
        #expect(try queue.addBuffer(address: 0x9000, length: 100, deviceWritable: false, token: 42))
        #expect(try memory.loadAcquiring(at: queue.layout.availableIndex) == 0)  // not published yet
        queue.publishAvailable()
        #expect(try memory.loadAcquiring(at: queue.layout.availableIndex) == 2)
        let head = try memory.load(UInt16.self, at: queue.layout.availableEntry(0))
        let descriptor = try VirtqDescriptor(from: memory, at: queue.layout.descriptor(head))
        #expect(descriptor == VirtqDescriptor(address: 0x8000, length: 1536, flags: .write))
        #expect(queue.kickNeeded())
        #expect(!queue.kickNeeded())  // nothing new
        try deviceReturns(memory, queue, slot: 0, id: UInt32(head), length: 74, usedIndex: 1)
        #expect(try queue.popUsed()! == (41, 74))
        #expect(try queue.popUsed() == nil)
        #expect(queue.freeCount == 7)
    }

    @Test func noNotifyFlagSuppressesTheKick() throws {
        let (queue, memory) = try makeQueue()
        try memory.store(QueueLayout.usedFlagNoNotify, at: queue.layout.usedFlags)
        _ = try queue.addBuffer(address: 0x8000, length: 64, deviceWritable: true, token: 1)
        queue.publishAvailable()
        #expect(!queue.kickNeeded())
    }

    @Test func eventIndexKickFollowsAvailEvent() throws {
        let (queue, memory) = try makeQueue(features: .ringEventIndex)
        try memory.store(UInt16(1), at: queue.layout.availableEvent)  // kick when avail.idx passes 1
        _ = try queue.addBuffer(address: 0x8000, length: 64, deviceWritable: true, token: 1)
        queue.publishAvailable()
        #expect(!queue.kickNeeded())
        _ = try queue.addBuffer(address: 0x8100, length: 64, deviceWritable: true, token: 2)
        queue.publishAvailable()
        #expect(queue.kickNeeded())
    }

    @Test func unknownIDBreaksTheQueue() throws {
        let (queue, memory) = try makeQueue()
        _ = try queue.addBuffer(address: 0x8000, length: 64, deviceWritable: true, token: 1)
        queue.publishAvailable()
        try deviceReturns(memory, queue, slot: 0, id: 5, length: 10, usedIndex: 1)
        #expect(throws: DriverError.unknownUsedID(5)) { try queue.popUsed() }
        // Broken: no "work waiting" any more, or the vCPU would poll it forever.
        #expect(queue.broken && queue.failure == .unknownUsedID(5))
        #expect(!queue.hasUsed)
        #expect(!queue.enableInterrupts())
        #expect(throws: DriverError.queueBroken) { try queue.popUsed() }
    }

    @Test func lengthBeyondTheBufferIsAnError() throws {
        let (queue, memory) = try makeQueue()
        _ = try queue.addBuffer(address: 0x8000, length: 64, deviceWritable: true, token: 1)
        queue.publishAvailable()
        let head = try memory.load(UInt16.self, at: queue.layout.availableEntry(0))
        try deviceReturns(memory, queue, slot: 0, id: UInt32(head), length: 65, usedIndex: 1)
        #expect(throws: DriverError.usedLengthBeyondBuffer(id: UInt32(head), length: 65, bufferLength: 64)) { try queue.popUsed() }
    }

    @Test func usedIndexJumpIsAnError() throws {
        let (queue, memory) = try makeQueue()
        try memory.storeReleasing(9, at: queue.layout.usedIndex)
        #expect(throws: DriverError.usedIndexJumped(previous: 0, new: 9, size: 8)) { try queue.popUsed() }
    }

    @Test func enableInterruptsReportsEntriesThatArrivedWhileMasked() throws {
        let (queue, memory) = try makeQueue()
        _ = try queue.addBuffer(address: 0x8000, length: 64, deviceWritable: true, token: 1)
        queue.publishAvailable()
        queue.disableInterrupts()
        #expect(try memory.load(UInt16.self, at: queue.layout.availableFlags) == QueueLayout.availableFlagNoInterrupt)
        #expect(!queue.enableInterrupts())
        #expect(try memory.load(UInt16.self, at: queue.layout.availableFlags) == 0)
        queue.disableInterrupts()
        let head = try memory.load(UInt16.self, at: queue.layout.availableEntry(0))
        try deviceReturns(memory, queue, slot: 0, id: UInt32(head), length: 20, usedIndex: 1)
        #expect(queue.enableInterrupts())
    }

    @Test func allocatorAlignsAndRunsOut() throws {
        var allocator = GuestAllocator(memory: GuestMemory(size: 8192))
        let a = try allocator.allocate(size: 3, alignment: 1)
        let b = try allocator.allocate(size: 16, alignment: 16)
        #expect(a == 4096 && b == 4112)
        #expect(throws: DriverError.outOfGuestMemory(requested: 5000)) { try allocator.allocate(size: 5000) }
    }

    @Test func handshakeRefusesADeviceWithoutVersion1() throws {
        let transport = Transport(deviceFeatures: [.netMAC], config: VirtioNetConfig(mac: .init(2, 0, 0, 0, 0, 1)))
        #expect(throws: DriverError.self) {
            try VirtioNetDriver(memory: GuestMemory(size: 1 << 20), transport: transport, rxDoorbell: try Doorbell(queueIndex: 0),
                                txDoorbell: try Doorbell(queueIndex: 1), interrupt: try InterruptLine())
        }
        #expect(transport.status.contains(.failed))
    }
}
