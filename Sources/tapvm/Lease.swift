import ArgumentParser
import Guest
import TapVM
import Wire

/// ATTACH (DESIGN.md): where the guest's card is plugged in. Shared by `run` and `lease`.
struct AttachOptions: ParsableArguments {
    @Option(help: "An existing macvtap interface (found through sysfs, verified by MAC).")
    var interface: String?
    @Option(help: "The network namespace that holds --interface.")
    var netns: String?
    @Option(name: .customLong("tap-fd"), help: "An open macvtap fd inherited from the parent (as libvirt hands one to QEMU).")
    var tapFD: Int32?
    @Option(help: ArgumentHelp("Create a macvtap on the lab segment NAME ('tapvm lab up') for this run.", valueName: "NAME"))
    var lab: String?

    var isGiven: Bool { interface != nil || tapFD != nil || lab != nil }

    func validate() throws {
        let attachments = [interface != nil, tapFD != nil, lab != nil].filter { $0 }.count
        guard attachments == 1 else {
            throw ValidationError("say where to attach: exactly one of --interface NAME [--netns NS], --tap-fd N, --lab [NAME]")
        }
        if netns != nil && interface == nil { throw ValidationError("--netns goes with --interface") }
    }

    var attachment: Attachment {
        if let interface { return .interface(name: interface, netns: netns) }
        if let tapFD { return .tapFD(tapFD) }
        return .lab(name: lab ?? "tapvm")
    }
}

struct Lease: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The DHCP lease test: lease one or many identities, report every phase, renew, release.",
        discussion: """
            One line per identity (address, server, lease, DISCOVER/OFFER/REQUEST/ACK/bound times), then a summary in \
            the style of perfdhcp. Exit status 0 exactly when every identity was bound (and renewed, with --renew). \
            With --count N > 1 on --lab, the card is one passthru macvtap that receives every identity's frames; \
            with --interface it must be a passthru macvtap too (a bridge-mode one receives only its own MAC). \
            'tapvm lease --show' prints the lease files instead.
            """)

    @OptionGroup var attach: AttachOptions

    @Option(help: "Identities to lease, each with its own locally administered MAC derived from --seed.")
    var count = 1
    @Option(help: "At most this many identities between DISCOVER and their lease at once (default: all).")
    var parallel: Int?
    @Flag(help: "After binding, renew (at T1 with --lease-cap, else at once) and report the renewal.")
    var renew = false
    @Flag(inversion: .prefixedNo, help: "RELEASE every lease at the end (and on SIGINT/SIGTERM) and delete its lease file; --no-release keeps both.")
    var release = true
    @Option(help: "DHCP host name (option 12); with --count each identity gets NAME-<n>.")
    var hostname: String?
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where lease files live.", valueName: "DIR"))
    var stateDirectory = LeaseStore.defaultDirectory
    @Flag(help: "Print the lease files of --state-dir (only --mac's with --mac) as dhcpcd --dumplease does, or as JSON.")
    var show = false
    @Option(help: "Seconds to wait for every identity (and renewal) before giving up.")
    var timeout = 30.0

    @OptionGroup var guest: GuestOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if show {
            guard !attach.isGiven else { throw ValidationError("--show reads lease files: give no ATTACH option") }
            return
        }
        try attach.validate()
        guard (1...65_000).contains(count) else { throw ValidationError("--count takes 1 to 65000") }
        if let parallel, parallel < 1 { throw ValidationError("--parallel takes a positive number") }
        guard timeout > 0 && timeout <= 86_400 else { throw ValidationError("--timeout takes 0 to 86400 seconds") }
        if count > 1 && guest.mac != nil { throw ValidationError("--mac names one identity: with --count the MACs come from --seed") }
    }

    func run() throws {
        let printer = EventPrinter(json: output.json)
        if show {
            let status = LeaseRunner.show(stateDirectory: stateDirectory, mac: guest.mac, printer: printer)
            if status != 0 { throw ExitCode(status) }
            return
        }
        var options = LeaseOptions(attachment: attach.attachment)
        options.seed = guest.seed
        options.mac = guest.mac
        options.count = count
        options.parallel = parallel
        options.renew = renew
        options.release = release
        options.hostname = hostname
        options.stateDirectory = stateDirectory
        options.timeout = .seconds(timeout)
        options.pcapPath = output.pcap
        let status = LeaseRunner.lease(options, printer: printer, processStart: processStart)
        if status != 0 { throw ExitCode(status) }
    }
}
