import ArgumentParser
import TapVM

struct BenchLease: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease",
        abstract: "DHCPv4 start-to-bound: tapvm against dhclient, dhcpcd (nodelay, noarp) and udhcpc on a fresh lab.",
        discussion: """
            Every run restarts dnsmasq (--no-ping, empty lease file) and uses a fresh interface with a fresh random \
            MAC: a macvtap for tapvm (timed from spawning 'tapvm run --interface IF --netns NS --exit-after lease \
            --json' to its lease line), a macvlan of the same lower device for the kernel clients (timed from \
            spawning the client to its IPv4 address appearing on the interface). Prints median, min and max per \
            client and the ratio tapvm / fastest kernel client. A client that is not installed is skipped.
            """)

    @Option(help: "Timed runs per client (the median of at least 7 is the figure).")
    var runs = 7
    @Option(help: ArgumentHelp("The tapvm binary to time (default: this one; use a release build).", valueName: "PATH"))
    var tapvm: String?
    @Option(name: .customLong("client"), help: ArgumentHelp("Time only these clients (repeatable): tapvm, dhclient, dhcpcd, udhcpc.", valueName: "NAME"))
    var clients: [String] = []
    @Option(help: "Name of the throw-away lab (default: tvb<pid>).")
    var name: String?
    @Flag(help: "One JSON object per line, each with an \"event\" key; the last is the 'bench' event.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(runs) else { throw ValidationError("--runs takes 1 to 1000") }
        for client in clients where BenchClient(rawValue: client) == nil {
            throw ValidationError("--client takes tapvm, dhclient, dhcpcd or udhcpc, not '\(client)'")
        }
    }

    func run() throws {
        var options = LeaseBench.Options()
        options.runs = runs
        options.tapvmPath = tapvm
        options.labName = name
        if !clients.isEmpty { options.clients = BenchClient.allCases.filter { clients.contains($0.rawValue) } }
        let status = LeaseBench.run(options, printer: EventPrinter(json: json))
        if status != 0 { throw ExitCode(status) }
    }
}
