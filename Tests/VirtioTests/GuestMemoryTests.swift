import Testing
import Wire
@testable import Virtio

@Suite struct GuestMemoryTests {
    let memory = GuestMemory(size: 8192)

    @Test func sizeIsRoundedToPages() {
        #expect(GuestMemory(size: 1).size == 4096)
        #expect(GuestMemory(size: 4097).size == 8192)
    }

    @Test func everyOutOfRangeAccessThrows() {
        let last = GuestAddress(UInt64(memory.size))
        #expect(throws: VirtioError.outOfRange(address: GuestAddress(8191), length: 2, memorySize: 8192)) {
            try memory.load(UInt16.self, at: GuestAddress(8191))
        }
        #expect(throws: VirtioError.self) { try memory.store(UInt32(1), at: GuestAddress(8190)) }
        #expect(throws: VirtioError.self) { try memory.load(UInt64.self, at: last) }
        #expect(throws: VirtioError.self) { try memory.readBytes(at: 0, count: 8193) }
        #expect(throws: VirtioError.self) { try memory.write(at: GuestAddress(8000), bytes: Array(repeating: 1, count: 193)) }
        #expect(throws: VirtioError.self) { try memory.fill(at: GuestAddress(4096), count: 4097, with: 0) }
        #expect(throws: VirtioError.self) { try memory.readBytes(at: 0, count: -1) }
        // address + length overflowing 64 bits
        #expect(throws: VirtioError.self) { try memory.readBytes(at: GuestAddress(UInt64.max), count: 2) }
        #expect(throws: VirtioError.self) { try memory.readBytes(at: GuestAddress(UInt64.max - 1), count: 4) }
        #expect(throws: VirtioError.self) { try memory.withUnsafeBytes(at: GuestAddress(UInt64.max), length: 1) { _ in () } }
        #expect(throws: VirtioError.self) { try memory.loadAcquiring(at: last) }
        #expect(!memory.contains(GuestAddress(UInt64.max), length: 1))
        // the exact end is fine, zero length at the end too
        #expect(throws: Never.self) { try memory.readBytes(at: GuestAddress(8184), count: 8) }
        #expect(throws: Never.self) { try memory.readBytes(at: last, count: 0) }
    }

    @Test func littleEndianRoundTrip() throws {
        try memory.store(UInt32(0x1122_3344), at: GuestAddress(100))
        #expect(try memory.readBytes(at: GuestAddress(100), count: 4) == [0x44, 0x33, 0x22, 0x11])
        #expect(try memory.load(UInt32.self, at: GuestAddress(100)) == 0x1122_3344)
        try memory.store(UInt64(0x0102_0304_0506_0708), at: GuestAddress(201))  // unaligned is allowed
        #expect(try memory.load(UInt64.self, at: GuestAddress(201)) == 0x0102_0304_0506_0708)
    }

    @Test func atomicsRoundTripAndRejectMisalignment() throws {
        try memory.storeReleasing(0xBEEF, at: GuestAddress(64))
        #expect(try memory.loadAcquiring(at: GuestAddress(64)) == 0xBEEF)
        #expect(try memory.readBytes(at: GuestAddress(64), count: 2) == [0xEF, 0xBE])
        try memory.storeRelaxed(7, at: GuestAddress(66))
        #expect(try memory.load(UInt16.self, at: GuestAddress(66)) == 7)
        #expect(throws: VirtioError.misaligned(address: GuestAddress(65), alignment: 2)) {
            try memory.loadAcquiring(at: GuestAddress(65))
        }
    }

    @Test func descriptorRoundTripsEveryField() throws {
        let descriptor = VirtqDescriptor(address: GuestAddress(0x1122_3344_5566_7788), length: 0xA1B2_C3D4, flags: [.next, .write], next: 0x0E0F)
        try memory.fill(at: GuestAddress(512), count: 32, with: 0xA5)
        try descriptor.write(to: memory, at: GuestAddress(512))
        #expect(try memory.readBytes(at: GuestAddress(512), count: 17) == [
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // addr
            0xD4, 0xC3, 0xB2, 0xA1,  // len
            0x03, 0x00,  // flags NEXT|WRITE
            0x0F, 0x0E,  // next
            0xA5,  // untouched
        ])
        #expect(try VirtqDescriptor(from: memory, at: GuestAddress(512)) == descriptor)
        #expect(throws: VirtioError.self) { try descriptor.write(to: memory, at: GuestAddress(8180)) }
    }
}

@Suite struct QueueLayoutTests {
    @Test func offsetsFollowTheSpec() throws {
        let layout = try QueueLayout(size: 256, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000)
        #expect(layout.descriptor(3) == GuestAddress(0x1000 + 48))
        #expect(layout.availableFlags == 0x2000)
        #expect(layout.availableIndex == 0x2002)
        #expect(layout.availableEntry(5) == GuestAddress(0x2004 + 10))
        #expect(layout.usedEvent == GuestAddress(0x2004 + 512))
        #expect(layout.usedFlags == 0x3000)
        #expect(layout.usedIndex == 0x3002)
        #expect(layout.usedEntry(5) == GuestAddress(0x3004 + 40))
        #expect(layout.availableEvent == GuestAddress(0x3004 + 2048))
        #expect(QueueLayout.descriptorTableSize(queueSize: 256) == 4096)
        #expect(QueueLayout.availableRingSize(queueSize: 256) == 518)
        #expect(QueueLayout.usedRingSize(queueSize: 256) == 2054)
    }

    @Test func rejectsBadSizesAndAlignments() {
        for size: UInt16 in [0, 3, 100, 65535] {
            #expect(throws: VirtioError.self) { try QueueLayout(size: size, descriptorTable: 0, availableRing: 0, usedRing: 0) }
        }
        #expect(throws: Never.self) { try QueueLayout(size: 32768, descriptorTable: 0, availableRing: 0, usedRing: 0) }
        #expect(throws: VirtioError.self) { try QueueLayout(size: 4, descriptorTable: 8, availableRing: 0, usedRing: 0) }
        #expect(throws: VirtioError.self) { try QueueLayout(size: 4, descriptorTable: 0, availableRing: 1, usedRing: 0) }
        #expect(throws: VirtioError.self) { try QueueLayout(size: 4, descriptorTable: 0, availableRing: 0, usedRing: 2) }
    }

    @Test func checkRejectsAreasOutsideMemory() throws {
        let memory = GuestMemory(size: 4096)
        let tooBig = try QueueLayout(size: 512, descriptorTable: 0, availableRing: 0, usedRing: 0)  // table = 8 KiB
        #expect(throws: VirtioError.self) { try tooBig.check(in: memory) }
        let usedPastEnd = try QueueLayout(size: 16, descriptorTable: 0, availableRing: 256, usedRing: 4000)
        #expect(throws: VirtioError.self) { try usedPastEnd.check(in: memory) }
        let fits = try QueueLayout(size: 16, descriptorTable: 0, availableRing: 256, usedRing: 512)
        #expect(throws: Never.self) { try fits.check(in: memory) }
    }

    @Test func needEventMatchesLinux() {
        #expect(vringNeedEvent(event: 5, new: 6, old: 5))  // passed by this move
        #expect(vringNeedEvent(event: 5, new: 10, old: 3))
        #expect(!vringNeedEvent(event: 10, new: 10, old: 3))  // not reached yet
        #expect(!vringNeedEvent(event: 2, new: 10, old: 3))  // passed before
        #expect(vringNeedEvent(event: 65535, new: 2, old: 65530))  // wrap-around
        #expect(!vringNeedEvent(event: 3, new: 2, old: 65530))
    }
}

@Suite struct TransportTests {
    func transport() -> Transport {
        Transport(deviceFeatures: [.version1, .netMAC], maximumQueueSize: 64,
                  config: VirtioNetConfig(mac: MACAddress(0x02, 0, 0, 0, 0, 1)))
    }

    @Test func featuresOKSticksOnlyForASubsetWithVersion1() {
        let t = transport()
        t.writeStatus([.acknowledge, .driver])
        t.writeDriverFeatures([.version1, .ringEventIndex])
        t.writeStatus([.acknowledge, .driver, .featuresOK])
        #expect(!t.status.contains(.featuresOK))
        #expect(t.negotiatedFeatures.isEmpty)
        t.writeDriverFeatures([.netMAC])
        t.writeStatus([.acknowledge, .driver, .featuresOK])
        #expect(!t.status.contains(.featuresOK))
        t.writeDriverFeatures([.version1, .netMAC])
        t.writeStatus([.acknowledge, .driver, .featuresOK])
        #expect(t.status.contains(.featuresOK))
        #expect(t.negotiatedFeatures == [.version1, .netMAC])
        t.writeDriverFeatures([.version1])  // ignored after FEATURES_OK
        #expect(t.driverFeatures == [.version1, .netMAC])
    }

    @Test func queuesNeedValidSizesAndResetClearsEverything() throws {
        let t = transport()
        let big = try QueueLayout(size: 128, descriptorTable: 0, availableRing: 0, usedRing: 0)
        #expect(!t.configureQueue(0, layout: big))
        let ok = try QueueLayout(size: 64, descriptorTable: 0x1000, availableRing: 0x2000, usedRing: 0x3000)
        #expect(t.configureQueue(1, layout: ok))
        #expect(!t.configureQueue(2, layout: ok))
        #expect(try t.queueRegisters(1).layout() == ok)
        t.setNeedsReset()
        t.writeStatus([.acknowledge])
        #expect(t.status.contains(.needsReset))
        t.writeStatus([])
        #expect(t.status.isEmpty)
        #expect(!t.queueRegisters(1).ready)
    }
}

@Suite struct NotifierTests {
    @Test func eventNotifierCountsAndDrains() throws {
        let n = try EventNotifier()
        #expect(n.drain() == 0)
        n.signal(); n.signal(); n.signal()
        #expect(n.drain() == 3)
        #expect(n.drain() == 0)
    }

    @Test func pollerReportsTokens() throws {
        let poller = try Poller()
        let a = try EventNotifier(), b = try EventNotifier()
        try poller.add(a.fd, events: .readable, token: 7)
        try poller.add(b.fd, events: .readable, token: 9)
        #expect(try poller.wait(timeout: .zero).isEmpty)
        b.signal()
        let events = try poller.wait(timeout: .milliseconds(100))
        #expect(events.map(\.token) == [9])
        #expect(events.first?.events.contains(.readable) == true)
        try poller.remove(b.fd)
        #expect(try poller.wait(timeout: .zero).isEmpty)
    }

    @Test func workerThreadJoinsWithinBound() throws {
        let started = try EventNotifier()
        let thread = try WorkerThread(name: "t") { started.signal() }
        #expect(thread.join(timeout: .seconds(5)))
        #expect(started.drain() == 1)
    }
}
