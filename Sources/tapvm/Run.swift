import ArgumentParser
import Guest
import TapVM
import Wire

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
    @Option(help: ArgumentHelp("Ping ADDR over IPv6 once a source address is usable ('router' for the first default router).", valueName: "ADDR"))
    var ping6: [String] = []
    @Flag(name: .customLong("quiet-host"),
          help: "With --interface: turn off the host kernel's own IPv6 on the macvtap if it has addresses (it answers for the guest's MAC).")
    var quietHost = false
    @Option(help: "DHCP host name (option 12).")
    var hostname: String?
    @Option(help: "Seconds to wait for a lease with --exit-after lease.")
    var leaseTimeout = 30

    @OptionGroup var guest: GuestOptions
    @OptionGroup var ipv6: IPv6Options
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
        for target in ping6 where IPv6Settings.parsePingTarget(target) == nil {
            throw ValidationError("--ping6 takes an IPv6 address or 'router', not '\(target)'")
        }
        if !ping6.isEmpty && !ipv6.ipv6 { throw ValidationError("--ping6 needs IPv6 (drop --no-ipv6)") }
        if quietHost && interface == nil { throw ValidationError("--quiet-host goes with --interface (tapvm's own macvtaps are quiet already)") }
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
        options.pcapPoint = output.pcapPoint
        options.pcapLimitMegabytes = output.pcapLimit
        options.pingCount = pingCount
        options.pingInterval = .seconds(pingInterval)
        options.leaseTimeout = .seconds(leaseTimeout)
        options.ipv6 = ipv6.settings
        options.ipv6.pingTargets = ping6.compactMap(IPv6Settings.parsePingTarget)
        options.ipv6.quietHost = quietHost
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
