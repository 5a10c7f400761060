#if canImport(Glibc)
import Glibc
#endif

/// Another process holding the same macvtap character device open.
public struct TapHolder: Equatable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var command: String
    public var description: String { "pid \(pid) (\(command))" }
}

extension TapDevice {
    /// The other processes that have the character device behind `fd` open, found by comparing `st_rdev` with
    /// every `/proc/PID/fd/*` (what `fuser` does). Every open of a macvtap node is one more queue, and the kernel
    /// splits the device's traffic between them instead of copying it (MACVTAP-FACTS §6): a guest that shares
    /// the device with another reader silently loses about half its frames.
    ///
    /// One fstatat(2) per open fd of every process, relative to directory fds, with no string built for a
    /// non-matching fd. Processes without fds (kernel threads, often half of /proc) cost one fstatat: since
    /// Linux 6.2 the size of `/proc/PID/fd` is its number of fds, which is trusted only when `/proc/self/fd`
    /// reports a non-zero size (this process always has fds open).
    public static func otherHolders(of fd: Int32) -> [TapHolder] {
        guard let device = characterDevice(of: fd) else { return [] }
        return otherHolders(ofDevice: device)
    }

    /// The device number of `fd` when it is a character device (fstat), else nil.
    static func characterDevice(of fd: Int32) -> dev_t? {
        var own = stat()
        guard fstat(fd, &own) == 0, own.st_mode & S_IFMT == S_IFCHR else { return nil }
        return own.st_rdev
    }

    /// `otherHolders(of:)` for the character device numbered `device`: needs no fd, so it may run on another
    /// thread while the fd is used or closed (`TapHolderCheck`).
    static func otherHolders(ofDevice device: dev_t) -> [TapHolder] {
        let me = getpid()
        guard let processes = opendir("/proc") else { return [] }
        defer { closedir(processes) }
        let procFD = dirfd(processes)
        var holders: [TapHolder] = []
        var directory = stat()
        let sizeCountsDescriptors = fstatat(procFD, "self/fd", &directory, 0) == 0 && directory.st_size > 0
        while let entry = readdir(processes) {
            guard let pid = withUnsafeBytes(of: entry.pointee.d_name, processNumber), pid != me else { continue }
            if sizeCountsDescriptors, fstatat(procFD, "\(pid)/fd", &directory, 0) != 0 || directory.st_size == 0 { continue }
            if holdsDevice(pid: pid, procFD: procFD, device: device) {
                holders.append(TapHolder(pid: pid, command: command(of: pid)))
            }
        }
        return holders
    }

    /// Whether any fd of process `pid` is the character device `device`. A process that ends meanwhile, or whose
    /// fds cannot be read, holds nothing.
    private static func holdsDevice(pid: pid_t, procFD: Int32, device: dev_t) -> Bool {
        let descriptors = openat(procFD, "\(pid)/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptors >= 0 else { return false }
        guard let directory = fdopendir(descriptors) else {
            _ = Glibc.close(descriptors)
            return false
        }
        defer { closedir(directory) }
        let directoryFD = dirfd(directory)
        while let entry = readdir(directory) {
            var info = stat()
            let found = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] != UInt8(ascii: ".")
                    && fstatat(directoryFD, name.baseAddress!.assumingMemoryBound(to: CChar.self), &info, 0) == 0
                    && info.st_mode & S_IFMT == S_IFCHR && info.st_rdev == device
            }
            if found { return true }
        }
        return false
    }

    /// The decimal number a `/proc` entry is named after, or nil for the other entries (`self`, `net`, ...).
    private static func processNumber(_ name: UnsafeRawBufferPointer) -> pid_t? {
        var value: pid_t = 0
        var digits = 0
        for byte in name {
            if byte == 0 { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            value = value * 10 + pid_t(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// `/proc/PID/comm` without its newline, or "?".
    private static func command(of pid: pid_t) -> String {
        let file = Glibc.open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return "?" }
        defer { _ = Glibc.close(file) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress, $0.count) }
        guard count > 0 else { return "?" }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingSuffix("\n")
    }
}

private extension String {
    func trimmingSuffix(_ suffix: Character) -> String {
        var text = self
        while text.last == suffix { text.removeLast() }
        return text
    }
}
