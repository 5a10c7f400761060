#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import Wire

/// Where sysfs says a macvtap's character device is, read inside the device's network namespace.
///
/// MACVTAP-FACTS §0: the `major:minor` of `/sys/class/net/IF/macvtap/tap*/dev` and the MAC of
/// `/sys/class/net/IF/address` must come from a sysfs that belongs to the device's namespace (sysfs shows the
/// interfaces of the namespace that mounted it); `/dev/tap<ifindex>` may be another namespace's device.
struct MacvtapNode: Equatable {
    var mac: MACAddress
    var major: UInt32
    var minor: UInt32

    /// Finds the node of `interface` in `netns` (`nil`: tapvm's own namespace).
    ///
    /// Reads a private sysfs instance made for the namespace (`SysfsMount`, a few system calls); where the kernel
    /// cannot make one, falls back to `locateWithScript` (`ip netns exec`, which remounts /sys).
    static func locate(interface: String, netns: String?) throws(TapError) -> MacvtapNode {
        let report = try NetworkNamespace.perform(in: netns) { () throws(TapError) -> String? in
            SysfsMount.make().map { $0.locatorReport(interface: interface) }
        }
        guard let report else { return try locateWithScript(interface: interface, netns: netns) }
        return try parse(report, interface: interface, netns: netns)
    }

    /// The script run inside the namespace by `locateWithScript`; the interface name is `$1`, never part of the
    /// script text. The glob must expand inside the namespace (MACVTAP-FACTS §0). `SysfsMount.locatorReport`
    /// prints the same lines.
    static let script = """
        d="/sys/class/net/$1"
        [ -e "$d" ] || { echo NOIF; exit 0; }
        [ -d "$d/macvtap" ] || { echo NOTMACVTAP; exit 0; }
        echo "MAC $(cat "$d/address")"
        for f in "$d"/macvtap/tap*/dev; do [ -r "$f" ] && echo "DEV $(cat "$f")"; done
        exit 0
        """

    /// The fallback: `ip netns exec NS sh -c script` (two execs and a remount of /sys, 4-9 ms).
    static func locateWithScript(interface: String, netns: String?) throws(TapError) -> MacvtapNode {
        var argv = ["sh", "-c", script, "tapvm-locate", interface]
        if let netns { argv = ["ip", "netns", "exec", netns] + argv }
        let output = try SystemCommand.check(argv).standardOutput
        return try parse(output, interface: interface, netns: netns)
    }

    /// Interprets the locator's lines (`NOIF`, `NOTMACVTAP`, or `MAC aa:bb:..` and one `DEV major:minor`).
    static func parse(_ output: String, interface: String, netns: String?) throws(TapError) -> MacvtapNode {
        let lines = output.split(separator: "\n").map(String.init)
        if lines.first == "NOIF" { throw .noSuchInterface(name: interface, netns: netns) }
        if lines.first == "NOTMACVTAP" { throw .notAMacvtap(name: interface, netns: netns) }
        guard let macLine = lines.first(where: { $0.hasPrefix("MAC ") }),
              let mac = MACAddress(macLine.dropFirst(4)) else {
            throw .unexpectedSysfs(interface: interface, detail: "no MAC address in '\(output)'")
        }
        let devices = lines.filter { $0.hasPrefix("DEV ") }
        guard devices.count == 1 else {
            if devices.isEmpty { throw .deviceGone(interface: interface) }
            throw .unexpectedSysfs(interface: interface, detail: "\(devices.count) tap* entries")
        }
        let numbers = devices[0].dropFirst(4).split(separator: ":")
        guard numbers.count == 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]) else {
            throw .unexpectedSysfs(interface: interface, detail: "bad dev '\(devices[0].dropFirst(4))'")
        }
        return MacvtapNode(mac: mac, major: major, minor: minor)
    }
}

/// A private sysfs instance of the calling thread's network namespace, attached to no mount namespace.
///
/// fsopen("sysfs") takes the namespace of the calling thread (sysfs tags its net/ directories with the
/// mounter's network namespace), fsconfig(FSCONFIG_CMD_CREATE) makes the superblock and fsmount() returns a
/// detached mount fd that only this process can reach with openat(2); closing it drops the mount. Nothing is
/// mounted anywhere, so the mount namespace stays untouched (mount(2) would need `unshare(CLONE_NEWNS)`, which a
/// multithreaded process cannot do). Needs Linux 5.2 and CAP_SYS_ADMIN.
final class SysfsMount {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }
    deinit { _ = Glibc.close(fd) }

    /// A new instance for the calling thread's namespace, or nil where the kernel refuses (ENOSYS before 5.2,
    /// EPERM without CAP_SYS_ADMIN or under a seccomp filter).
    static func make() -> SysfsMount? {
        let context = fsopen("sysfs", UInt32(FSOPEN_CLOEXEC))
        guard context >= 0 else { return nil }
        defer { _ = Glibc.close(context) }
        guard fsconfig(context, FSCONFIG_CMD_CREATE.rawValue, nil, nil, 0) == 0 else { return nil }
        let attributes = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC
        let mount = fsmount(context, UInt32(FSMOUNT_CLOEXEC), UInt32(attributes))
        guard mount >= 0 else { return nil }
        return SysfsMount(fd: mount)
    }

    /// The lines `MacvtapNode.script` prints for `interface`, read from this instance.
    func locatorReport(interface: String) -> String {
        let directory = "class/net/" + interface
        guard exists(directory) else { return "NOIF\n" }
        guard exists(directory + "/macvtap") else { return "NOTMACVTAP\n" }
        var report = "MAC " + (read(directory + "/address") ?? "") + "\n"
        for entry in entries(directory + "/macvtap") where entry.hasPrefix("tap") {
            if let numbers = read(directory + "/macvtap/" + entry + "/dev") { report += "DEV " + numbers + "\n" }
        }
        return report
    }

    func exists(_ path: String) -> Bool {
        var info = stat()
        return fstatat(fd, path, &info, 0) == 0
    }

    /// The file's text without its trailing newline, or nil if it cannot be read. sysfs attributes fit a page.
    func read(_ path: String) -> String? {
        let file = openat(fd, path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { _ = Glibc.close(file) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        var text = String(decoding: buffer[..<count], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    /// The names in a directory, without `.` and `..` (empty if it cannot be read).
    func entries(_ path: String) -> [String] {
        let directoryFD = openat(fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { return [] }
        guard let directory = fdopendir(directoryFD) else {
            _ = Glibc.close(directoryFD)
            return []
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
