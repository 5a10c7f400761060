import ArgumentParser
import Foundation

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
        subcommands: [Demo.self, Run.self, Lease.self, Lab.self, ReplayCommand.self, Bench.self])

    /// Every command names itself (`commandName:`): without it ArgumentParser derives the name with
    /// `String(describing:)` for every command in the tree at every start, and each of those dynamic casts scans
    /// the binary's protocol conformances (about a third of the parse time, 0.8 ms here; `tapvm bench lease`).
    ///
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

    @Option(help: ArgumentHelp("Capture every frame to FILE (pcap, Ethernet, nanosecond stamps; created 0600; FILE.json beside it says what a replay needs).", valueName: "FILE"))
    var pcap: String?

    @Option(name: .customLong("pcap-point"), help: ArgumentHelp("wire: frames crossing the tap fd; guest: what the driver hands the stack and what it sends (exact guest times, for replay); both: FILE and FILE's .guest twin.", valueName: "wire|guest|both"))
    var pcapPoint: CapturePoint = .guest

    @Option(name: .customLong("pcap-limit"), help: ArgumentHelp("Rotate the capture every MB megabytes: FILE, FILE.1, FILE.2, ...", valueName: "MB"))
    var pcapLimit: Int?

    func validate() throws {
        if let pcapLimit, !(1...1_000_000).contains(pcapLimit) { throw ValidationError("--pcap-limit takes 1 to 1000000 megabytes") }
        if pcap == nil && (pcapLimit != nil) { throw ValidationError("--pcap-limit goes with --pcap FILE") }
    }
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

extension TapVMError: LocalizedError {
    public var errorDescription: String? { description }
}

extension CapturePoint: ExpressibleByArgument {}
