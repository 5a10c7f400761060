import ArgumentParser
import TapVM

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Make a throw-away LAN in network namespaces, boot a guest on a macvtap there, lease, SLAAC, ping and ping6 both ways, tear down.")

    @OptionGroup var output: OutputOptions
    @OptionGroup var guest: GuestOptions
    @OptionGroup var ipv6: IPv6Options
    @Option(help: "Name of the throw-away lab (default: tvd<pid>).")
    var name: String?

    func run() throws {
        let printer = EventPrinter(json: output.json)
        let status = Runner.demo(labName: name, seed: guest.seed, pcapPath: output.pcap, pcapPoint: output.pcapPoint,
                                 pcapLimitMegabytes: output.pcapLimit, ipv6: ipv6.settings, printer: printer, processStart: processStart)
        if status != 0 { throw ExitCode(status) }
    }
}
