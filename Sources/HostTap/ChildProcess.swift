#if canImport(Glibc)
import Glibc
#endif

/// A program started with posix_spawn(3): stdin on /dev/null, stdout and stderr on the given fds, every signal at
/// its default disposition and an empty signal mask (tapvm ignores SIGINT, SIGTERM and SIGPIPE, and ignored
/// signals survive exec: a dnsmasq started by an ignoring parent could not be stopped with SIGTERM), optionally
/// in a process group of its own. It starts in the network namespace of the calling thread (clone(2) copies the
/// thread's namespaces).
///
/// The one place tapvm starts programs; Foundation's `Process` is not used (its launch machinery is heavy and was
/// seen to crash under many concurrent launches in the test suite).
public final class ChildProcess {
    public let pid: pid_t
    public let program: String
    /// The raw wait status once the process has ended and been reaped.
    public private(set) var waitStatus: Int32?

    private init(pid: pid_t, program: String) {
        self.pid = pid
        self.program = program
    }

    /// Starts `argv` (argv[0] an absolute path) with `environment` ("NAME=value" strings).
    /// - Throws: `commandFailed` with posix_spawn's error.
    public static func spawn(_ argv: [String], environment: [String], output: Int32, errors: Int32,
                             ownProcessGroup: Bool = false) throws(TapError) -> ChildProcess {
        precondition(argv.first?.hasPrefix("/") == true, "ChildProcess needs an absolute path")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&empty)
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup($0) } + [nil]
        defer { for pointer in arguments + variables { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, argv[0], &actions, &attributes, arguments, variables)
        guard status == 0 else {
            throw .commandFailed(command: argv.joined(separator: " "), status: 126,
                                 message: "posix_spawn: \(String(cString: strerror(status)))")
        }
        return ChildProcess(pid: pid, program: argv[0])
    }

    /// Reaps the process if it has ended; returns whether it has.
    @discardableResult
    public func poll() -> Bool {
        if waitStatus != nil { return true }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            waitStatus = status
        } else if result < 0 && errno == ECHILD {
            waitStatus = -1
        }
        return waitStatus != nil
    }

    /// Waits at most `timeout` for the process to end (polling waitpid every 2 ms); returns whether it did.
    @discardableResult
    public func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !poll() {
            if ContinuousClock.now >= deadline { return false }
            usleep(2_000)
        }
        return true
    }

    /// The exit status (0-255), or 128 + the signal for a process a signal ended, once it has ended.
    public var exitStatus: Int32? {
        guard let status = waitStatus else { return nil }
        if status < 0 { return -1 }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// SIGTERM to the process, up to 2 s for it to end, then SIGKILL (to its group too when it leads one).
    /// Only ever signals this pid and its own group; reaps the process.
    public func terminate() {
        if poll() { return }
        kill(pid, SIGTERM)
        if wait(timeout: .seconds(2)) { return }
        if getpgid(pid) == pid { kill(-pid, SIGKILL) }
        kill(pid, SIGKILL)
        wait(timeout: .seconds(2))
    }

    deinit { terminate() }
}
