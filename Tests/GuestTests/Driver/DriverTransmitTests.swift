import Testing
import Virtio
import Wire
@testable import Guest

@Suite struct DriverTransmitTests {
    @Test func aFrameLargerThanATransmitBufferIsCountedAsDropped() throws {
        let memory = GuestMemory(size: 2 << 20)
        let transport = Transport(deviceFeatures: [.version1, .netMAC], config: VirtioNetConfig(mac: MACAddress(2, 0, 0, 0, 0, 7)))
        let driver = try VirtioNetDriver(memory: memory, transport: transport, rxDoorbell: try Doorbell(queueIndex: 0),
                                         txDoorbell: try Doorbell(queueIndex: 1), interrupt: try InterruptLine(), queueSize: 8)
        let limit = driver.maximumFrameLength
        #expect(throws: DriverError.frameTooLarge(length: limit + 1, limit: limit)) {
            try driver.transmit([UInt8](repeating: 0xA5, count: limit + 1))
        }
        #expect(driver.counters.txDropped == 1 && driver.counters.txFrames == 0)
        #expect(try driver.transmit([UInt8](repeating: 0xA5, count: limit)))
        #expect(driver.counters.txDropped == 1 && driver.counters.txFrames == 1)
    }
}
