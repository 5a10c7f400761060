import Glibc

/// A program the benchmarks start with posix_spawn(3) (no Foundation.Process: its start-up would be measured),
/// in a process group of its own, with default signal dispositions and an empty signal mask, so that SIGTERM
/// reaches it even though tapvm ignores SIGINT/SIGTERM/SIGPIPE itself (ignored signals survive exec).
///
/// It starts in the network namespace of the calling thread (clone(2) copies the thread's namespaces), which is
/// how `LeaseBench` places the kernel's DHCP clients on the lab without `ip netns exec`.
final class BenchProcess {
    let pid: pid_t
    let program: String
    private(set) var exitStatus: Int32?

    private init(pid: pid_t, program: String) {
        self.pid = pid
        self.program = program
    }

    /// Starts `argv` (argv[0] an absolute path) with stdin on /dev/null, stdout on `output`, stderr on `errors`.
    static func spawn(_ argv: [String], environment: [String], output: Int32, errors: Int32) throws(TapVMError) -> BenchProcess {
        precondition(argv.first?.hasPrefix("/") == true, "BenchProcess needs an absolute path")
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
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup($0) } + [nil]
        defer { for pointer in arguments + variables { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, argv[0], &actions, &attributes, arguments, variables)
        guard status == 0 else {
            throw .commandFailed(argv.joined(separator: " "), "posix_spawn: \(String(cString: strerror(status)))")
        }
        return BenchProcess(pid: pid, program: argv[0])
    }

    /// Waits at most `timeout` for the process to end; returns whether it did. Polls waitpid every 2 ms (only
    /// used outside the measured interval).
    @discardableResult
    func wait(timeout: Duration) -> Bool {
        if exitStatus != nil { return true }
        let deadline = ContinuousClock.now + timeout
        repeat {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno == ECHILD) {
                exitStatus = status
                return true
            }
            usleep(2_000)
        } while ContinuousClock.now < deadline
        return false
    }

    /// SIGTERM to the process, up to 2 s for it to end, then SIGKILL to it and to the process group it leads
    /// (its hook scripts). Only ever signals this pid and its own group; reaps the process.
    func terminate() {
        guard exitStatus == nil else { return }
        if wait(timeout: .zero) { return }
        kill(pid, SIGTERM)
        if wait(timeout: .seconds(2)) { return }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        wait(timeout: .seconds(2))
    }

    deinit { terminate() }
}
