import Synchronization
import Dispatch
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

/// Runs `ip`, `sysctl` and `sh` as child processes, by argv (never through a shell command line), with a time
/// limit. The only place HostTap starts processes.
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(argv.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = searchPath + (environment["PATH"].map { ":" + $0 } ?? "")
        environment["LC_ALL"] = "C"
        process.environment = environment
        let outputPipe = Pipe(), errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw .commandFailed(command: commandLine, status: 126, message: "\(error)")
        }
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let collected = OutputCollector()
        let group = DispatchGroup()
        for (pipe, isError) in [(outputPipe, false), (errorPipe, true)] {
            DispatchQueue.global().async(group: group) {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.store(String(decoding: data, as: UTF8.self), isError: isError)
            }
        }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()  // SIGTERM to the pid we started
            if finished.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = finished.wait(timeout: .now() + 2)
            }
            _ = group.wait(timeout: .now() + 2)
            throw .commandTimedOut(command: commandLine, seconds: timeout)
        }
        _ = group.wait(timeout: .now() + 5)
        let (output, errorOutput) = collected.values
        return CommandResult(status: process.terminationStatus, standardOutput: output, standardError: errorOutput)
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

/// The two pipe contents, filled from two queues.
private final class OutputCollector: Sendable {
    private let storage = Mutex<(String, String)>(("", ""))

    func store(_ text: String, isError: Bool) {
        storage.withLock { if isError { $0.1 = text } else { $0.0 = text } }
    }

    var values: (String, String) { storage.withLock { $0 } }
}
