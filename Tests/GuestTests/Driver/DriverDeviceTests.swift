import Testing
import Virtio
import Wire
import Emulator
@testable import Guest

/// The whole path over real threads: fake backend -> NetDevice on the DeviceThread -> rings in guest memory ->
/// VirtioNetDriver on the VCPU thread -> FrameStack, and back.
@Suite(.serialized) struct DriverDeviceTests {
    struct Machine {
        let backend: ThreadedFakeBackend
        let transport: Transport
        let device: NetDevice
        let deviceThread: DeviceThread
        let driver: VirtioNetDriver
        let vcpu: VCPU
        let stack: EchoStack

        init(features: VirtioFeatures, echo: Bool, queueSize: UInt16 = 256) throws {
            let memory = GuestMemory(size: 2 << 20)
            transport = Transport(deviceFeatures: features, config: VirtioNetConfig(mac: MACAddress(0x02, 0x54, 0x41, 0x50, 0x56, 0x4D)))
            backend = try ThreadedFakeBackend()
            let interrupt = try InterruptLine()
            let rxDoorbell = try Doorbell(queueIndex: 0)
            let txDoorbell = try Doorbell(queueIndex: 1)
            device = NetDevice(memory: memory, transport: transport, backend: backend, interrupt: interrupt)
            deviceThread = try DeviceThread(device: device, receiveDoorbell: rxDoorbell, transmitDoorbell: txDoorbell)
            try deviceThread.start()
            driver = try VirtioNetDriver(memory: memory, transport: transport, rxDoorbell: rxDoorbell, txDoorbell: txDoorbell,
                                         interrupt: interrupt, queueSize: queueSize)
            stack = EchoStack(echo: echo)
            vcpu = try VCPU(driver: driver, stack: stack, clock: MonotonicClock(), interrupt: interrupt)
            try vcpu.start()
        }

        func stop() {
            #expect(vcpu.stop(timeout: .seconds(5)))
            #expect(deviceThread.stop(timeout: .seconds(5)))
        }
    }

    static let featureSets: [VirtioFeatures] = [[.version1, .netMAC, .netStatus], [.version1, .netMAC, .ringEventIndex]]

    @Test(arguments: featureSets)
    func tenThousandFramesEchoedInOrder(features: VirtioFeatures) throws {
        let machine = try Machine(features: features, echo: true)
        defer { machine.stop() }
        #expect(machine.driver.negotiatedFeatures == features.intersection(VirtioNetDriver.supportedFeatures))
        #expect(machine.driver.macAddress == MACAddress(0x02, 0x54, 0x41, 0x50, 0x56, 0x4D))
        let count = 10_000
        let frames = (0..<count).map { sequencedFrame($0, length: 60 + ($0 * 37) % 1455) }
        let header: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        machine.backend.inject(frames.map { header + $0 })

        #expect(waitUntil { machine.backend.transmittedCount >= count })
        let received = machine.stack.receivedFrames
        #expect(received.count == count)
        #expect(received == frames)  // none lost, duplicated or reordered host -> guest
        let sent = machine.backend.transmitted
        #expect(sent.count == count)
        #expect(sent == frames.map { header + $0 })  // and guest -> host
        let counters = machine.device.counters.snapshot()
        #expect(counters.rxFrames == UInt64(count) && counters.txFrames == UInt64(count))
        #expect(counters.rxTruncated == 0 && counters.queueErrors == 0 && counters.txErrors == 0)
        #expect(!machine.transport.status.contains(.needsReset))
    }

    @Test(arguments: featureSets)
    func tenThousandFramesFromTheGuestSurviveAFullTransmitRing(features: VirtioFeatures) throws {
        let machine = try Machine(features: features, echo: false, queueSize: 32)
        defer { machine.stop() }
        let count = 10_000
        let frames = (0..<count).map { sequencedFrame($0, length: 60 + ($0 * 53) % 1455) }
        machine.vcpu.perform { stack in (stack as! EchoStack).enqueue(frames) }
        #expect(waitUntil { machine.backend.transmittedCount >= count })
        let sent = machine.backend.transmitted
        #expect(sent.count == count)
        #expect(sent.map { Array($0.dropFirst(10)) } == frames)
        #expect(sent.allSatisfy { $0.prefix(10).allSatisfy { $0 == 0 } })
        machine.stop()
        #expect(machine.driver.counters.txRingFull > 0)  // the stalled-ring path (TX interrupt re-armed) was taken
        #expect(machine.driver.counters.txFrames == UInt64(count))
    }

    @Test func framesWaitingWhileTheGuestHasNoBuffersArriveLater() throws {
        // A ring of 8 RX buffers against 500 queued frames: the device stops reading and resumes on each kick.
        let machine = try Machine(features: [.version1, .netMAC], echo: false, queueSize: 8)
        defer { machine.stop() }
        let frames = (0..<500).map { sequencedFrame($0, length: 64) }
        machine.backend.inject(frames.map { [UInt8](repeating: 0, count: 10) + $0 })
        #expect(waitUntil { machine.stack.receivedCount >= 500 })
        #expect(machine.stack.receivedFrames == frames)
        #expect(machine.backend.pendingCount == 0)
        #expect(machine.device.counters.snapshot().rxNoBuffer > 0)
        machine.stop()
        #expect(machine.driver.counters.rxFrames == 500 && machine.driver.counters.rxKicks > 1)
    }
}
