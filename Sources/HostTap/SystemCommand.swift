import CLinux
import Foundation

/// What an external command printed and how it ended.
public struct CommandResult: Sendable, Equatable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String

    /// The first non-empty line of stderr (or stdout), for a one-line error message.
    public var firstErrorLine: String {
        let text = standardError.isEmpty ? standardOutput : standardError
        return text.split(separator: "\n").first.map(String.init) ?? "(no output)"
    }
}

/// Runs `ip`, `sysctl` and `sh` as child processes (`ChildProcess`), by argv (never through a shell command line),
/// with a time limit.
public enum SystemCommand {
    /// Where the tools live on Debian-like systems; prepended to PATH so `ip netns exec NS sysctl` finds sysctl.
    static let searchPath = "/usr/sbin:/usr/bin:/sbin:/bin"

    /// Runs `argv` (argv[0] looked up in `searchPath`) and waits at most `timeout` seconds.
    ///
    /// - Returns: the result, whatever the exit status (use `check` to turn a failure into an error).
    /// - Throws: `commandTimedOut` (the child is sent SIGTERM, then SIGKILL), `commandFailed` if it cannot start.
    public static func run(_ argv: [String], timeout: Double = 10) throws(TapError) -> CommandResult {
        precondition(!argv.isEmpty, "empty argv")
        let commandLine = argv.joined(separator: " ")
        guard let executable = locate(argv[0]) else {
            throw .commandFailed(command: commandLine, status: 127, message: "\(argv[0]) not found in \(searchPath)")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = searchPath + (environment["PATH"].map { ":" + $0 } ?? "")
        environment["LC_ALL"] = "C"
        var outputPipe: [Int32] = [-1, -1], errorPipe: [Int32] = [-1, -1]
        guard clinux_pipe_cloexec(&outputPipe) == 0 else {
            throw .commandFailed(command: commandLine, status: 126, message: "pipe: \(String(cString: strerror(errno)))")
        }
        defer { for fd in outputPipe where fd >= 0 { close(fd) } }
        guard clinux_pipe_cloexec(&errorPipe) == 0 else {
            throw .commandFailed(command: commandLine, status: 126, message: "pipe: \(String(cString: strerror(errno)))")
        }
        defer { for fd in errorPipe where fd >= 0 { close(fd) } }
        let child = try ChildProcess.spawn([executable] + argv.dropFirst(), environment: environment.map { "\($0)=\($1)" },
                                           output: outputPipe[1], errors: errorPipe[1])
        close(outputPipe[1]); outputPipe[1] = -1
        close(errorPipe[1]); errorPipe[1] = -1
        // Read both pipes until both reach EOF (a daemon's forked child may keep them open: the deadline ends
        // that), then reap the child.
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var output: [UInt8] = [], errors: [UInt8] = []
        var open = [outputPipe[0], errorPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !open.isEmpty {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = Glibc.poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            for descriptor in fds where descriptor.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if descriptor.fd == outputPipe[0] { output += buffer[..<count] } else { errors += buffer[..<count] }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == descriptor.fd }
                }
            }
        }
        let remaining = deadline - ContinuousClock.now
        guard child.wait(timeout: max(remaining, .milliseconds(10))) else {
            child.terminate()  // SIGTERM to the pid we started, then SIGKILL
            throw .commandTimedOut(command: commandLine, seconds: timeout)
        }
        return CommandResult(status: child.exitStatus ?? -1, standardOutput: String(decoding: output, as: UTF8.self),
                             standardError: String(decoding: errors, as: UTF8.self))
    }

    /// Runs `argv` and throws `commandFailed` (naming the command and its first stderr line) unless it exits 0.
    @discardableResult
    public static func check(_ argv: [String], timeout: Double = 10) throws(TapError) -> CommandResult {
        let result = try run(argv, timeout: timeout)
        guard result.status == 0 else {
            if result.standardError.contains("Operation not permitted") {
                throw .permissionDenied(operation: argv.joined(separator: " "))
            }
            throw .commandFailed(command: argv.joined(separator: " "), status: result.status,
                                 message: result.firstErrorLine)
        }
        return result
    }

    /// The full path of `name` in `searchPath`, or nil when it is not installed.
    public static func locate(_ name: String) -> String? {
        if name.hasPrefix("/") { return name }
        for directory in searchPath.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
