import Capture
import Emulator
import HostTap
import Synchronization

/// The macvtap fd as the device model's backend: one packet per read/write, each starting with the fd's 10-byte
/// virtio_net_hdr. EAGAIN is a value both ways: on read "nothing waits" (nil), on write "try again when writable". With a capture, every frame (without the vnet header) is also written to a pcap file: the
/// "wire" capture point, what the kernel handed over and what was handed back.
final class TapBackend: NetBackend {
    let tap: TapDevice
    let capture: RotatingPcapWriter?
    /// Frames that could not be written to the capture file (the run goes on without them).
    let captureErrors = Atomic<UInt64>(0)

    init(tap: TapDevice, capture: RotatingPcapWriter?) {
        self.tap = tap
        self.capture = capture
    }

    var pollFD: Int32 { tap.fd }
    var vnetHeaderSize: Int { tap.vnetHeaderSize }
    var maximumPacketSize: Int { TapDevice.maximumPacketSize }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        switch try tap.read(into: buffer) {
        case let .transferred(count):
            record(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            return count
        case .wouldBlock:
            return nil
        }
    }

    /// False when the fd is full (EAGAIN): the device puts the chain back and waits for EPOLLOUT.
    func transmit(_ packet: UnsafeRawBufferPointer) throws -> Bool {
        if case .wouldBlock = try tap.write(packet) { return false }
        record(packet)
        return true
    }

    private func record(_ packet: UnsafeRawBufferPointer) {
        guard let capture, packet.count > vnetHeaderSize else { return }
        do {
            try capture.write(frame: UnsafeRawBufferPointer(rebasing: packet[vnetHeaderSize...]), timestamp: .now())
        } catch {
            captureErrors.add(1, ordering: .relaxed)
        }
    }
}
