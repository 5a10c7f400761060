import SystemPackage
import Wire

/// Everything that can go wrong while finding, opening, configuring or using a macvtap (or tap) fd.
///
/// One enum for the HostTap layer (DESIGN.md, Errors). Every case carries what a log reader needs, and its
/// `description` is one line that says what is wrong and what to do about it.
public enum TapError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation needs root (CAP_NET_ADMIN to run `ip`, CAP_MKNOD for the private device node).
    case permissionDenied(operation: String)
    /// An interface or namespace name is not of the form `[A-Za-z0-9_.-]{1,15}` (interfaces) or
    /// `[A-Za-z0-9_.-]{1,64}` (namespaces), or is `.`/`..`. Rejected before any command runs.
    case invalidName(kind: String, name: String)
    /// No `/run/netns/NAME`: the network namespace does not exist.
    case noSuchNamespace(String)
    /// No `/sys/class/net/NAME` in the namespace (`nil` is the namespace tapvm runs in).
    case noSuchInterface(name: String, netns: String?)
    /// The interface exists but has no `/sys/class/net/NAME/macvtap` directory: it is not a macvtap.
    case notAMacvtap(name: String, netns: String?)
    /// The fd is not a tap: `TUNGETIFF` failed with `errno` (ENOTTY, EINVAL, EBADFD) or reported a TUN device.
    case notATap(fd: Int32, errno: Errno)
    /// The fd is a tap, but one tapvm cannot drive (a packet-information prefix, or the vnet header cannot be
    /// switched on).
    case unsupportedTap(fd: Int32, flags: TapInterfaceFlags, detail: String)
    /// The opened node answered with a different MAC than sysfs reported for the interface: the node belongs to
    /// another device (MACVTAP-FACTS §0: `/dev/tap<ifindex>` and minors are shared across namespaces).
    case macMismatch(interface: String, expected: MACAddress, got: MACAddress)
    /// The opened node answered `TUNGETIFF` with another interface name than the one asked for.
    case nameMismatch(expected: String, got: String)
    /// All 256 queues of the macvtap are open (EBUSY, MACVTAP-FACTS §6).
    case deviceBusy(interface: String)
    /// Another process already holds a queue of the macvtap: two opens split the traffic (MACVTAP-FACTS §6).
    /// The check compares device numbers, so an fd of a deleted macvtap whose minor the kernel gave to this one
    /// (MACVTAP-FACTS §0: minors are reused) counts too: nothing on the fd tells them apart.
    case sharedDevice(interface: String, holder: TapHolder)
    /// The device was deleted (ENOLINK from an ioctl, ENODEV/ENXIO from open). MACVTAP-FACTS §3g.
    case deviceGone(interface: String)
    /// An ioctl failed for another reason.
    case ioctlFailed(name: String, errno: Errno)
    /// read(2) on the fd failed (EINTR and EAGAIN are never reported here).
    case readFailed(errno: Errno)
    /// A read filled the whole buffer: the kernel may have cut the frame silently (MACVTAP-FACTS §3f).
    case readPossiblyTruncated(bufferSize: Int)
    /// write(2) on the fd failed; EINVAL means a bad virtio_net_hdr or a frame shorter than 14 bytes (§3d).
    case writeFailed(errno: Errno, length: Int)
    /// The fd number is not open (or was closed by `close()`).
    case badFileDescriptor(Int32)
    /// A system call on the way to the fd failed (mkdtemp, mknod, open, fcntl) with `errno`.
    case systemCallFailed(call: String, path: String, errno: Errno)
    /// sysfs (read inside the namespace) said something that cannot be parsed.
    case unexpectedSysfs(interface: String, detail: String)
    /// An external command (`ip`, `sysctl`) failed; `message` is the first line of its stderr.
    case commandFailed(command: String, status: Int32, message: String)
    /// An external command did not finish within its time limit and was terminated.
    case commandTimedOut(command: String, seconds: Double)

    public var description: String {
        switch self {
        case let .permissionDenied(operation):
            "\(operation): permission denied; run tapvm as root (it needs CAP_NET_ADMIN and CAP_MKNOD)"
        case let .invalidName(kind, name):
            "invalid \(kind) name '\(name)': use 1-15 characters from A-Z a-z 0-9 _ . - (namespaces up to 64)"
        case let .noSuchNamespace(name):
            "network namespace '\(name)' does not exist; check `ip netns list`"
        case let .noSuchInterface(name, netns):
            "no interface '\(name)' \(Self.where_(netns)); check `\(Self.ipPrefix(netns)) link show`"
        case let .notAMacvtap(name, netns):
            "'\(name)' \(Self.where_(netns)) is not a macvtap; create one with `ip link add link LOWER name NAME type macvtap mode bridge` or use --create-on"
        case let .notATap(fd, errno):
            "fd \(fd) is not a tap or macvtap (TUNGETIFF: \(errno)); pass the fd of an opened /dev/tapN or /dev/net/tun"
        case let .unsupportedTap(fd, flags, detail):
            "fd \(fd) is a tap with flags \(flags) that tapvm cannot use: \(detail); open it with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR"
        case let .macMismatch(interface, expected, got):
            "the device node found for '\(interface)' belongs to another device (MAC \(got), expected \(expected)); the device was probably re-created, try again"
        case let .nameMismatch(expected, got):
            "the device node found for '\(expected)' belongs to interface '\(got)'; the device was probably re-created, try again"
        case let .sharedDevice(interface, holder):
            "'\(interface)' is already open in \(holder): a second open would split its traffic between the two (MACVTAP-FACTS §6); stop that process first (if it holds a macvtap that was deleted, its fd carries the same device number, which the kernel reused)"
        case let .deviceBusy(interface):
            "'\(interface)' has all its 256 queues open (EBUSY); close other users of the macvtap"
        case let .deviceGone(interface):
            "the macvtap '\(interface)' was deleted (or its namespace); re-create it and restart"
        case let .ioctlFailed(name, errno):
            "ioctl \(name) failed: \(errno)"
        case let .readFailed(errno):
            "read from the tap fd failed: \(errno)"
        case let .readPossiblyTruncated(bufferSize):
            "a tap read filled the whole \(bufferSize)-byte buffer, so the frame may be truncated; read into at least TapDevice.readBufferSize bytes"
        case let .writeFailed(errno, length):
            "write of \(length) bytes to the tap fd failed: \(errno)\(errno == .invalidArgument ? " (bad virtio_net_hdr, or frame shorter than 14 bytes)" : "")"
        case let .badFileDescriptor(fd):
            "fd \(fd) is not open; pass an fd the parent process left open (e.g. `--tap-fd 3 3<>/dev/tapN`)"
        case let .systemCallFailed(call, path, errno):
            "\(call)(\(path)) failed: \(errno)"
        case let .unexpectedSysfs(interface, detail):
            "unexpected sysfs content for '\(interface)': \(detail)"
        case let .commandFailed(command, status, message):
            "`\(command)` failed (exit \(status)): \(message)"
        case let .commandTimedOut(command, seconds):
            "`\(command)` did not finish within \(seconds) s and was terminated"
        }
    }

    private static func where_(_ netns: String?) -> String {
        netns.map { "in network namespace '\($0)'" } ?? "in the current network namespace"
    }

    private static func ipPrefix(_ netns: String?) -> String {
        netns.map { "ip -n \($0)" } ?? "ip"
    }
}
