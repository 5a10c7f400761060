import ArgumentParser
import TapVM
import Wire

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run the guest over a capture on a virtual clock; write, compare and explain its output.",
        discussion: """
            The guest boots with the seed, MAC and options of IN's sidecar (IN.json) unless --seed/--mac say \
            otherwise; frames in IN addressed to it are delivered at their captured times. Exit status: 0, 1 when \
            --expect differs, 2 when a file is bad.
            """)

    @Argument(help: ArgumentHelp("The capture to replay (pcap or pcapng, Ethernet).", valueName: "IN.pcap"))
    var input: String
    @Option(help: ArgumentHelp("Write the guest's frames to OUT (pcap).", valueName: "OUT.pcap"))
    var out: String?
    @Option(help: ArgumentHelp("Compare the guest's frames with GOLDEN; the first difference is reported, exit 1.", valueName: "GOLDEN.pcap"))
    var expect: String?
    @Flag(help: "Say, per input frame, what the stack did with it.")
    var explain = false
    @Option(help: ArgumentHelp("max: as fast as possible; captured: at the capture's pace.", valueName: "max|captured"))
    var speed: ReplayOptions.Speed = .max
    @Option(help: "The captured run's --seed (default: the sidecar's).")
    var seed: UInt64?
    @Option(help: ArgumentHelp("The guest's MAC (default: the sidecar's, or the first DHCPDISCOVER's chaddr).", valueName: "aa:bb:cc:dd:ee:ff"),
            transform: { text in
                guard let mac = MACAddress(text), !mac.isMulticast else {
                    throw ValidationError("--mac: '\(text)' is not a unicast MAC address like 02:00:00:00:00:10")
                }
                return mac
            })
    var mac: MACAddress?
    @Flag(help: "One JSON object per line, each with an \"event\" key.")
    var json = false

    func run() throws {
        var options = ReplayOptions(input: input)
        options.output = out
        options.expect = expect
        options.explain = explain
        options.speed = speed
        options.seed = seed
        options.mac = mac
        let status = Replay.run(options, printer: EventPrinter(json: json))
        if status != 0 { throw ExitCode(status) }
    }
}

extension ReplayOptions.Speed: ExpressibleByArgument {}
