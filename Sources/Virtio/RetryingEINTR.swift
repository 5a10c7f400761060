import Glibc

/// Runs a system call until it stops failing with EINTR, and returns its last result (-1 with `errno` set on any
/// other failure, which the caller inspects). The one place the Virtio, Emulator and Guest layers retry EINTR
/// (DESIGN.md, Errors); HostTap, which cannot import Virtio, has its own single private helper in TapDevice.swift.
@inline(__always)
@discardableResult
public func retryingEINTR<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
