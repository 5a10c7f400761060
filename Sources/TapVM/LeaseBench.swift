import Foundation
import HostTap
import Synchronization
import Virtio  // Duration.pollTimeoutMilliseconds
import Wire

/// `tapvm bench lease`: DHCPv4 start-to-bound time of tapvm against the kernel's DHCP clients, on a fresh lab,
/// in one run, as a ratio (DESIGN.md, Benchmarks; issue 4 item 9).
///
/// Every run gets a freshly restarted dnsmasq (`--no-ping`, empty lease file) and a fresh interface with a fresh
/// random MAC on the lab's lower device: for tapvm a bridge-mode macvtap, timed from spawning
/// `tapvm run --interface IF --netns NS --exit-after lease --json` to its `lease` line on stdout; for the kernel's
/// clients a bridge-mode macvlan, timed from spawning the client (inside the namespace, without `ip netns exec`)
/// to the RTM_NEWADDR that announces its IPv4 address. Runs go round-robin over the clients, so that a change
/// in the machine's load spreads over all of them.
public enum LeaseBench {
    public struct Options: Sendable {
        public var runs = 7
        /// The tapvm binary to time (default: the running executable).
        public var tapvmPath: String?
        /// The lab's name (default `tvb<pid>`); it must not exist.
        public var labName: String?
        public var clients = BenchClient.allCases
        /// How long one run may take before it counts as failed.
        public var timeout: Duration = .seconds(15)

        public init() {}
    }

    /// One timed run.
    struct Run {
        var milliseconds: Double?
        /// tapvm only: where its time went, from its lease line.
        var phases: TapVMPhases?
        var error: String?

        static func failed(_ error: String) -> Run { Run(milliseconds: nil, phases: nil, error: error) }
    }

    /// tapvm's run cut into parts with the times its `lease` line reports (`elapsed_ms` counts from main() to
    /// bound, `phases_ms` from the guest's boot), in milliseconds.
    struct TapVMPhases: Equatable {
        /// Spawn to main() (exec, dynamic loader, Swift runtime) plus bound to the line read by the bench.
        var startAndReport: Double
        /// main() to the guest's boot: argument parsing, finding and opening the macvtap, building the machine.
        var attach: Double
        /// Boot to DISCOVER sent.
        var boot: Double
        /// DISCOVER sent to lease bound: the exchange with the server.
        var exchange: Double

        static let labels = ["spawn -> main, bound -> read", "main -> boot (attach)", "boot -> DISCOVER", "DISCOVER -> bound"]
        var values: [Double] { [startAndReport, attach, boot, exchange] }

        init(startAndReport: Double, attach: Double, boot: Double, exchange: Double) {
            self.startAndReport = startAndReport
            self.attach = attach
            self.boot = boot
            self.exchange = exchange
        }

        /// From a parsed `lease` event and the bench's spawn-to-line time; nil if a field is missing.
        init?(leaseEvent event: [String: Any], total: Double) {
            guard let elapsed = (event["elapsed_ms"] as? NSNumber)?.doubleValue,
                  let phases = event["phases_ms"] as? [String: Any],
                  let discover = (phases["discover"] as? NSNumber)?.doubleValue,
                  let bound = (phases["bound"] as? NSNumber)?.doubleValue else { return nil }
            self.init(startAndReport: total - elapsed, attach: elapsed - bound, boot: discover, exchange: bound - discover)
        }
    }

    /// Runs the benchmark and prints runs (JSON) or progress (stderr), one row per client and the closing `bench`
    /// event. Returns 0 exactly when every run of every available client bound.
    public static func run(_ options: Options, printer: EventPrinter) -> Int32 {
        let interrupted = Atomic<Bool>(false)
        let watcher = SignalWatcher { _ in interrupted.store(true, ordering: .relaxed) }
        defer { watcher.cancel() }
        do {
            try LabSegment.requireRoot("tapvm bench lease")
            guard (1...1000).contains(options.runs) else { throw TapVMError.invalidOption("--runs takes 1 to 1000") }
            for program in ["ip", "dnsmasq"] where SystemCommand.locate(program) == nil { throw TapVMError.missingProgram(program) }
        } catch {
            return fail("\(error)", printer: printer)
        }
        let tapvm = options.tapvmPath ?? currentExecutable()
        var executables: [BenchClient: String] = [:]
        var skipped: [BenchClient: String] = [:]
        for client in options.clients {
            if client == .tapvm {
                if let tapvm, access(tapvm, X_OK) == 0 { executables[client] = tapvm }
                else { skipped[client] = "no tapvm binary at \(tapvm ?? "?"): build it (tools/bench) or pass --tapvm PATH" }
            } else if let path = client.program.flatMap(SystemCommand.locate) {
                executables[client] = path
            } else {
                skipped[client] = "\(client.program ?? "") is not installed: apt-get install \(client.package) (tools/bench does)"
            }
        }
        let lab: LabSegment
        let files: BenchFiles
        let configuration = LabConfiguration(pingCheck: false)
        do {
            lab = try LabSegment(name: options.labName ?? "tvb\(getpid() % 1_000_000)")
            files = try BenchFiles.make()
        } catch {
            return fail("\(error)", printer: printer)
        }
        printer.note("tapvm bench lease: lab \(lab.name), \(options.runs) runs per client, dnsmasq --no-ping restarted before each; timing \(executables[.tapvm] ?? "no tapvm")")
        do {
            try lab.up(configuration)
        } catch {
            files.remove()
            return fail("\(error)", printer: printer)
        }
        let hostState = DHCPCDState()
        let context = Context(lab: lab, files: files, configuration: configuration, timeout: options.timeout,
                              executables: executables)
        var results: [BenchClient: [Run]] = [:]
        var counter = 0
        runs: for round in 1...options.runs {
            for client in options.clients where executables[client] != nil {
                if interrupted.load(ordering: .relaxed) { break runs }
                counter += 1
                let run = context.measure(client, interface: "tb\(getpid() % 100_000)r\(counter)")
                results[client, default: []].append(run)
                printRun(run, client: client, round: round, of: options.runs, printer: printer)
            }
        }
        var labError: String?
        do { try lab.down() } catch { labError = "lab down: \(error)" }
        hostState.restore()
        let anyFailed = results.values.joined().contains { $0.milliseconds == nil }
        if anyFailed { printer.note("tapvm bench lease: the clients' output is in \(files.log)") } else { files.remove() }

        let finished = !interrupted.load(ordering: .relaxed)
        let summaries = Dictionary(uniqueKeysWithValues: results.compactMap { client, runs in
            BenchSummary(runs.compactMap(\.milliseconds)).map { (client, $0) }
        })
        printHeader(printer: printer)
        for client in options.clients {
            printRow(client, runs: results[client] ?? [], summary: summaries[client], skipped: skipped[client],
                     binary: client == .tapvm ? executables[client] : nil, printer: printer)
        }
        let tapvmSummary = summaries[.tapvm]
        let fastest = summaries.filter { $0.key != .tapvm }.min { $0.value.median < $1.value.median }
        let ratio = tapvmSummary.flatMap { tapvm in fastest.map { tapvm.median / $0.value.median } }
        let human = ratio.map { String(format: "ratio tapvm / fastest kernel client (%@): %.2f", fastest!.key.rawValue, $0) }
            ?? "ratio: n/a (\(tapvmSummary == nil ? "no tapvm result" : "no kernel client result"))"
        printer.print(EventLine("bench", [
            ("name", .string("lease")),
            ("tapvm_ms", tapvmSummary.map { .number($0.median) } ?? .null),
            ("fastest_kernel_ms", fastest.map { .number($0.value.median) } ?? .null),
            ("fastest_kernel", fastest.map { .string($0.key.rawValue) } ?? .null),
            ("ratio", ratio.map { .number($0) } ?? .null),
        ], human: human))
        if !finished { printer.note("tapvm bench lease: interrupted") }
        if let labError { printer.note("tapvm bench lease: \(labError)") }
        return finished && !anyFailed && labError == nil && tapvmSummary != nil ? 0 : 1
    }

    /// What every run needs.
    struct Context {
        let lab: LabSegment
        let files: BenchFiles
        let configuration: LabConfiguration
        let timeout: Duration
        let executables: [BenchClient: String]

        func measure(_ client: BenchClient, interface: String) -> Run {
            do {
                try lab.restartDNSMasq(configuration)
            } catch {
                return .failed("restarting dnsmasq: \(error)")
            }
            let log = Glibc.open(files.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            defer { if log >= 0 { _ = Glibc.close(log) } }
            let banner = "==== \(client.rawValue) on \(interface)\n"
            _ = banner.withCString { Glibc.write(log, $0, strlen($0)) }
            return client == .tapvm ? measureTapVM(interface: interface, log: log)
                : measureKernelClient(client, interface: interface, log: log)
        }

        /// Spawn `tapvm run` on a fresh macvtap and time it to its `lease` line (read as it arrives: the pipe is
        /// polled without a timer tick).
        func measureTapVM(interface: String, log: Int32) -> Run {
            var random = SystemRandomNumberGenerator()
            let bits = random.next() as UInt64
            let mac = MACAddress(0x02, UInt8(truncatingIfNeeded: bits >> 32), UInt8(truncatingIfNeeded: bits >> 24),
                                 UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8),
                                 UInt8(truncatingIfNeeded: bits))
            do {
                try lab.createMacvtap(name: interface, mac: mac)
            } catch {
                return .failed("creating macvtap \(interface): \(error)")
            }
            defer { lab.deleteMacvtap(name: interface) }
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { return .failed("pipe: \(String(cString: strerror(errno)))") }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            defer { _ = Glibc.close(ends[0]) }
            let argv = [executables[.tapvm]!, "run", "--interface", interface, "--netns", lab.clientNamespace,
                        "--exit-after", "lease", "--json"]
            let start = ContinuousClock.now
            let process: BenchProcess
            do {
                process = try BenchProcess.spawn(argv, environment: Self.environment, output: ends[1], errors: log)
            } catch {
                _ = Glibc.close(ends[1])
                return .failed("\(error)")
            }
            _ = Glibc.close(ends[1])
            defer { process.terminate() }
            let reader = LineReader(fd: ends[0])
            while let line = reader.next(until: start + timeout) {
                guard let event = Self.jsonObject(line) else { continue }
                if event["event"] as? String == "lease" {
                    let elapsed = ContinuousClock.now - start
                    process.wait(timeout: .seconds(5))  // it releases the lease and exits on its own
                    let total = GuestSession.milliseconds(elapsed)
                    return Run(milliseconds: total, phases: TapVMPhases(leaseEvent: event, total: total), error: nil)
                }
                if event["event"] as? String == "summary" {
                    return .failed("tapvm: \(event["error"] as? String ?? "ended without a lease")")
                }
            }
            return .failed("no lease line from tapvm within \(timeout)")
        }

        /// Make a fresh macvlan, spawn the client inside the lab's LAN namespace and time it to its address.
        func measureKernelClient(_ client: BenchClient, interface: String, log: Int32) -> Run {
            let namespace = lab.clientNamespace
            let ip = ["ip", "-n", namespace, "link"]
            do {
                try SystemCommand.check(ip + ["add", "link", lab.lowerInterface, "name", interface, "type", "macvlan", "mode", "bridge"])
            } catch {
                return .failed("creating macvlan \(interface): \(error)")
            }
            defer {
                _ = try? SystemCommand.run(ip + ["del", interface])
                for suffix in [".lease", ".lease6"] { _ = unlink("/var/lib/dhcpcd/\(interface)\(suffix)") }
            }
            do {
                try SystemCommand.check(ip + ["set", interface, "up"])
            } catch {
                return .failed("setting \(interface) up: \(error)")
            }
            let argv = client.arguments(executable: executables[client]!, interface: interface, files: files)
            let timeout = self.timeout
            let outcome = try? NetworkNamespace.perform(in: namespace) { () -> Run in
                let index = if_nametoindex(interface)
                guard index != 0 else { return .failed("\(interface) not found in \(namespace)") }
                let monitor: BenchAddressMonitor
                do { monitor = try BenchAddressMonitor() } catch { return .failed("\(error)") }
                let start = ContinuousClock.now
                let process: BenchProcess
                do {
                    process = try BenchProcess.spawn(argv, environment: Self.environment, output: log, errors: log)
                } catch {
                    return .failed("\(error)")
                }
                defer { process.terminate() }
                guard let (_, bound) = monitor.waitForAddress(interfaceIndex: index, until: start + timeout) else {
                    return .failed("no IPv4 address on \(interface) within \(timeout)")
                }
                return Run(milliseconds: GuestSession.milliseconds(bound - start), phases: nil, error: nil)
            }
            return outcome ?? .failed("cannot enter network namespace \(namespace)")
        }

        /// What every spawned program gets: a PATH where `ip` is found and the C locale.
        static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]

        static func jsonObject(_ line: String) -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// The running executable (/proc/self/exe), so that the bench times the very binary it was started as.
    static func currentExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func printRun(_ run: Run, client: BenchClient, round: Int, of rounds: Int, printer: EventPrinter) {
        var fields: [(String, JSONValue)] = [("client", .string(client.rawValue)), ("run", .integer(Int64(round))),
                                             ("ms", run.milliseconds.map { .number($0) } ?? .null)]
        if let phases = run.phases {
            fields += [("start_ms", .number(phases.startAndReport)), ("attach_ms", .number(phases.attach)),
                       ("boot_ms", .number(phases.boot)), ("exchange_ms", .number(phases.exchange))]
        }
        if let error = run.error { fields.append(("error", .string(error))) }
        if printer.json {
            printer.print(EventLine("bench-run", fields, human: ""))
        } else {
            let value = run.milliseconds.map { String(format: "%.1f ms", $0) } ?? "failed: \(run.error ?? "?")"
            let exchange = run.phases.map { String(format: " (DISCOVER->bound %.2f ms)", $0.exchange) } ?? ""
            printer.note("run \(round)/\(rounds) \(client.rawValue): \(value)\(exchange)")
        }
    }

    static func printHeader(printer: EventPrinter) {
        guard !printer.json else { return }
        printer.print(EventLine("", [], human: row("client", "median", "min", "max", "n")))
    }

    static func printRow(_ client: BenchClient, runs: [Run], summary: BenchSummary?, skipped: String?, binary: String?,
                         printer: EventPrinter) {
        var fields: [(String, JSONValue)] = [("client", .string(client.rawValue)), ("label", .string(client.label))]
        if let skipped {
            fields.append(("skipped", .string(skipped)))
            printer.print(EventLine("bench-client", fields, human: client.label.padding(toLength: 34, withPad: " ", startingAt: 0) + "skipped: " + skipped))
            return
        }
        fields += [("median_ms", summary.map { .number($0.median) } ?? .null),
                   ("min_ms", summary.map { .number($0.minimum) } ?? .null),
                   ("max_ms", summary.map { .number($0.maximum) } ?? .null),
                   ("n", .integer(Int64(summary?.count ?? 0))),
                   ("failed", .integer(Int64(runs.count - (summary?.count ?? 0))))]
        let parts = TapVMPhases.labels.indices.map { index in BenchSummary(runs.compactMap { $0.phases?.values[index] }) }
        let exchange = parts[3]
        if client == .tapvm {
            fields += [("exchange_median_ms", exchange.map { .number($0.median) } ?? .null),
                       ("exchange_min_ms", exchange.map { .number($0.minimum) } ?? .null),
                       ("exchange_max_ms", exchange.map { .number($0.maximum) } ?? .null)]
            if let binary { fields.append(("binary", .string(binary))) }
        }
        var human = summary.map { row(client.label, String(format: "%.1f ms", $0.median), String(format: "%.1f", $0.minimum),
                                      String(format: "%.1f", $0.maximum), "\($0.count)") }
            ?? row(client.label, "-", "-", "-", "0")
        let failures = runs.count - (summary?.count ?? 0)
        if failures > 0 { human += "  (\(failures) failed: \(runs.compactMap(\.error).first ?? "?"))" }
        for (label, part) in zip(TapVMPhases.labels, parts) {
            guard let part else { continue }
            human += "\n" + row("  " + label, String(format: "%.2f ms", part.median), String(format: "%.2f", part.minimum),
                                String(format: "%.2f", part.maximum), "\(part.count)")
        }
        printer.print(EventLine("bench-client", fields, human: human))
    }

    static func row(_ label: String, _ median: String, _ minimum: String, _ maximum: String, _ count: String) -> String {
        label.padding(toLength: 34, withPad: " ", startingAt: 0) + [median, minimum, maximum].map { $0.leftPadded(10) }.joined()
            + count.leftPadded(5)
    }

    static func fail(_ error: String, printer: EventPrinter) -> Int32 {
        printer.print(EventLine("bench", [("name", .string("lease")), ("ok", .bool(false)), ("error", .string(error))],
                                human: "tapvm bench lease: \(error)"))
        return 1
    }
}

/// Host paths dhcpcd creates on first use (its run directory): removed again if the bench made them and they
/// are empty, as the lab leaves the host as it found it.
private struct DHCPCDState {
    let hadRunDirectory = access("/run/dhcpcd", F_OK) == 0

    func restore() {
        if !hadRunDirectory { _ = rmdir("/run/dhcpcd") }
    }
}

/// Lines from a pipe, each returned as soon as its newline arrives (poll without a timer tick).
private final class LineReader {
    private let fd: Int32
    private var pending: [UInt8] = []
    private var ended = false

    init(fd: Int32) { self.fd = fd }

    /// The next line, or nil at end of file or when `deadline` passes.
    func next(until deadline: ContinuousClock.Instant) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            if ended { return nil }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, left.pollTimeoutMilliseconds)
            if ready < 0 && errno != EINTR { return nil }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { ended = true; continue }
            pending += buffer[..<count]
        }
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
