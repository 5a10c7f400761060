// Virtio: what the device side (Emulator) and the guest side (Guest) share, as the virtio spec and the Linux
// uapi headers do: guest memory, the split-ring layout, feature and status bits, the register file (Transport),
// and the two wires between the sides: the doorbell (guest -> device) and the interrupt line (device -> guest).
//
// Neither side imports the other. Everything the device learns about the driver, it learns by reading guest
// memory and the Transport registers, exactly as a real device would.

/// Errors of the shared layer: guest memory accesses and the Linux primitives under the doorbell and interrupt.
public enum VirtioError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An access of `length` bytes at `address` does not fit in guest memory of `memorySize` bytes.
    case outOfRange(address: GuestAddress, length: Int, memorySize: Int)
    /// An atomic access at `address` is not aligned to `alignment` bytes.
    case misaligned(address: GuestAddress, alignment: Int)
    /// A queue layout that breaks virtio 1.2 §2.7 (size not a power of two, misaligned area, ...).
    case invalidLayout(String)
    /// A system call failed; `errno` as returned.
    case systemCall(String, errno: Int32)

    public var description: String {
        switch self {
        case let .outOfRange(address, length, memorySize):
            return "guest memory access of \(length) bytes at \(address) is outside the \(memorySize)-byte region"
        case let .misaligned(address, alignment):
            return "atomic access at \(address) is not \(alignment)-byte aligned"
        case let .invalidLayout(why):
            return "invalid queue layout: \(why)"
        case let .systemCall(name, errno):
            return "\(name) failed: errno \(errno)"
        }
    }
}
