import ArgumentParser
import Foundation
import Guest
import Synchronization
import TapVM
import Wire

/// When the process started, for `elapsed_ms`: read as the first thing `main()` does, so it leaves out only the
/// dynamic loader and the Swift runtime's own start (about 1.5-2.5 ms, anchors README).
let processStart = ContinuousClock.now

@main
struct TapVMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapvm",
        abstract: "A tiny userspace VM that joins a LAN at layer 2 through a macvtap fd.",
        discussion: """
            The host side emulates a virtio-net card over the fd (descriptor rings in guest memory, a doorbell, \
            an interrupt line); the guest side is a small network stack that drives it.
            """,
        subcommands: [Demo.self, Run.self, Lab.self])

    /// `--lab` takes an optional name (`--lab` alone means the default lab); ArgumentParser options always take a
    /// value, so a bare `--lab` is rewritten to `--lab=tapvm` before parsing.
    static func main() {
        _ = processStart
        // A reader that closes the pipe early (`tapvm demo --json | head -1`) must not kill tapvm before it has
        // taken its lab and macvtap down: writes then fail with EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        var arguments = Array(CommandLine.arguments.dropFirst())
        for index in arguments.indices where arguments[index] == "--lab" {
            let next = arguments.index(after: index)
            if next == arguments.endIndex || arguments[next].hasPrefix("-") { arguments[index] = "--lab=tapvm" }
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Output options shared by every command that boots a guest.
struct OutputOptions: ParsableArguments {
    @Flag(help: "One JSON object per line, each with an \"event\" key.")
    var json = false

    @Option(help: ArgumentHelp("Capture every frame crossing the tap fd to FILE (pcap, Ethernet; created 0600).", valueName: "FILE"))
    var pcap: String?
}

/// Guest options shared by `run` and `demo`.
struct GuestOptions: ParsableArguments {
    @Option(help: "Seed for every random choice of the guest (xid, jitter, MAC), so a run can be repeated.")
    var seed: UInt64?

    @Option(help: ArgumentHelp("The guest's MAC address (with --lab; an existing macvtap has its own).", valueName: "aa:bb:cc:dd:ee:ff"),
            transform: { text in
                guard let mac = MACAddress(text), !mac.isMulticast else {
                    throw ValidationError("--mac: '\(text)' is not a unicast MAC address like 02:00:00:00:00:10")
                }
                return mac
            })
    var mac: MACAddress?
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a throw-away LAN in network namespaces, boot a guest on a macvtap there, lease, ping, tear down.")

    @OptionGroup var output: OutputOptions
    @OptionGroup var guest: GuestOptions
    @Option(help: "Name of the throw-away lab (default: tvd<pid>).")
    var name: String?

    func run() throws {
        let printer = EventPrinter(json: output.json)
        let status = Runner.demo(labName: name, seed: guest.seed, pcapPath: output.pcap, printer: printer, processStart: processStart)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot the guest on a macvtap and stay on the LAN until SIGINT/SIGTERM or --exit-after.")

    @Option(help: "An existing macvtap interface (found through sysfs, verified by MAC).")
    var interface: String?
    @Option(help: "The network namespace that holds --interface.")
    var netns: String?
    @Option(name: .customLong("tap-fd"), help: "An open macvtap fd inherited from the parent (as libvirt hands one to QEMU).")
    var tapFD: Int32?
    @Option(help: ArgumentHelp("Create a bridge-mode macvtap on the lab segment NAME ('tapvm lab up') for this run.", valueName: "NAME"))
    var lab: String?

    @Option(name: .customLong("exit-after"), help: ArgumentHelp("End the run once the lease is bound ('lease') or after SECONDS.", valueName: "lease|SECONDS"))
    var exitAfter: String?
    @Option(help: ArgumentHelp("Ping ADDR from the guest once the lease is bound ('router' for the lease's router).", valueName: "ADDR"))
    var ping: [String] = []
    @Option(help: "Echo requests per --ping target.")
    var pingCount = 3
    @Option(help: "Seconds between two echo requests to one --ping target.")
    var pingInterval = 1.0
    @Option(help: "DHCP host name (option 12).")
    var hostname: String?
    @Option(help: "Seconds to wait for a lease with --exit-after lease.")
    var leaseTimeout = 30

    @OptionGroup var guest: GuestOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let attachments = [interface != nil, tapFD != nil, lab != nil].filter { $0 }.count
        guard attachments == 1 else {
            throw ValidationError("say where to attach: exactly one of --interface NAME [--netns NS], --tap-fd N, --lab [NAME]")
        }
        if netns != nil && interface == nil { throw ValidationError("--netns goes with --interface") }
        if let exitAfter, exitAfter != "lease", Double(exitAfter).map({ $0 > 0 && $0 <= 31_536_000 }) != true {
            throw ValidationError("--exit-after takes 'lease' or a number of seconds up to a year, not '\(exitAfter)'")
        }
        for target in ping where target != "router" && IPv4Address(target) == nil {
            throw ValidationError("--ping takes an IPv4 address or 'router', not '\(target)'")
        }
        guard (1...100).contains(pingCount) else { throw ValidationError("--ping-count takes 1 to 100") }
        guard (0.01...60).contains(pingInterval) else { throw ValidationError("--ping-interval takes 0.01 to 60 seconds") }
        guard (1...3600).contains(leaseTimeout) else { throw ValidationError("--lease-timeout takes 1 to 3600 seconds") }
    }

    func run() throws {
        let attachment: Attachment
        if let interface { attachment = .interface(name: interface, netns: netns) }
        else if let tapFD { attachment = .tapFD(tapFD) }
        else { attachment = .lab(name: lab ?? "tapvm") }
        var options = RunOptions(attachment: attachment)
        options.seed = guest.seed
        options.mac = guest.mac
        options.hostname = hostname
        options.pcapPath = output.pcap
        options.pingCount = pingCount
        options.pingInterval = .seconds(pingInterval)
        options.leaseTimeout = .seconds(leaseTimeout)
        options.pingTargets = ping.map { $0 == "router" ? PingTarget.router : .address(IPv4Address($0)!) }
        switch exitAfter {
        case nil: options.exitAfter = .never
        case "lease": options.exitAfter = .lease
        case let seconds?: options.exitAfter = .after(.seconds(Double(seconds) ?? 0))
        }
        let status = Runner.run(options, printer: EventPrinter(json: output.json), processStart: processStart)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Lab: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The lab segment on its own, for use with 'run --lab': namespaces NAME and NAME-c, dnsmasq in NAME.",
        subcommands: [Up.self, Down.self, Status.self])

    struct NameOption: ParsableArguments {
        @Option(help: "Lab name (1-12 of a-z, 0-9, '-').")
        var name = "tapvm"
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build the lab segment and start dnsmasq in it.")
        @OptionGroup var lab: NameOption
        func run() throws {
            let segment = try LabSegment(name: lab.name)
            // Ctrl-C while the segment is being built: finish the step, then take down what was made.
            let interrupted = Atomic<Bool>(false)
            let watcher = SignalWatcher { _ in interrupted.store(true, ordering: .relaxed) }
            defer { watcher.cancel() }
            try segment.up()
            if interrupted.load(ordering: .relaxed) {
                try segment.down()
                throw ExitCode(130)
            }
            print("lab \(segment.name) up: server namespace \(segment.serverNamespace) (srv0 198.51.100.1/24, dnsmasq), LAN namespace \(segment.clientNamespace) (lower lan0)")
            print("next: sudo tapvm run --lab \(segment.name) --exit-after lease")
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the lab's dnsmasq and delete its namespaces.")
        @OptionGroup var lab: NameOption
        func run() throws {
            let segment = try LabSegment(name: lab.name)
            try segment.down()
            print("lab \(segment.name) down")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether the lab is up, its dnsmasq and its leases.")
        @OptionGroup var lab: NameOption
        func run() throws {
            let segment = try LabSegment(name: lab.name)
            for line in segment.status() { print(line) }
        }
    }
}

extension TapVMError: LocalizedError {
    public var errorDescription: String? { description }
}
