// HostTap: the host end of the wire. Finds a macvtap through sysfs inside its network namespace, opens it through
// a private device node, verifies it by MAC and name, configures the virtio_net_hdr and offloads, and reads and
// writes one frame (vnet header + Ethernet frame) per call. Everything it does follows MACVTAP-FACTS.md.
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Synchronization
import SystemPackage
import Wire

/// An open macvtap (or tap) file descriptor carrying a 10-byte virtio_net_hdr before every frame.
///
/// Owns the fd: it is closed by `close()` or when the object goes away. Create one with
/// `open(interface:netns:)` (find and verify the device) or `adopt(fd:)` (an fd inherited from a parent).
/// The fd is non-blocking and close-on-exec; `read`/`write` return `.wouldBlock` instead of blocking. A deleted
/// device is invisible to read/write/poll (MACVTAP-FACTS §3g, surprise 8): call `checkAlive()` periodically.
public final class TapDevice: Sendable {
    /// The largest item a read can return: the largest vnet header in use (12, mrg_rxbuf layout), an Ethernet
    /// header with one 802.1Q tag (18) and the largest IP packet (65535). GSO frames reach 65226 bytes
    /// (MACVTAP-FACTS §3c).
    public static let maximumPacketSize = 12 + 18 + 65535
    /// The read buffer size that can never truncate silently: one byte more than `maximumPacketSize`, so a read
    /// that fills the whole buffer always means truncation (MACVTAP-FACTS §3f).
    public static let readBufferSize = maximumPacketSize + 1
    /// The vnet header size tapvm uses: struct virtio_net_hdr without num_buffers (virtio 1.2 §5.1.6).
    public static let vnetHeaderLength = 10

    /// The interface name the kernel reports for the fd (TUNGETIFF), local to the device's namespace.
    public let name: String
    /// The device's MAC at open time (SIOCGIFHWADDR on the fd). See `currentMAC()` for a fresh value.
    public let mac: MACAddress
    /// IFF_* flags from TUNGETIFF after configuration; always contains `.tap`, `.noPacketInformation`, `.vnetHeader`.
    public let flags: TapInterfaceFlags
    /// IFF_* flags the driver supports (TUNGETFEATURES); a macvtap reports TAP|NO_PI|VNET_HDR|MULTI_QUEUE.
    public let features: TapInterfaceFlags
    /// The virtio_net_hdr length in front of every frame read or written; always `vnetHeaderLength` (10).
    public let vnetHeaderSize: Int

    private let descriptor: Atomic<Int32>

    init(fd: Int32, name: String, mac: MACAddress, flags: TapInterfaceFlags, features: TapInterfaceFlags,
         vnetHeaderSize: Int) {
        self.descriptor = Atomic(fd)
        self.name = name
        self.mac = mac
        self.flags = flags
        self.features = features
        self.vnetHeaderSize = vnetHeaderSize
    }

    deinit { close() }

    /// The raw fd number (for epoll), or -1 after `close()`. Do not close it yourself.
    public var fd: Int32 { descriptor.load(ordering: .acquiring) }

    /// The fd as a swift-system `FileDescriptor` (-1 after `close()`). Do not close it yourself.
    public var fileDescriptor: FileDescriptor { FileDescriptor(rawValue: fd) }

    /// Closes the fd. Idempotent; later calls on this object throw `badFileDescriptor`.
    public func close() {
        let old = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if old >= 0 { _ = Glibc.close(old) }
    }

    /// Reads one item: a virtio_net_hdr followed by one Ethernet frame.
    ///
    /// - Precondition: `buffer.count > vnetHeaderSize` (a smaller read fails with EINVAL and loses the frame,
    ///   MACVTAP-FACTS §3f). Pass `readBufferSize` bytes to be safe against 64 KiB GSO frames.
    /// - Returns: `.transferred(n)` with `n` bytes in `buffer`, or `.wouldBlock` (EAGAIN).
    /// - Throws: `readPossiblyTruncated` if the read filled the whole buffer (the kernel truncates silently),
    ///   `badFileDescriptor` after `close()`, `readFailed` otherwise. EINTR is retried.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TapError) -> TapIO {
        precondition(buffer.count > vnetHeaderSize, "a tap read smaller than the vnet header loses the frame")
        let fd = try openDescriptor()
        switch retryingEINTR({ Glibc.read(fd, buffer.baseAddress, buffer.count) }) {
        case let .success(count):
            if count == buffer.count { throw .readPossiblyTruncated(bufferSize: buffer.count) }
            return .transferred(count)
        case let .failure(error):
            if error == .resourceTemporarilyUnavailable { return .wouldBlock }
            if error == .badFileDescriptor { throw .badFileDescriptor(fd) }
            throw .readFailed(errno: error)
        }
    }

    /// Writes one item: a virtio_net_hdr followed by one Ethernet frame.
    ///
    /// The kernel rejects bad headers and frames shorter than 14 bytes with EINVAL, but "succeeds" and silently
    /// drops oversize frames and frames written while the link is down or deleted (MACVTAP-FACTS §3d, §3g).
    /// - Returns: `.transferred(n)` or `.wouldBlock` (EAGAIN).
    /// - Throws: `writeFailed` (EINVAL: bad header or runt), `badFileDescriptor` after `close()`. EINTR is retried.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(TapError) -> TapIO {
        let fd = try openDescriptor()
        switch retryingEINTR({ Glibc.write(fd, buffer.baseAddress, buffer.count) }) {
        case let .success(count):
            return .transferred(count)
        case let .failure(error):
            if error == .resourceTemporarilyUnavailable { return .wouldBlock }
            if error == .badFileDescriptor { throw .badFileDescriptor(fd) }
            throw .writeFailed(errno: error, length: buffer.count)
        }
    }

    /// Tells the kernel which offloads this reader handles. Wraps ioctl(TUNSETOFFLOAD).
    ///
    /// Per device, not per fd, and it survives close and re-open (MACVTAP-FACTS §3g, §6). `[]` gives complete
    /// checksums and MTU-sized frames (§3b, §3c); tapvm's guest uses `[]` unless it negotiates offloads.
    public func setOffload(_ offload: TapOffload) throws(TapError) {
        let fd = try openDescriptor()
        if clinux_tun_set_offload(fd, offload.rawValue) != 0 {
            throw ioctlError("TUNSETOFFLOAD", Errno(rawValue: errno), fd: fd)
        }
    }

    /// Checks that the device still exists. Wraps ioctl(TUNGETIFF).
    ///
    /// A deleted macvtap (or namespace) is invisible to read, write and poll; only ioctls report ENOLINK
    /// (MACVTAP-FACTS §3g, surprise 8). Cheap enough to call once a second.
    /// - Throws: `deviceGone` if the device was deleted, `badFileDescriptor` after `close()`.
    public func checkAlive() throws(TapError) {
        let fd = try openDescriptor()
        var nameBytes = [CChar](repeating: 0, count: 16)
        var flags: Int32 = 0
        if clinux_tun_get_iff(fd, &nameBytes, &flags) != 0 {
            throw ioctlError("TUNGETIFF", Errno(rawValue: errno), fd: fd)
        }
    }

    /// The device's MAC now (it can change while the fd is open, MACVTAP-FACTS §4). Wraps ioctl(SIOCGIFHWADDR).
    public func currentMAC() throws(TapError) -> MACAddress {
        let fd = try openDescriptor()
        var bytes = [UInt8](repeating: 0, count: 6)
        if clinux_tap_get_hwaddr(fd, &bytes) != 0 {
            throw ioctlError("SIOCGIFHWADDR", Errno(rawValue: errno), fd: fd)
        }
        return MACAddress(bytes: bytes)!
    }

    /// Gives up ownership without closing (the caller closes the fd itself).
    func release() { descriptor.store(-1, ordering: .releasing) }

    private func openDescriptor() throws(TapError) -> Int32 {
        let fd = descriptor.load(ordering: .acquiring)
        guard fd >= 0 else { throw .badFileDescriptor(fd) }
        return fd
    }

    private func ioctlError(_ request: String, _ error: Errno, fd: Int32) -> TapError {
        Self.ioctlError(request, error, fd: fd, interface: name)
    }

    static func ioctlError(_ request: String, _ error: Errno, fd: Int32, interface: String) -> TapError {
        switch error {
        case .noLink, .operationNotSupportedByDevice, .noSuchAddressOrDevice: .deviceGone(interface: interface)
        case .badFileDescriptor: .badFileDescriptor(fd)
        case .notPermitted, .permissionDenied: .permissionDenied(operation: "ioctl \(request)")
        default: .ioctlFailed(name: request, errno: error)
        }
    }
}

/// Runs a system call until it stops failing with EINTR: the one place HostTap retries EINTR (DESIGN.md, Errors).
/// HostTap cannot import Virtio, whose public `retryingEINTR` serves the Virtio, Emulator and Guest layers.
/// `call` returns the syscall's result, -1 with `errno` set on failure.
private func retryingEINTR(_ call: () -> Int) -> Result<Int, Errno> {
    while true {
        let result = call()
        if result >= 0 { return .success(result) }
        let error = Errno(rawValue: errno)
        if error != .interrupted { return .failure(error) }
    }
}
