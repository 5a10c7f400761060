import Glibc
import Synchronization
import Testing
import Virtio
import Wire
@testable import Guest

/// A driver queue the device broke must not make the vCPU spin: it reports the failure once, then only sleeps.
@Suite(.serialized) struct VCPUFailureTests {
    final class TraceCounter: @unchecked Sendable {
        let events = Mutex<[VCPU.TraceEvent]>([])
        func append(_ event: VCPU.TraceEvent) { events.withLock { $0.append(event) } }
        var count: Int { events.withLock { $0.count } }
        var all: [VCPU.TraceEvent] { events.withLock { $0 } }
    }

    @Test func aBrokenReceiveQueueIsReportedOnceAndTheLoopSleeps() throws {
        let memory = GuestMemory(size: 2 << 20)
        let transport = Transport(deviceFeatures: [.version1, .netMAC], config: VirtioNetConfig(mac: MACAddress(2, 0, 0, 0, 0, 9)))
        let interrupt = try InterruptLine()
        let driver = try VirtioNetDriver(memory: memory, transport: transport, rxDoorbell: try Doorbell(queueIndex: 0),
                                         txDoorbell: try Doorbell(queueIndex: 1), interrupt: interrupt, queueSize: 8)
        let trace = TraceCounter()
        let vcpu = try VCPU(driver: driver, stack: EchoStack(echo: false), clock: MonotonicClock(), interrupt: interrupt,
                            trace: { trace.append($0) })
        try vcpu.start()
        defer { #expect(vcpu.stop(timeout: .seconds(5))) }
        #expect(vcpu.failure == nil)

        // A hostile device: used.idx = 1 with an entry naming a descriptor that was never made available.
        let rx = try transport.queueRegisters(0).layout()
        try memory.store(UInt32(999), at: rx.usedEntry(0))
        try memory.store(UInt32(64), at: rx.usedEntry(0) + 4)
        try memory.storeReleasing(1, at: rx.usedIndex)
        interrupt.raise()

        #expect(waitUntil(timeout: .seconds(5)) { vcpu.failure != nil })
        #expect(vcpu.failure == "receive queue: \(DriverError.unknownUsedID(999))")
        #expect(driver.needsReset)
        let before = trace.count
        usleep(200_000)  // a spinning loop would trace thousands of passes here
        #expect(trace.count - before <= 4)
        #expect(trace.all.filter { if case .deviceFailed = $0 { true } else { false } }.count == 1)

        // Still serves work (and stops promptly, checked by the defer).
        let ran = Flag()
        vcpu.perform { _ in ran.value.store(true, ordering: .releasing) }
        #expect(waitUntil(timeout: .seconds(5)) { ran.value.load(ordering: .acquiring) })
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
