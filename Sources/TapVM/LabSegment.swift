import Foundation
import HostTap
import Wire

/// A throw-away LAN segment made of two network namespaces, as in `../shared/anchors/lab-up`:
///
/// ```
///  NAME   (server/switch side): srv0  198.51.100.1/24, 2001:db8:1::1/64, dnsmasq (DHCPv4, router advertisements
///                                    and, per `LabIPv6Mode`, DHCPv6)
///            | veth
///  NAME-c (LAN side):           lan0  the lower device for the guests' macvtaps (IPv6 off: it is only a lower)
/// ```
///
/// `LabConfiguration` varies dnsmasq for tests: ping check on or off, the pool's size (pools beyond the /24 use
/// 198.18.0.0/15, the benchmarking range of RFC 2544), authoritative or not, and the lease time.
///
/// Nothing outside these two namespaces is touched. dnsmasq runs with a pid file under `/run/tapvm/NAME`, and
/// `down()` stops it by that pid (after checking the pid is still that dnsmasq) before deleting the namespaces.
public struct LabSegment: Sendable {
    public let name: String
    public var serverNamespace: String { name }
    public var clientNamespace: String { name + "-c" }
    public let serverInterface = "srv0"
    public let lowerInterface = "lan0"
    /// The default lab's server address and pool (`LabConfiguration()`).
    public static let serverAddress = "198.51.100.1"
    public static let serverIPv6Address = "2001:db8:1::1"
    public static let poolStart = "198.51.100.50"
    public static let poolEnd = "198.51.100.150"

    /// The directory that holds dnsmasq's pid, lease and log files.
    public var runDirectory: String { "/run/tapvm/" + name }
    var pidFile: String { runDirectory + "/dnsmasq.pid" }
    var leaseFile: String { runDirectory + "/dnsmasq.leases" }
    var configurationFile: String { runDirectory + "/lab.conf" }
    public var logFile: String { runDirectory + "/dnsmasq.log" }

    /// A lab named `name` (1-12 characters of a-z, 0-9, '-'; the default is `tapvm`).
    public init(name: String = "tapvm") throws(TapVMError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard (1...12).contains(name.count), name.allSatisfy(allowed.contains), name.first != "-" else {
            throw .invalidName(name)
        }
        self.name = name
    }

    /// Whether both namespaces exist.
    public var exists: Bool {
        let names = Self.namespaces()
        return names.contains(serverNamespace) && names.contains(clientNamespace)
    }

    /// Builds the segment and starts dnsmasq. On any failure, whatever was made is deleted again.
    public func up(_ configuration: LabConfiguration = LabConfiguration()) throws(TapVMError) {
        try Self.requireRoot("tapvm lab up")
        for program in ["ip", "dnsmasq"] where SystemCommand.locate(program) == nil { throw .missingProgram(program) }
        let existing = Self.namespaces()
        if existing.contains(serverNamespace) || existing.contains(clientNamespace) { throw .labExists(name) }
        do {
            try build(configuration)
        } catch {
            try? down()
            throw error
        }
    }

    private func build(_ configuration: LabConfiguration) throws(TapVMError) {
        let s = serverNamespace, c = clientNamespace
        try run(["ip", "netns", "add", s])
        try run(["ip", "netns", "add", c])
        try run(["ip", "-n", s, "link", "set", "lo", "up"])
        try run(["ip", "-n", c, "link", "set", "lo", "up"])
        try run(["ip", "-n", s, "link", "add", serverInterface, "type", "veth",
                              "peer", "name", lowerInterface, "netns", c])
        // lan0 is only a lower device: keep its own IPv6 stack quiet (MACVTAP-FACTS §7 applies to it too).
        try run(["ip", "netns", "exec", c, "sysctl", "-qw", "net.ipv6.conf.\(lowerInterface).disable_ipv6=1"])
        try run(["ip", "-n", s, "addr", "add", "\(configuration.serverAddress)/\(configuration.prefixLength)", "dev", serverInterface])
        try run(["ip", "-n", s, "addr", "add", Self.serverIPv6Address + "/64", "dev", serverInterface, "nodad"])
        try run(["ip", "-n", s, "link", "set", serverInterface, "up"])
        try run(["ip", "-n", c, "link", "set", lowerInterface, "up"])
        try startDNSMasq(configuration)
    }

    private func startDNSMasq(_ configuration: LabConfiguration) throws(TapVMError) {
        do {
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: leaseFile, contents: Data())
            try configuration.summary.write(toFile: configurationFile, atomically: true, encoding: .utf8)
        } catch {
            throw .commandFailed("mkdir \(runDirectory)", "\(error)")
        }
        var arguments = [
            "ip", "netns", "exec", serverNamespace, "dnsmasq", "--conf-file=/dev/null", "--port=0",
            "--user=root", "--group=root", "--interface=\(serverInterface)", "--bind-interfaces",
            "--dhcp-range=\(configuration.poolStart),\(configuration.poolEnd),\(configuration.netmask),\(configuration.leaseTime)",
            "--dhcp-lease-max=\(configuration.poolSize)",
            "--dhcp-option=option:router,\(configuration.serverAddress)",
            "--dhcp-option=option:dns-server,\(configuration.serverAddress)",
            "--enable-ra", "--dhcp-range=\(configuration.ipv6.dhcpRange)",
            // The RAs' RDNSS (RFC 8106) and DHCPv6 option 23 name the server (dnsmasq(8) --enable-ra).
            "--dhcp-option=option6:dns-server,[\(Self.serverIPv6Address)]",
            "--log-dhcp", "--log-facility=\(logFile)", "--dhcp-leasefile=\(leaseFile)", "--pid-file=\(pidFile)",
        ]
        // Without --no-ping dnsmasq pings each new address for 3 s before offering it (anchors README).
        if !configuration.pingCheck { arguments.append("--no-ping") }
        // Authoritative: a REQUEST for an address dnsmasq does not know is NAKed at once (RFC 2131 §4.3.2).
        if configuration.authoritative { arguments.append("--dhcp-authoritative") }
        try run(arguments)
        // dnsmasq forks and writes its pid file; wait for it, bounded.
        for _ in 0..<100 {
            if dnsmasqPID() != nil { return }
            usleep(20_000)
        }
        throw .timeout("waiting for dnsmasq to write \(pidFile)")
    }

    /// Stops this lab's dnsmasq (by its pid) and starts a fresh one with an empty lease file, as the benchmarks
    /// need before every timed run: no remembered client, and dnsmasq's ping check counts start from zero.
    public func restartDNSMasq(_ configuration: LabConfiguration = LabConfiguration()) throws(TapVMError) {
        if let pid = dnsmasqPID() { Self.terminate([pid]) }
        _ = unlink(pidFile)
        try startDNSMasq(configuration)
    }

    /// The pid of the dnsmasq this lab started, if its pid file names a live dnsmasq serving this lab.
    public func dnsmasqPID() -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
              let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return nil }
        let arguments = String(decoding: cmdline, as: UTF8.self).split(separator: "\0")
        // End only a process we started: it must be dnsmasq with this lab's pid file.
        guard arguments.first?.hasSuffix("dnsmasq") == true,
              arguments.contains(where: { $0 == "--pid-file=\(pidFile)" }) else { return nil }
        return pid
    }

    /// Stops dnsmasq (by its pid) and deletes both namespaces and the run directory. Safe to call on a lab that
    /// is partly built or already gone.
    public func down() throws(TapVMError) {
        try Self.requireRoot("tapvm lab down")
        if let pid = dnsmasqPID() { Self.terminate([pid]) }
        let existing = Self.namespaces()
        var failure: TapVMError?
        for namespace in [clientNamespace, serverNamespace] where existing.contains(namespace) {
            // Anything still running inside is ours (a dnsmasq whose pid file never appeared, a ping): end it,
            // or it would live on in a namespace nobody can name any more.
            let pids = (try? SystemCommand.run(["ip", "netns", "pids", namespace]))?.standardOutput
                .split(separator: "\n").compactMap { pid_t($0.trimmingCharacters(in: .whitespaces)) } ?? []
            Self.terminate(pids.filter { $0 > 1 && $0 != getpid() })
            do { try run(["ip", "netns", "del", namespace]) } catch { failure = error }
        }
        try? FileManager.default.removeItem(atPath: runDirectory)
        if let failure { throw failure }
    }

    /// SIGTERM, up to a second for them to end, then SIGKILL.
    static func terminate(_ pids: [pid_t]) {
        guard !pids.isEmpty else { return }
        for pid in pids { kill(pid, SIGTERM) }
        for _ in 0..<100 where pids.contains(where: isRunning) { usleep(10_000) }
        for pid in pids where isRunning(pid) { kill(pid, SIGKILL) }
    }

    /// One line per fact: namespaces, dnsmasq, leases.
    public func status() -> [String] {
        guard exists else { return ["lab \(name): down"] }
        var lines = ["lab \(name): up (server namespace \(serverNamespace), LAN namespace \(clientNamespace), lower \(lowerInterface))"]
        if let pid = dnsmasqPID() { lines.append("dnsmasq: pid \(pid)") } else { lines.append("dnsmasq: not running") }
        if let summary = try? String(contentsOfFile: configurationFile, encoding: .utf8) { lines.append("dnsmasq: \(summary)") }
        if let leases = try? String(contentsOfFile: leaseFile, encoding: .utf8) {
            for lease in leases.split(separator: "\n") { lines.append("lease: \(lease)") }
        }
        if let links = try? SystemCommand.run(["ip", "-n", clientNamespace, "-br", "link"]) {
            for link in links.standardOutput.split(separator: "\n") { lines.append("link: \(link)") }
        }
        return lines
    }

    /// What the kernel's ping in the server namespace saw.
    public struct PingResult: Sendable {
        public var sent: Int
        public var received: Int
        public var average: Duration?
    }

    /// Pings `address` from the server namespace with the kernel's ping (the LAN talking to the guest).
    public func pingFromServer(_ address: String, count: Int = 3) throws(TapVMError) -> PingResult {
        guard SystemCommand.locate("ping") != nil else { throw .missingProgram("ping") }
        let result: CommandResult
        do {
            result = try SystemCommand.run(["ip", "netns", "exec", serverNamespace, "ping", "-n", "-c", "\(count)",
                                            "-i", "0.2", "-W", "1", address], timeout: Double(count + 5))
        } catch {
            throw .tap(error)
        }
        return Self.parsePing(result.standardOutput)
    }

    /// Reads iputils ping's summary: "3 packets transmitted, 2 received, ..." and
    /// "rtt min/avg/max/mdev = 0.051/0.069/0.090/0.016 ms".
    static func parsePing(_ output: String) -> PingResult {
        var result = PingResult(sent: 0, received: 0, average: nil)
        for line in output.split(separator: "\n") {
            if line.contains("packets transmitted") {
                let numbers = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ").first.flatMap { Int($0) } }
                if numbers.count >= 2 { result.sent = numbers[0] ?? 0; result.received = numbers[1] ?? 0 }
            } else if line.contains("min/avg/max"), let values = line.split(separator: "=").last?.split(separator: "/"),
                      values.count >= 2, let average = Double(values[1].trimmingCharacters(in: .whitespaces)) {
                result.average = .microseconds(Int64(average * 1000))
            }
        }
        return result
    }

    /// Creates a bridge-mode macvtap on the lab's lower device, with IPv6 disabled on it before it goes up
    /// (MACVTAP-FACTS §7: otherwise the host kernel runs its own IPv6 stack with the guest's MAC).
    /// `.passthru` (for many identities) ignores `mac`, takes the lower's and needs the lower to itself (§1).
    public func createMacvtap(name interface: String, mac: MACAddress, mode: MacvtapLink.Mode = .bridge) throws(TapVMError) {
        do {
            _ = try MacvtapLink.create(name: interface, lower: lowerInterface, netns: clientNamespace, mode: mode,
                                       address: mode == .passthru ? nil : mac)
        } catch let error where mode == .passthru {
            throw .commandFailed("passthru macvtap on \(lowerInterface) of lab \(name)",
                                 "\(error) (a passthru macvtap needs the lower to itself: is another tapvm run or lease on this lab?)")
        } catch {
            throw .tap(error)
        }
    }

    /// Deletes a macvtap made by `createMacvtap` (ignores one that is already gone).
    public func deleteMacvtap(name interface: String) {
        try? MacvtapLink(name: interface, netns: clientNamespace).delete()
    }

    static func namespaces() -> Set<String> {
        guard let result = try? SystemCommand.run(["ip", "netns", "list"]) else { return [] }
        return Set(result.standardOutput.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// Runs one setup command; a failure becomes a one-line error naming the command.
    @discardableResult
    private func run(_ argv: [String]) throws(TapVMError) -> CommandResult {
        do { return try SystemCommand.check(argv, timeout: 20) } catch { throw .tap(error) }
    }

    /// Whether `pid` is a live process: it exists and is not a zombie. dnsmasq daemonizes, so the process that
    /// reaps it is init, not tapvm, and an ended dnsmasq can linger as a zombie for a moment.
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != nil && state != "Z" && state != "X"
    }

    static func requireRoot(_ what: String) throws(TapVMError) {
        guard geteuid() == 0 else { throw .notRoot(what) }
    }
}

