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

    /// Exactly one attachment. Not `validate()`: ArgumentParser would run that for `lease --show` too, which
    /// takes none.
    func check() throws {
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
    @Option(help: ArgumentHelp("Start at most RATE identities per second (perfdhcp's -r).", valueName: "RATE"))
    var rate: Double?
    @Option(name: .customLong("release-rate"), help: ArgumentHelp("Send at most RATE RELEASEs per second at the end (default 100 with --count).", valueName: "RATE"))
    var releaseRate: Double?
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
    @Flag(help: "RFC 5227 conflict detection: probe the offered address with ARP, DECLINE it on a conflict.")
    var acd = false
    @Option(name: .customLong("lease-cap"), help: ArgumentHelp("Treat leases as at most SECONDS long (T1/T2 follow), to test renewal and rebinding quickly.", valueName: "SECONDS"))
    var leaseCap: Int?
    @Option(name: .customLong("request-ip"), help: ArgumentHelp("Ask for ADDR in the DISCOVER (option 50).", valueName: "ADDR"))
    var requestIP: String?
    @Option(name: .customLong("client-id"), help: ArgumentHelp("Option 61: 'mac' (01 + MAC, the default), 'duid' (RFC 4361 IAID + DUID-LL) or the bytes in hex.", valueName: "mac|duid|HEX"))
    var clientID = "mac"
    @Flag(name: .customLong("rapid-commit"), help: "Ask for a two-message exchange (option 80, RFC 4039).")
    var rapidCommit = false
    @Option(name: .customLong("conflict-restart"), help: .hidden)
    var conflictRestart: Double?

    @OptionGroup var guest: GuestOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if show {
            guard !attach.isGiven else { throw ValidationError("--show reads lease files: give no ATTACH option") }
            return
        }
        try attach.check()
        guard (1...65_000).contains(count) else { throw ValidationError("--count takes 1 to 65000") }
        if let parallel, parallel < 1 { throw ValidationError("--parallel takes a positive number") }
        if let rate, !(rate >= 1 && rate <= 1_000_000) { throw ValidationError("--rate takes 1 to 1000000 per second") }
        if let releaseRate, !(releaseRate >= 1 && releaseRate <= 1_000_000) {
            throw ValidationError("--release-rate takes 1 to 1000000 per second")
        }
        guard timeout > 0 && timeout <= 86_400 else { throw ValidationError("--timeout takes 0 to 86400 seconds") }
        if count > 1 && guest.mac != nil { throw ValidationError("--mac names one identity: with --count the MACs come from --seed") }
        if let conflictRestart, !(conflictRestart.isFinite && (0...3600).contains(conflictRestart)) {
            throw ValidationError("--conflict-restart takes 0 to 3600 seconds")
        }
        if let leaseCap, !(1...31_536_000).contains(leaseCap) { throw ValidationError("--lease-cap takes 1 to 31536000 seconds") }
        if let requestIP, IPv4Address(requestIP) == nil { throw ValidationError("--request-ip takes an IPv4 address, not '\(requestIP)'") }
        let identifier = try Self.clientIdentifier(clientID)
        if case .raw = identifier, count > 1 {
            throw ValidationError("--client-id HEX names one identity: with --count use 'mac' or 'duid'")
        }
    }

    /// `--client-id`: mac, duid, or 2-255 bytes of hex (RFC 2132 §9.14).
    static func clientIdentifier(_ text: String) throws -> DHCPClientIdentifier {
        switch text.lowercased() {
        case "mac": return .hardwareAddress
        case "duid": return .duid()
        default:
            guard let bytes = LeaseRecord.bytes(hex: text), (2...255).contains(bytes.count) else {
                throw ValidationError("--client-id takes 'mac', 'duid' or 2 to 255 bytes in hex, not '\(text)'")
            }
            return .raw(bytes)
        }
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
        options.rate = rate
        options.releaseRate = releaseRate
        options.renew = renew
        options.release = release
        options.hostname = hostname
        options.stateDirectory = stateDirectory
        options.timeout = .seconds(timeout)
        options.pcapPath = output.pcap
        options.pcapLimitMegabytes = output.pcapLimit
        options.dhcp.acd = acd
        options.dhcp.leaseCap = leaseCap.map { .seconds($0) }
        options.dhcp.requestedAddress = requestIP.flatMap { IPv4Address($0) }
        options.dhcp.clientIdentifier = try Self.clientIdentifier(clientID)
        options.dhcp.rapidCommit = rapidCommit
        if let conflictRestart { options.dhcp.conflictRestartDelay = .milliseconds(Int64(conflictRestart * 1000)) }
        let status = LeaseRunner.lease(options, printer: printer, processStart: processStart)
        if status != 0 { throw ExitCode(status) }
    }
}
