import Glibc
import Testing
import Virtio
import Wire
@testable import Emulator

@Suite struct ReceivePathTests {
    @Test func framesLandWithTwelveByteHeaderAndOneInterruptPerBatch() throws {
        let bench = try Bench()
        #expect(bench.device.activateIfReady())
        // Two single-buffer chains and one split header/data chain.
        let h0 = try bench.rx.addChain([(0x20000, 2048, true)])
        let h1 = try bench.rx.addChain([(0x21000, 2048, true)])
        let h2 = try bench.rx.addChain([(0x22000, 12, true), (0x23000, 2036, true)])
        let frames = [testFrame(length: 60, seed: 1), testFrame(length: 1514, seed: 2), testFrame(length: 100, seed: 3)]
        for frame in frames { bench.backend.inject(backendPacket(frame: frame)) }

        #expect(bench.device.processReceive() == 3)
        #expect(bench.rx.usedIndex == 3)
        #expect(try bench.rx.usedEntry(0) == (UInt32(h0), UInt32(12 + 60)))
        #expect(try bench.rx.usedEntry(1) == (UInt32(h1), UInt32(12 + 1514)))
        #expect(try bench.rx.usedEntry(2) == (UInt32(h2), UInt32(12 + 100)))
        // virtio 1.2 §5.1.6.4.1: no GUEST_CSUM negotiated, so flags 0 (DATA_VALID cleared), gso NONE, the other
        // fields zero; num_buffers = 1.
        let expectedHeader: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00]
        #expect(try bench.memory.readBytes(at: 0x20000, count: 12) == expectedHeader)
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 60) == frames[0])
        #expect(try bench.memory.readBytes(at: 0x2100C, count: 1514) == frames[1])
        #expect(try bench.memory.readBytes(at: 0x22000, count: 12) == expectedHeader)
        #expect(try bench.memory.readBytes(at: 0x23000, count: 100) == frames[2])
        #expect(bench.interruptsPending == 1)
        let counters = bench.device.counters.snapshot()
        #expect(counters.rxFrames == 3 && counters.rxBytes == 60 + 1514 + 100 && counters.interruptsRaised == 1)
        #expect(bench.backend.pendingCount == 0)
    }

    @Test func noBuffersMeansTheBackendIsNotRead() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        bench.backend.inject(backendPacket(frame: testFrame(length: 64, seed: 9)))
        #expect(bench.device.processReceive() == 0)
        #expect(bench.backend.pendingCount == 1)
        #expect(bench.backend.reads == 0)
        #expect(!bench.device.receiveHasBuffers && !bench.device.wantsBackendReadable)
        #expect(bench.device.counters.snapshot().rxNoBuffer == 1)
        #expect(bench.interruptsPending == 0)

        try bench.rx.addChain([(0x20000, 2048, true)])
        bench.device.receiveDoorbell()
        #expect(bench.backend.pendingCount == 0)
        #expect(bench.rx.usedIndex == 1)
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 64) == testFrame(length: 64, seed: 9))
        #expect(bench.interruptsPending == 1)
    }

    @Test func wouldBlockPutsTheChainBack() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        let head = try bench.rx.addChain([(0x20000, 2048, true)])
        #expect(bench.device.processReceive() == 0)
        #expect(bench.device.receiveHasBuffers)
        #expect(bench.rx.usedIndex == 0)
        #expect(bench.interruptsPending == 0)
        bench.backend.inject(backendPacket(frame: testFrame(length: 70, seed: 4)))
        #expect(bench.device.processReceive() == 1)
        #expect(try bench.rx.usedEntry(0) == (UInt32(head), 82))
    }

    @Test func frameLargerThanTheChainIsCountedNotDeliveredCut() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        let head = try bench.rx.addChain([(0x20000, 100, true)])
        bench.backend.inject(backendPacket(frame: testFrame(length: 200, seed: 5)))
        bench.backend.inject(backendPacket(frame: testFrame(length: 50, seed: 6)))
        #expect(bench.device.processReceive() == 1)
        #expect(bench.device.counters.snapshot().rxTruncated == 1)
        // The big frame is gone; the small one used the same buffer.
        #expect(bench.rx.usedIndex == 1)
        #expect(try bench.rx.usedEntry(0) == (UInt32(head), 62))
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 50) == testFrame(length: 50, seed: 6))
        #expect(bench.trace.all.contains(.receiveTruncated(length: 212, room: 100)))
    }

    @Test func interruptSuppressedByNoInterruptFlag() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        try bench.rx.setAvailableFlags(QueueLayout.availableFlagNoInterrupt)
        try bench.rx.addChain([(0x20000, 2048, true)])
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 1)))
        #expect(bench.device.processReceive() == 1)
        #expect(bench.interruptsPending == 0)
    }

    @Test func eventIndexInterruptsOnlyWhenUsedEventIsPassed() throws {
        let bench = try Bench(features: [.version1, .netMAC, .ringEventIndex])
        bench.device.activateIfReady()
        try bench.rx.setUsedEvent(1)  // interrupt once used.idx passes 1, i.e. after the second entry
        for i in 0..<3 { try bench.rx.addChain([(0x20000 + UInt64(i) * 0x1000, 2048, true)]) }
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 1)))
        #expect(bench.device.processReceive() == 1)
        #expect(bench.interruptsPending == 0)
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 2)))
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 3)))
        #expect(bench.device.processReceive() == 2)
        #expect(bench.interruptsPending == 1)
        // With no buffers left, the device asked for a kick at avail_event = nextAvailable.
        #expect(try bench.memory.load(UInt16.self, at: bench.rx.layout.availableEvent) == 3)
    }
}

@Suite struct TransmitPathTests {
    @Test func chainReachesTheBackendAsTenByteHeaderPlusFrame() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        let frame = testFrame(length: 98, seed: 7)
        let header: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        try bench.memory.write(at: 0x40000, bytes: header)
        try bench.memory.write(at: 0x41000, bytes: Array(frame[0..<14]))
        try bench.memory.write(at: 0x42000, bytes: Array(frame[14...]))
        let head = try bench.tx.addChain([(0x40000, 12, false), (0x41000, 14, false), (0x42000, 84, false)])
        bench.device.transmitDoorbell()
        #expect(bench.backend.transmitted == [Array(header[0..<10]) + frame])
        #expect(bench.tx.usedIndex == 1)
        #expect(try bench.tx.usedEntry(0) == (UInt32(head), 0))
        #expect(bench.interruptsPending == 1)
        let counters = bench.device.counters.snapshot()
        #expect(counters.txFrames == 1 && counters.txBytes == 98 && counters.doorbells == 1)
        // Notifications re-enabled after the batch.
        #expect(bench.tx.usedFlags == 0)
    }

    @Test func headerFieldsAreCarriedAndShortChainsAreErrors() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        let packet: [UInt8] = [0x01, 0x00, 0x36, 0x00, 0x00, 0x00, 0x22, 0x00, 0x10, 0x00, 0x00, 0x00] + testFrame(length: 60, seed: 1)
        try bench.memory.write(at: 0x40000, bytes: packet)
        try bench.tx.addChain([(0x40000, UInt32(packet.count), false)])
        try bench.tx.addChain([(0x41000, 8, false)])  // shorter than the header
        bench.device.processTransmit()
        #expect(bench.backend.transmitted == [Array(packet[0..<10]) + Array(packet[12...])])
        #expect(bench.device.counters.snapshot().txErrors == 1)
        #expect(bench.tx.usedIndex == 2)
    }
}

@Suite struct HostileChainTests {
    enum Hostility: CaseIterable, Sendable { case loop, addressOutOfRange, lengthOverflow, indexBeyondSize, availableIndexJump, indirect, readableInReceive, headBeyondSize }

    @Test(arguments: Hostility.allCases)
    func hostileChainsBreakTheDeviceWithoutTrapping(_ hostility: Hostility) throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 1)))
        let rx = bench.rx
        switch hostility {
        case .loop:
            try rx.writeDescriptor(0, VirtqDescriptor(address: 0x20000, length: 64, flags: [.write, .next], next: 1))
            try rx.writeDescriptor(1, VirtqDescriptor(address: 0x21000, length: 64, flags: [.write, .next], next: 0))
            try rx.makeAvailable(head: 0)
        case .addressOutOfRange:
            try rx.addChain([(UInt64(bench.memory.size) - 16, 2048, true)])
        case .lengthOverflow:
            try rx.addChain([(UInt64.max - 8, 2048, true)])
        case .indexBeyondSize:
            try rx.writeDescriptor(0, VirtqDescriptor(address: 0x20000, length: 64, flags: [.write, .next], next: 8))
            try rx.makeAvailable(head: 0)
        case .headBeyondSize:
            try rx.makeAvailable(head: 200)
        case .availableIndexJump:
            try rx.addChain([(0x20000, 2048, true)])
            try rx.setAvailableIndex(200)
        case .indirect:
            try rx.writeDescriptor(0, VirtqDescriptor(address: 0x20000, length: 64, flags: [.indirect]))
            try rx.makeAvailable(head: 0)
        case .readableInReceive:
            try rx.addChain([(0x20000, 2048, false)])
        }
        #expect(bench.device.processReceive() == 0)
        #expect(bench.device.broken)
        #expect(bench.transport.status.contains(.needsReset))
        #expect(bench.device.counters.snapshot().queueErrors == 1)
        #expect(bench.rx.usedIndex == 0)
        #expect(bench.device.failure?.hasPrefix("queue 0: ") == true)  // for the health check
        if hostility == .indirect {
            #expect(bench.trace.all.contains(.queueError(queue: 0, .indirectUnsupported(index: 0))))
        }
        // Broken: further kicks do nothing (no spinning, no second error).
        bench.device.receiveDoorbell()
        bench.device.transmitDoorbell()
        #expect(bench.device.counters.snapshot().queueErrors == 1)
        #expect(!bench.device.wantsBackendReadable)
    }

    @Test func writableBeforeReadableIsRejectedOnTransmit() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        try bench.tx.addChain([(0x40000, 12, true), (0x41000, 60, false)])
        bench.device.transmitDoorbell()
        #expect(bench.device.broken)
        #expect(bench.backend.transmitted.isEmpty)
    }

    @Test func badQueueRegistersAtDriverOKNeedReset() throws {
        let transport = Transport(deviceFeatures: [.version1], config: VirtioNetConfig(mac: MACAddress(2, 0, 0, 0, 0, 1)))
        let memory = GuestMemory(size: 8192)
        let device = NetDevice(memory: memory, transport: transport, backend: try FakeBackend(), interrupt: try InterruptLine())
        transport.writeStatus([.acknowledge, .driver])
        transport.writeDriverFeatures([.version1])
        transport.writeStatus([.acknowledge, .driver, .featuresOK])
        let outside = try QueueLayout(size: 256, descriptorTable: 0x100000, availableRing: 0, usedRing: 0)
        transport.configureQueue(0, layout: outside)
        transport.configureQueue(1, layout: outside)
        #expect(!device.activateIfReady())  // no DRIVER_OK yet
        transport.writeStatus([.acknowledge, .driver, .featuresOK, .driverOK])
        #expect(!device.activateIfReady())
        #expect(transport.status.contains(.needsReset))
    }
}

@Suite struct DeviceThreadTests {
    @Test func threadActivatesDeliversOnKickAndStops() throws {
        let bench = try Bench()
        let rxDoorbell = try Doorbell(queueIndex: 0)
        let txDoorbell = try Doorbell(queueIndex: 1)
        let thread = try DeviceThread(device: bench.device, receiveDoorbell: rxDoorbell, transmitDoorbell: txDoorbell)
        try thread.start()
        // A frame waits before any buffer: the device must not read it.
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 1)))
        try bench.rx.addChain([(0x20000, 2048, true)])
        rxDoorbell.ring()
        var descriptor = pollfd(fd: bench.interrupt.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&descriptor, 1, 5000) == 1)  // bounded: at most 5 s
        #expect(bench.rx.usedIndex == 1)
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 60) == testFrame(length: 60, seed: 1))
        // TX through the doorbell.
        try bench.memory.write(at: 0x40000, bytes: [UInt8](repeating: 0, count: 12) + testFrame(length: 60, seed: 2))
        try bench.tx.addChain([(0x40000, 72, false)])
        _ = bench.interrupt.acknowledge()
        txDoorbell.ring()
        descriptor.revents = 0
        #expect(poll(&descriptor, 1, 5000) == 1)
        #expect(bench.backend.transmitted == [[UInt8](repeating: 0, count: 10) + testFrame(length: 60, seed: 2)])
        #expect(thread.stop(timeout: .seconds(5)))
        #expect(bench.device.counters.snapshot().doorbells == 2)
    }
}

@Suite struct DeviceResetTests {
    @Test func driverResetDeactivatesAndClearsNeedsReset() throws {
        let bench = try Bench()
        try bench.rx.makeAvailable(head: 200)  // hostile: head beyond the table
        #expect(bench.device.activateIfReady())
        bench.device.processReceive()
        #expect(bench.device.broken && bench.transport.status.contains(.needsReset))
        bench.transport.writeStatus([])
        bench.device.receiveDoorbell()
        #expect(!bench.device.isActive && !bench.device.broken)
        // The driver sets the device up again with fresh rings.
        let rx = try MockDriverQueue(memory: bench.memory, at: 0x50000, size: 8)
        bench.transport.writeStatus([.acknowledge, .driver])
        bench.transport.writeDriverFeatures([.version1])
        bench.transport.writeStatus([.acknowledge, .driver, .featuresOK])
        bench.transport.configureQueue(0, layout: rx.layout)
        bench.transport.configureQueue(1, layout: bench.tx.layout)
        bench.transport.writeStatus([.acknowledge, .driver, .featuresOK, .driverOK])
        try rx.addChain([(0x20000, 2048, true)])
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 3)))
        bench.device.receiveDoorbell()
        #expect(bench.device.isActive)
        #expect(rx.usedIndex == 1)
    }
}

@Suite struct HeaderConversionTests {
    @Test func backendHeaderSizesZeroTenAndTwelveAllGiveTheGuestTwelve() throws {
        for backendHeader in [0, 10, 12] {
            let bench = try Bench(backendHeader: backendHeader)
            bench.device.activateIfReady()
            try bench.rx.addChain([(0x20000, 2048, true)])
            let frame = testFrame(length: 60, seed: UInt8(backendHeader))
            bench.backend.inject([UInt8](repeating: 0, count: backendHeader) + frame)
            #expect(bench.device.processReceive() == 1)
            #expect(try bench.memory.readBytes(at: 0x20000, count: 12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
            #expect(try bench.memory.readBytes(at: 0x2000C, count: 60) == frame)
            // And back: the guest's 12-byte header becomes the backend's size.
            try bench.memory.write(at: 0x40000, bytes: [UInt8](repeating: 0, count: 12) + frame)
            try bench.tx.addChain([(0x40000, 72, false)])
            bench.device.processTransmit()
            #expect(bench.backend.transmitted == [[UInt8](repeating: 0, count: backendHeader) + frame])
        }
    }
}

@Suite struct ReceiveChecksumTests {
    /// Ethernet + IPv4 + UDP (`payload`) from 192.0.2.1:68 to 192.0.2.2:67, its UDP checksum field holding the
    /// folded pseudo-header sum, as a kernel CHECKSUM_PARTIAL skb has it.
    static func partialUDPFrame(payload: [UInt8]) -> [UInt8] {
        let udpLength = 8 + payload.count
        var frame: [UInt8] = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]
        frame += [0x45, 0, UInt8((20 + udpLength) >> 8), UInt8((20 + udpLength) & 0xFF), 0, 1, 0, 0, 64, 17, 0, 0,
                  192, 0, 2, 1, 192, 0, 2, 2]
        var pseudo = InternetChecksum()
        pseudo.add(IPv4Address(192, 0, 2, 1))
        pseudo.add(IPv4Address(192, 0, 2, 2))
        pseudo.add(UInt16(17))
        pseudo.add(UInt16(udpLength))
        let folded = ~pseudo.value
        frame += [0, 68, 0, 67, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), UInt8(folded >> 8), UInt8(folded & 0xFF)]
        return frame + payload
    }

    /// Whether the UDP checksum in `frame` verifies over the pseudo-header (RFC 768): the sum comes out 0.
    static func udpChecksumVerifies(_ frame: [UInt8]) -> Bool {
        var sum = InternetChecksum()
        sum.add(IPv4Address(192, 0, 2, 1))
        sum.add(IPv4Address(192, 0, 2, 2))
        sum.add(UInt16(17))
        sum.add(UInt16(frame.count - 34))
        Array(frame[34...]).withUnsafeBytes { sum.add($0) }
        return sum.value == 0
    }

    @Test func needsChecksumIsCompletedByTheDeviceAndTheFlagCleared() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        try bench.rx.addChain([(0x20000, 2048, true)])
        let frame = Self.partialUDPFrame(payload: Array("a partial checksum, completed".utf8))
        #expect(!Self.udpChecksumVerifies(frame))
        // NEEDS_CSUM, csum_start 34 (the UDP header), csum_offset 6 (its checksum field).
        bench.backend.inject([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 34, 0x00, 6, 0x00] + frame)
        #expect(bench.device.processReceive() == 1)
        #expect(try bench.memory.readBytes(at: 0x20000, count: 12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        let delivered = try bench.memory.readBytes(at: 0x2000C, count: frame.count)
        #expect(Self.udpChecksumVerifies(delivered))
        #expect(Array(delivered[..<40]) == Array(frame[..<40]) && Array(delivered[42...]) == Array(frame[42...]))
        #expect(bench.device.counters.snapshot().rxChecksumsCompleted == 1)
    }

    @Test func gsoFramesAndChecksumFieldsOutsideTheFrameAreCountedDrops() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        let head = try bench.rx.addChain([(0x20000, 2048, true)])
        let frame = Self.partialUDPFrame(payload: [1, 2, 3, 4])
        // GSO TCPv4 (as a fresh tap fd without TUNSETOFFLOAD(0) would send), then csum_start beyond the frame.
        bench.backend.inject([0x01, 0x01, 54, 0x00, 0xA8, 0x05, 34, 0x00, 6, 0x00] + frame)
        bench.backend.inject([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, UInt8(frame.count - 1), 0x00, 0, 0x00] + frame)
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 8)))
        #expect(bench.device.processReceive() == 1)
        let counters = bench.device.counters.snapshot()
        #expect(counters.rxGSODropped == 1 && counters.rxChecksumErrors == 1 && counters.rxFrames == 1)
        #expect(try bench.rx.usedEntry(0) == (UInt32(head), 72))
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 60) == testFrame(length: 60, seed: 8))
        #expect(bench.trace.all.contains(.receiveGSODropped(gsoType: 1, length: frame.count)))
    }
}

@Suite struct BackendSizeTests {
    @Test func aReadLongerThanTheBackendsMaximumIsDroppedNotDeliveredCut() throws {
        // A backend whose packets are at most 210 bytes (header included): the device reads into 211+ bytes.
        let bench = try Bench(maximumPacketSize: 210)
        bench.device.activateIfReady()
        let head = try bench.rx.addChain([(0x20000, 2048, true)])
        bench.backend.inject(backendPacket(frame: testFrame(length: 1000, seed: 1)))  // the fake cuts it to the buffer
        bench.backend.inject(backendPacket(frame: testFrame(length: 200, seed: 2)))  // exactly the maximum
        #expect(bench.device.processReceive() == 1)
        #expect(bench.device.counters.snapshot().rxOversized == 1)
        #expect(try bench.rx.usedEntry(0) == (UInt32(head), 212))
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 200) == testFrame(length: 200, seed: 2))
    }

    @Test func scratchFitsTheLargestPacketPlusHeaderDifferencePlusOne() {
        #expect(NetDevice.scratchSize(maximumPacketSize: 65_565) == 65_565 + 12 + 1)
        #expect(NetDevice.scratchSize(maximumPacketSize: 1_524) == 1_537)
    }
}

@Suite struct BackendErrorTests {
    @Test func oneReadErrorIsCountedAndTheNextFrameStillArrives() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        try bench.rx.addChain([(0x20000, 2048, true)])
        try bench.rx.addChain([(0x21000, 2048, true)])  // one left over: the backend stays watched
        bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: 1)))
        bench.backend.failReads(1)
        #expect(bench.device.processReceive() == 1)
        #expect(bench.device.counters.snapshot().rxErrors == 1)
        #expect(bench.device.failure == nil && !bench.device.broken && bench.device.wantsBackendReadable)
        #expect(try bench.memory.readBytes(at: 0x2000C, count: 60) == testFrame(length: 60, seed: 1))
    }

    @Test func persistentReadErrorsFailTheDeviceAfterABoundedNumber() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        try bench.rx.addChain([(0x20000, 2048, true)])
        bench.backend.failReads(1_000)
        #expect(bench.device.processReceive() == 0)
        #expect(bench.backend.reads == NetDevice.maximumConsecutiveReadErrors)
        #expect(bench.device.broken && !bench.device.wantsBackendReadable)
        #expect(bench.transport.status.contains(.needsReset))
        #expect(bench.device.failure?.contains("fake read error") == true)
        #expect(bench.trace.all.contains(.backendFailed))
        // No more reads, however often it is asked.
        bench.device.processReceive()
        bench.device.receiveDoorbell()
        #expect(bench.backend.reads == NetDevice.maximumConsecutiveReadErrors)
    }

    @Test func deviceThreadReportsTheFailureAndStopsReading() throws {
        let bench = try Bench()
        let rxDoorbell = try Doorbell(queueIndex: 0)
        let txDoorbell = try Doorbell(queueIndex: 1)
        let thread = try DeviceThread(device: bench.device, receiveDoorbell: rxDoorbell, transmitDoorbell: txDoorbell)
        #expect(thread.failure == nil)
        try bench.rx.addChain([(0x20000, 2048, true)])
        bench.backend.failReads(Int.max)
        try thread.start()
        let deadline = ContinuousClock.now + .seconds(5)
        while thread.failure == nil && ContinuousClock.now < deadline { usleep(1000) }
        #expect(thread.failure?.contains("fake read error") == true)
        let reads = bench.backend.reads
        usleep(100_000)  // a hot loop would read thousands of times here
        #expect(bench.backend.reads == reads)
        #expect(thread.stop(timeout: .seconds(5)))
        #expect(thread.loopError == nil)
    }
}

@Suite struct TransmitWouldBlockTests {
    func writeFrame(_ bench: Bench, at address: UInt64, seed: UInt8) throws -> [UInt8] {
        let frame = testFrame(length: 60, seed: seed)
        try bench.memory.write(at: GuestAddress(address), bytes: [UInt8](repeating: 0, count: 12) + frame)
        return frame
    }

    @Test func eagainPutsTheChainBackAndWritableRetriesIt() throws {
        let bench = try Bench()
        bench.device.activateIfReady()
        let first = try writeFrame(bench, at: 0x40000, seed: 1)
        let second = try writeFrame(bench, at: 0x41000, seed: 2)
        let h0 = try bench.tx.addChain([(0x40000, 72, false)])
        let h1 = try bench.tx.addChain([(0x41000, 72, false)])
        bench.backend.writesBlocked = true
        bench.device.transmitDoorbell()
        #expect(bench.backend.transmitted.isEmpty && bench.backend.writeAttempts == 1)
        #expect(bench.tx.usedIndex == 0 && bench.interruptsPending == 0)
        #expect(bench.device.transmitBlocked && bench.device.wantsBackendWritable)
        #expect(bench.device.counters.snapshot().txErrors == 0)  // not a drop
        #expect(bench.trace.all.contains(.transmitBlocked))
        // A kick while blocked does not hammer the full fd.
        bench.device.transmitDoorbell()
        #expect(bench.backend.writeAttempts == 1)

        bench.backend.writesBlocked = false
        bench.device.backendWritable()
        #expect(bench.backend.transmitted == [[UInt8](repeating: 0, count: 10) + first, [UInt8](repeating: 0, count: 10) + second])
        #expect(bench.tx.usedIndex == 2)
        #expect(try bench.tx.usedEntry(0) == (UInt32(h0), 0) && bench.tx.usedEntry(1) == (UInt32(h1), 0))
        #expect(!bench.device.wantsBackendWritable)
        #expect(bench.interruptsPending == 1)
    }

    @Test func deviceThreadRetriesWhenTheBackendBecomesWritable() throws {
        let bench = try Bench()
        let rxDoorbell = try Doorbell(queueIndex: 0)
        let txDoorbell = try Doorbell(queueIndex: 1)
        let thread = try DeviceThread(device: bench.device, receiveDoorbell: rxDoorbell, transmitDoorbell: txDoorbell)
        try thread.start()
        defer { #expect(thread.stop(timeout: .seconds(5))) }
        let frame = try writeFrame(bench, at: 0x40000, seed: 3)
        try bench.tx.addChain([(0x40000, 72, false)])
        bench.backend.writesBlocked = true
        txDoorbell.ring()
        let deadline = ContinuousClock.now + .seconds(5)
        while bench.backend.writeAttempts == 0 && ContinuousClock.now < deadline { usleep(1000) }
        #expect(bench.backend.writeAttempts > 0 && bench.backend.transmitted.isEmpty)
        // No further kick: only the backend's writability (EPOLLOUT) can get the frame out now.
        bench.backend.writesBlocked = false
        while bench.backend.transmitted.isEmpty && ContinuousClock.now < deadline { usleep(1000) }
        #expect(bench.backend.transmitted == [[UInt8](repeating: 0, count: 10) + frame])
        #expect(thread.failure == nil)
    }
}

@Suite struct PassBudgetTests {
    @Test func receivePassStopsAtTheBudgetAndPublishesEachBatch() throws {
        let bench = try Bench(queueSize: 128)
        bench.device.activateIfReady()
        for i in 0..<100 { try bench.rx.addChain([(0x20000 + UInt64(i) * 0x800, 2048, true)]) }
        for i in 0..<100 { bench.backend.inject(backendPacket(frame: testFrame(length: 60, seed: UInt8(i)))) }
        #expect(NetDevice.passBudget == 64)
        #expect(bench.device.processReceive() == 64)
        #expect(bench.rx.usedIndex == 64)  // published at the end of the capped batch
        #expect(bench.interruptsPending == 1)
        #expect(bench.device.receiveMoreWaiting && bench.device.hasMoreWork)
        #expect(bench.backend.pendingCount == 36)
        #expect(bench.device.processReceive() == 36)
        #expect(bench.rx.usedIndex == 100 && bench.interruptsPending == 1)
        #expect(!bench.device.receiveMoreWaiting)
        #expect(try bench.memory.readBytes(at: 0x20000 + 99 * 0x800 + 12, count: 60) == testFrame(length: 60, seed: 99))
    }

    @Test func transmitPassStopsAtTheBudgetAndTheRestFollows() throws {
        let bench = try Bench(queueSize: 128)
        bench.device.activateIfReady()
        try bench.memory.write(at: 0x60000, bytes: [UInt8](repeating: 0, count: 12) + testFrame(length: 60, seed: 5))
        for _ in 0..<100 { try bench.tx.addChain([(0x60000, 72, false)]) }
        #expect(bench.device.processTransmit() == 64)
        #expect(bench.tx.usedIndex == 64 && bench.backend.transmitted.count == 64)
        #expect(bench.interruptsPending == 1)
        #expect(bench.device.transmitMoreWaiting && bench.device.hasMoreWork)
        #expect(bench.device.processTransmit() == 36)
        #expect(bench.tx.usedIndex == 100 && bench.backend.transmitted.count == 100)
        #expect(!bench.device.transmitMoreWaiting && !bench.device.hasMoreWork)
    }
}

@Suite struct OfferedFeatureTests {
    @Test func theDeviceOffersExactlyWhatItImplements() {
        #expect(NetDevice.offeredFeatures == [.version1, .netMAC, .netStatus, .ringEventIndex])
        #expect(!NetDevice.offeredFeatures.contains(.indirectDescriptors))
        #expect(!NetDevice.offeredFeatures.contains(.netGuestChecksum))
    }

    @Test func indirectIsRefusedEvenIfAPeerNegotiatedIt() throws {
        let bench = try Bench(features: [.version1, .indirectDescriptors])
        bench.device.activateIfReady()
        try bench.tx.writeDescriptor(0, VirtqDescriptor(address: 0x40000, length: 32, flags: [.indirect]))
        try bench.tx.makeAvailable(head: 0)
        bench.device.processTransmit()
        #expect(bench.device.broken && bench.backend.transmitted.isEmpty)
        #expect(bench.trace.all.contains(.queueError(queue: 1, .indirectUnsupported(index: 0))))
    }
}
