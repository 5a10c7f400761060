import Capture
import Emulator
import HostTap

/// The macvtap fd as the device model's backend: one packet per read/write, each starting with the fd's 10-byte
/// virtio_net_hdr. EAGAIN on read is "nothing waits" (nil); on write the frame is dropped with an error the
/// device counts.
final class TapBackend: NetBackend {
    let tap: TapDevice

    init(tap: TapDevice) { self.tap = tap }

    var pollFD: Int32 { tap.fd }
    var vnetHeaderSize: Int { tap.vnetHeaderSize }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        switch try tap.read(into: buffer) {
        case let .transferred(count): count
        case .wouldBlock: nil
        }
    }

    func transmit(_ packet: UnsafeRawBufferPointer) throws {
        if case .wouldBlock = try tap.write(packet) {
            throw TapError.writeFailed(errno: .resourceTemporarilyUnavailable, length: packet.count)
        }
    }
}
