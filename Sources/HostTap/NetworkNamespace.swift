#if canImport(Glibc)
import Glibc
#endif
import CLinux
import SystemPackage

/// Runs work inside a named network namespace on a thread of its own, so the caller's thread never changes
/// namespace and no program has to be started (what `ip netns exec` costs: two execs and a remount of /sys).
///
/// setns(CLONE_NEWNET) moves only the calling thread and is allowed in a multithreaded process (setns(2); unlike
/// CLONE_NEWNS, which is why the mount namespace is never touched here). Sockets that thread creates, processes
/// it spawns and sysfs instances it creates with fsopen(2) belong to that namespace (socket(7), clone(2),
/// sysfs(5)) and keep belonging to it afterwards.
public enum NetworkNamespace {
    /// Runs `body` on a fresh thread that has entered network namespace `netns` (`/run/netns/NAME`, as
    /// `ip netns` names it), waits for it and returns its result. `nil` runs `body` on the calling thread, in the
    /// namespace tapvm runs in.
    ///
    /// - Throws: `invalidName`, `noSuchNamespace`, `permissionDenied` (setns needs CAP_SYS_ADMIN),
    ///   `systemCallFailed` (open, setns, pthread_create), or what `body` throws.
    public static func perform<T>(in netns: String?, _ body: () throws(TapError) -> T) throws(TapError) -> T {
        guard let netns else { return try body() }
        try NetworkName.requireNamespace(netns)
        let path = "/run/netns/" + netns
        let namespaceFD = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard namespaceFD >= 0 else {
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory { throw .noSuchNamespace(netns) }
            if error == .permissionDenied { throw .permissionDenied(operation: "open \(path)") }
            throw .systemCallFailed(call: "open", path: path, errno: error)
        }
        defer { _ = Glibc.close(namespaceFD) }
        return try withoutActuallyEscaping(body) { (escapable) throws(TapError) -> T in
            var outcome: Result<T, TapError>?
            try JoinedThread.run(name: path) {
                do throws(TapError) {
                    if clinux_setns(namespaceFD, clinux_CLONE_NEWNET) != 0 {
                        let error = Errno(rawValue: errno)
                        if error == .notPermitted { throw .permissionDenied(operation: "setns \(path)") }
                        throw .systemCallFailed(call: "setns", path: path, errno: error)
                    }
                    outcome = .success(try escapable())
                } catch {
                    outcome = .failure(error)
                }
            }
            guard let outcome else { preconditionFailure("a joined thread left no outcome") }
            return try outcome.get()
        }
    }
}

/// Runs a closure on a new pthread and joins it. Whatever the closure writes is visible to the caller after
/// `run` returns: pthread_join orders the two (POSIX.1 §4.12, memory synchronization).
private final class JoinedThread: @unchecked Sendable {
    let body: () -> Void

    private init(_ body: @escaping () -> Void) { self.body = body }

    static func run(name: String, _ body: @escaping () -> Void) throws(TapError) {
        let context = Unmanaged.passRetained(JoinedThread(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<JoinedThread>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard status == 0 else {
            Unmanaged<JoinedThread>.fromOpaque(context).release()
            throw .systemCallFailed(call: "pthread_create", path: name, errno: Errno(rawValue: status))
        }
        pthread_join(thread, nil)
    }
}
