#if canImport(Glibc)
import Glibc
#endif
import CLinux
import SystemPackage
import Wire

extension TapDevice {
    /// Opens the macvtap `interface` in network namespace `netns` (`nil`: the namespace tapvm runs in).
    ///
    /// Follows MACVTAP-FACTS §0: reads `major:minor` from `/sys/class/net/IF/macvtap/tap*/dev` and the MAC from
    /// `/sys/class/net/IF/address` in a sysfs that belongs to the namespace (`MacvtapNode.locate`: a private
    /// instance made on a thread inside it, or `ip netns exec`, which remounts /sys), never derives a
    /// path from the ifindex, mknods a private node in a fresh 0700 directory, opens it
    /// O_RDWR|O_NONBLOCK|O_CLOEXEC, removes node and directory at once, then checks SIOCGIFHWADDR and TUNGETIFF
    /// on the fd against sysfs. Offloads are left as they are: callers normally follow with `setOffload([])`.
    /// Each open is one more queue of the device and splits its traffic with other opens (§6).
    /// - Throws: `invalidName`, `noSuchNamespace`, `noSuchInterface`, `notAMacvtap`, `permissionDenied`,
    ///   `macMismatch`/`nameMismatch` (the node belonged to another device; the fd is closed), `sharedDevice`
    ///   (another process holds a queue of it, which would split the traffic), `deviceBusy`,
    ///   `deviceGone`, `systemCallFailed`, `commandFailed`.
    public static func open(interface: String, netns: String?) throws(TapError) -> TapDevice {
        try NetworkName.validateInterface(interface)
        if let netns { try NetworkName.requireNamespace(netns) }
        let node = try MacvtapNode.locate(interface: interface, netns: netns)
        return try open(node: node, interface: interface)
    }

    /// `open(interface:netns:)` without waiting for the scan for other holders: the scan runs on its own thread
    /// (`TapHolderCheck`) and its `wait()` throws `sharedDevice`. The caller must call `wait()` before it relies
    /// on the device's traffic being whole, and release the device if it throws.
    /// - Throws: as `open(interface:netns:)`, except `sharedDevice`.
    public static func openCheckingHoldersInBackground(interface: String, netns: String?) throws(TapError)
        -> (device: TapDevice, holders: TapHolderCheck)
    {
        try NetworkName.validateInterface(interface)
        if let netns { try NetworkName.requireNamespace(netns) }
        let node = try MacvtapNode.locate(interface: interface, netns: netns)
        let device = try open(node: node, interface: interface, checkHolders: false)
        return (device, TapHolderCheck(fd: device.fd, interface: interface))
    }

    /// Opens the character device `node` (found in sysfs for `interface`) and verifies MAC and name on the fd;
    /// then, with `checkHolders`, that no other process holds the device.
    static func open(node: MacvtapNode, interface: String, checkHolders: Bool = true) throws(TapError) -> TapDevice {
        let fd = try openPrivateNode(node, interface: interface)
        do throws(TapError) {
            let device = try probe(fd: fd, interface: interface)
            guard device.mac == node.mac else {
                device.release()
                throw TapError.macMismatch(interface: interface, expected: node.mac, got: device.mac)
            }
            guard device.name == interface else {
                device.release()
                throw TapError.nameMismatch(expected: interface, got: device.name)
            }
            if checkHolders, let holder = otherHolders(of: fd).first {
                device.release()
                throw TapError.sharedDevice(interface: interface, holder: holder)
            }
            return device
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// Takes over an fd inherited from the parent (`--tap-fd N`, as libvirt hands one to QEMU).
    ///
    /// Checks that `fd` is open (fcntl F_GETFD), sets O_NONBLOCK and FD_CLOEXEC, and probes it with TUNGETIFF;
    /// switches the vnet header on (TUNSETIFF) if the parent left it off. On success the TapDevice owns `fd`;
    /// on failure `fd` is left open and unchanged apart from the two flags.
    /// - Throws: `badFileDescriptor`, `notATap` (ENOTTY etc.), `unsupportedTap`, `deviceGone`, `ioctlFailed`.
    public static func adopt(fd: Int32) throws(TapError) -> TapDevice {
        let descriptorFlags = fcntl(fd, F_GETFD)
        guard descriptorFlags >= 0 else {
            let error = Errno(rawValue: errno)
            if error == .badFileDescriptor { throw .badFileDescriptor(fd) }
            throw .systemCallFailed(call: "fcntl F_GETFD", path: "fd \(fd)", errno: error)
        }
        if fcntl(fd, F_SETFD, descriptorFlags | FD_CLOEXEC) < 0 {
            throw .systemCallFailed(call: "fcntl F_SETFD", path: "fd \(fd)", errno: Errno(rawValue: errno))
        }
        let statusFlags = fcntl(fd, F_GETFL)
        if statusFlags < 0 || fcntl(fd, F_SETFL, statusFlags | O_NONBLOCK) < 0 {
            throw .systemCallFailed(call: "fcntl F_SETFL O_NONBLOCK", path: "fd \(fd)", errno: Errno(rawValue: errno))
        }
        return try probe(fd: fd, interface: "fd \(fd)")
    }

    /// Reads and normalizes the fd's configuration: TUNGETIFF (must be TAP|NO_PI; VNET_HDR switched on if off),
    /// TUNGETFEATURES, TUNGETVNETHDRSZ (set to 10 if not), SIOCGIFHWADDR. MACVTAP-FACTS §3a.
    static func probe(fd: Int32, interface: String) throws(TapError) -> TapDevice {
        var (name, flags) = try interfaceInfo(fd: fd, interface: interface)
        guard flags.contains(.tap), !flags.contains(.tun) else {
            throw .notATap(fd: fd, errno: .invalidArgument)
        }
        guard flags.contains(.noPacketInformation) else {
            throw .unsupportedTap(fd: fd, flags: flags, detail: "it prepends 4-byte packet information (no IFF_NO_PI)")
        }
        if !flags.contains(.vnetHeader) {
            let wanted = flags.intersection([.tap, .noPacketInformation, .multiQueue]).union(.vnetHeader)
            if clinux_tun_set_iff(fd, wanted.rawValue) != 0 {
                throw .unsupportedTap(fd: fd, flags: flags,
                                      detail: "TUNSETIFF(VNET_HDR) failed: \(Errno(rawValue: errno))")
            }
            (name, flags) = try interfaceInfo(fd: fd, interface: interface)
            guard flags.contains(.vnetHeader) else {
                throw .unsupportedTap(fd: fd, flags: flags, detail: "the vnet header stays off after TUNSETIFF")
            }
        }
        var featureBits: UInt32 = 0
        if clinux_tun_get_features(fd, &featureBits) != 0 {
            throw ioctlError("TUNGETFEATURES", Errno(rawValue: errno), fd: fd, interface: name)
        }
        var headerSize: Int32 = 0
        if clinux_tun_get_vnet_hdr_size(fd, &headerSize) != 0 {
            throw ioctlError("TUNGETVNETHDRSZ", Errno(rawValue: errno), fd: fd, interface: name)
        }
        if headerSize != Int32(vnetHeaderLength) {
            if clinux_tun_set_vnet_hdr_size(fd, Int32(vnetHeaderLength)) != 0 {
                throw ioctlError("TUNSETVNETHDRSZ", Errno(rawValue: errno), fd: fd, interface: name)
            }
            headerSize = Int32(vnetHeaderLength)
        }
        var macBytes = [UInt8](repeating: 0, count: 6)
        if clinux_tap_get_hwaddr(fd, &macBytes) != 0 {
            throw ioctlError("SIOCGIFHWADDR", Errno(rawValue: errno), fd: fd, interface: name)
        }
        return TapDevice(fd: fd, name: name, mac: MACAddress(bytes: macBytes)!, flags: flags,
                         features: TapInterfaceFlags(rawValue: Int32(bitPattern: featureBits)),
                         vnetHeaderSize: Int(headerSize))
    }

    /// ioctl(TUNGETIFF): the kernel's name for the device and its IFF_* flags.
    private static func interfaceInfo(fd: Int32, interface: String) throws(TapError) -> (String, TapInterfaceFlags) {
        var nameBytes = [CChar](repeating: 0, count: 16)
        var flags: Int32 = 0
        if clinux_tun_get_iff(fd, &nameBytes, &flags) != 0 {
            let error = Errno(rawValue: errno)
            switch error {
            case .noLink, .operationNotSupportedByDevice: throw .deviceGone(interface: interface)
            case .badFileDescriptor: throw .badFileDescriptor(fd)
            default: throw .notATap(fd: fd, errno: error)
            }
        }
        let name = nameBytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (name, TapInterfaceFlags(rawValue: flags))
    }

    /// mknod a private node for `node` in a fresh 0700 directory, open it, and remove node and directory at once.
    private static func openPrivateNode(_ node: MacvtapNode, interface: String) throws(TapError) -> Int32 {
        let parent = try deviceCapableDirectory()
        var template = Array("\(parent)/tapvm-XXXXXX".utf8CString)
        guard let directoryPointer = mkdtemp(&template) else {
            throw .systemCallFailed(call: "mkdtemp", path: parent, errno: Errno(rawValue: errno))
        }
        let directory = String(cString: directoryPointer)
        defer { _ = rmdir(directory) }
        let path = directory + "/tap"
        if clinux_mknod_char(path, 0o600, node.major, node.minor) != 0 {
            let error = Errno(rawValue: errno)
            if error == .notPermitted || error == .permissionDenied {
                throw .permissionDenied(operation: "mknod \(path) (c \(node.major):\(node.minor))")
            }
            throw .systemCallFailed(call: "mknod", path: path, errno: error)
        }
        defer { _ = unlink(path) }
        let fd = Glibc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let error = Errno(rawValue: errno)
            switch error {
            case .operationNotSupportedByDevice, .noSuchAddressOrDevice: throw .deviceGone(interface: interface)
            case .resourceBusy: throw .deviceBusy(interface: interface)
            case .notPermitted, .permissionDenied: throw .permissionDenied(operation: "open \(path)")
            default: throw .systemCallFailed(call: "open", path: path, errno: error)
            }
        }
        return fd
    }

    /// The first of $TMPDIR, /tmp, /run, /dev whose file system allows device nodes (no ST_NODEV).
    private static func deviceCapableDirectory() throws(TapError) -> String {
        let stNoDevice: UInt = 4  // ST_NODEV in <bits/statvfs.h>; only exported to Swift with _GNU_SOURCE
        var candidates = ["/tmp", "/run", "/dev"]
        if let tmpdir = getenv("TMPDIR").map({ String(cString: $0) }), tmpdir.hasPrefix("/") {
            candidates.insert(tmpdir, at: 0)
        }
        for candidate in candidates {
            var info = statvfs()
            if statvfs(candidate, &info) == 0, info.f_flag & stNoDevice == 0, access(candidate, W_OK) == 0 {
                return candidate
            }
        }
        throw .systemCallFailed(call: "statvfs", path: candidates.joined(separator: ","), errno: .operationNotSupportedByDevice)
    }
}
