import ArgumentParser
import Synchronization
import TapVM

extension LabIPv6Mode: ExpressibleByArgument {}

struct Lab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "The lab segment on its own, for use with 'run --lab': namespaces NAME and NAME-c, dnsmasq in NAME.",
        subcommands: [Up.self, Down.self, Status.self])

    struct NameOption: ParsableArguments {
        @Option(help: "Lab name (1-12 of a-z, 0-9, '-').")
        var name = "tapvm"
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "up", abstract: "Build the lab segment and start dnsmasq in it.")
        @OptionGroup var lab: NameOption
        @Flag(name: .customLong("ping-check"), inversion: .prefixedNo,
              help: "dnsmasq pings a new address (up to 3 s) before offering it (--no-ping-check is the default).")
        var pingCheck = false
        @Flag(name: .customLong("no-ping"), help: "Same as --no-ping-check (dnsmasq's own name for it).")
        var noPing = false
        @Option(help: "Addresses in the pool (more than 150 use 198.18.0.0/15).")
        var poolSize = 101
        @Flag(inversion: .prefixedNo, help: "dnsmasq is authoritative: it NAKs requests for addresses it does not know.")
        var authoritative = true
        @Option(help: "Lease time in seconds (dnsmasq's minimum is 120).")
        var leaseTime = 3600
        @Option(help: ArgumentHelp("IPv6 on 2001:db8:1::/64: router advertisements only (slaac), plus DHCPv6 information (stateless), or DHCPv6 addresses (stateful).",
                                   valueName: "slaac|stateless|stateful"))
        var ipv6: LabIPv6Mode = .slaac

        func run() throws {
            let segment = try LabSegment(name: lab.name)
            let configuration = LabConfiguration(pingCheck: pingCheck && !noPing, poolSize: poolSize,
                                                 authoritative: authoritative, leaseTime: leaseTime, ipv6: ipv6)
            try configuration.validate()
            // Ctrl-C while the segment is being built: finish the step, then take down what was made.
            let interrupted = Atomic<Bool>(false)
            let watcher = SignalWatcher { _ in interrupted.store(true, ordering: .relaxed) }
            defer { watcher.cancel() }
            try segment.up(configuration)
            if interrupted.load(ordering: .relaxed) {
                try segment.down()
                throw ExitCode(130)
            }
            print("lab \(segment.name) up: server namespace \(segment.serverNamespace) (srv0 \(configuration.serverAddress)/\(configuration.prefixLength), dnsmasq), LAN namespace \(segment.clientNamespace) (lower lan0)")
            print("dnsmasq: \(configuration.summary)")
            print("next: sudo tapvm run --lab \(segment.name) --exit-after lease")
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the lab's dnsmasq and delete its namespaces.")
        @OptionGroup var lab: NameOption
        func run() throws {
            let segment = try LabSegment(name: lab.name)
            try segment.down()
            print("lab \(segment.name) down")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether the lab is up, its dnsmasq and its leases.")
        @OptionGroup var lab: NameOption
        func run() throws {
            let segment = try LabSegment(name: lab.name)
            for line in segment.status() { print(line) }
        }
    }
}
