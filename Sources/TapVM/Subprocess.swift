// TapVM: composition. A Machine wires guest memory, the virtio-net device (host side), the guest (driver and
// stack) and capture; the lab segment builds a throw-away LAN from network namespaces.
import Foundation

/// Runs an external program (iproute2, dnsmasq, ping) by argv, never through a shell, with a time limit.
struct Subprocess {
    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
        var succeeded: Bool { status == 0 }
        /// The first non-empty line of stderr (or stdout), for one-line error messages.
        var firstErrorLine: String {
            let text = standardError.isEmpty ? standardOutput : standardError
            return text.split(separator: "\n").first.map(String.init) ?? "exit status \(status)"
        }
    }

    /// Runs `argv` (argv[0] looked up in PATH) and waits at most `timeout`; a program still running then is
    /// terminated (SIGTERM, then SIGKILL) and reported with status -1.
    static func run(_ argv: [String], timeout: Duration = .seconds(20)) throws(TapVMError) -> Result {
        guard let program = argv.first else { throw .internal("empty command line") }
        guard let path = which(program) else { throw .missingProgram(program) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(argv.dropFirst())
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { throw .commandFailed(argv.joined(separator: " "), "\(error)") }
        // Read both pipes concurrently so a chatty program never blocks on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let readers = DispatchGroup()
        DispatchQueue.global().async(group: readers) { outData.set(out.fileHandleForReading.readDataToEndOfFile()) }
        DispatchQueue.global().async(group: readers) { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        var status = Int32(0)
        if done.wait(timeout: .now() + seconds) == .timedOut {
            process.terminate()
            if done.wait(timeout: .now() + 1) == .timedOut { kill(process.processIdentifier, SIGKILL); done.wait() }
            status = -1
        } else {
            status = process.terminationStatus
        }
        _ = readers.wait(timeout: .now() + 2)
        return Result(status: status, standardOutput: outData.string, standardError: errData.string)
    }

    /// Runs `argv` and throws `commandFailed` with the program's first error line when it does not succeed.
    @discardableResult
    static func check(_ argv: [String], timeout: Duration = .seconds(20)) throws(TapVMError) -> Result {
        let result = try run(argv, timeout: timeout)
        guard result.succeeded else { throw .commandFailed(argv.joined(separator: " "), result.firstErrorLine) }
        return result
    }

    /// The full path of `program` in PATH (plus the sbin directories, which a non-login root shell may lack).
    static func which(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + program) {
            return directory + "/" + program
        }
        return nil
    }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    var string: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
