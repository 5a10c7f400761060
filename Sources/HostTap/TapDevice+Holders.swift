#if canImport(Glibc)
import Glibc
#endif
import Foundation

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
    public static func otherHolders(of fd: Int32) -> [TapHolder] {
        var own = stat()
        guard fstat(fd, &own) == 0, own.st_mode & S_IFMT == S_IFCHR else { return [] }
        let me = getpid()
        var holders: [TapHolder] = []
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in processes {
            guard let pid = Int32(entry), pid != me else { continue }
            let directory = "/proc/\(entry)/fd"
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in fds {
                var info = stat()
                guard stat(directory + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFCHR,
                      info.st_rdev == own.st_rdev else { continue }
                let command = (try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                holders.append(TapHolder(pid: pid, command: command))
                break
            }
        }
        return holders
    }
}
