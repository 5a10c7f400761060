import ArgumentParser
import Guest
import TapVM
import Wire

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot the guest on a macvtap and stay on the LAN until SIGINT/SIGTERM or --exit-after.")

    @OptionGroup var attach: AttachOptions

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
    @Flag(inversion: .prefixedNo, help: "RELEASE the lease at the end and on SIGINT/SIGTERM (--no-release keeps it).")
    var release = true

    @OptionGroup var guest: GuestOptions
    @OptionGroup var ipv6: IPv6Options
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try attach.check()
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
        if quietHost && attach.interface == nil { throw ValidationError("--quiet-host goes with --interface (tapvm's own macvtaps are quiet already)") }
        guard (1...100).contains(pingCount) else { throw ValidationError("--ping-count takes 1 to 100") }
        guard (0.01...60).contains(pingInterval) else { throw ValidationError("--ping-interval takes 0.01 to 60 seconds") }
        guard (1...3600).contains(leaseTimeout) else { throw ValidationError("--lease-timeout takes 1 to 3600 seconds") }
    }

    func run() throws {
        var options = RunOptions(attachment: attach.attachment)
        options.release = release
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
