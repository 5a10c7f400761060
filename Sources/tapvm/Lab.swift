import ArgumentParser
import Synchronization
import TapVM

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
