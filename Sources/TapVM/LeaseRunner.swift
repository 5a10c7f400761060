import Foundation
import Guest
import HostTap
import Wire

/// Everything `tapvm lease` needs to know.
public struct LeaseOptions: Sendable {
    public var attachment: Attachment
    public var seed: UInt64?
    /// The MAC of a single identity on `--lab` (an existing macvtap has its own).
    public var mac: MACAddress?
    /// Identities to lease (`--count`): 1 uses the card's MAC, more use locally administered MACs from the seed.
    public var count = 1
    /// At most this many identities between DISCOVER and their first lease at once (`--parallel`; nil: all).
    public var parallel: Int?
    /// New identities started per second (`--rate`, perfdhcp's `-r`); nil: as fast as `parallel` allows.
    public var rate: Double?
    /// RELEASEs sent per second at the end (`--release-rate`). RELEASE has no reply, so nothing paces it but this:
    /// a burst beyond the server's socket buffer is lost and the leases stay held. Nil: 100 per second with
    /// several identities (dnsmasq here handled about 200 per second), all at once for one.
    public var releaseRate: Double?
    /// After binding, renew (`--renew`): at T1 when a lease cap makes T1 near, else at once, and report it.
    public var renew = false
    /// RELEASE every lease at the end and delete its lease file (`--no-release`: keep both).
    public var release = true
    /// Option 12; with several identities each gets `HOSTNAME-<n>`.
    public var hostname: String?
    /// Where lease files live (`--state-dir`); nil: none are read or written.
    public var stateDirectory: String? = LeaseStore.defaultDirectory
    /// How long to wait for every identity (and every renewal) before giving up.
    public var timeout: Duration = .seconds(30)
    public var pcapPath: String?
    /// `--pcap-limit MB`: rotate the capture file at this size.
    public var pcapLimitMegabytes: Int?
    /// The DHCP client's settings for every identity (`--acd`, `--lease-cap`, `--request-ip`, `--client-id`,
    /// `--rapid-commit` land here). The remembered lease comes from the lease file, per identity.
    public var dhcp = DHCPClient.Configuration()

    public init(attachment: Attachment) { self.attachment = attachment }
}

/// `tapvm lease`: the DHCP lease test. Leases one or many identities on one card, prints one `lease` line per
/// identity with where the time went, optionally renews, then a `lease-summary` in the style of ISC perfdhcp, and
/// exits 0 exactly when every identity was bound (and renewed, with `--renew`).
public enum LeaseRunner {
    /// Runs the test. The last line is always the `lease-summary` event, whose `ok` matches the exit status.
    public static func lease(_ options: LeaseOptions, printer: EventPrinter, processStart: ContinuousClock.Instant) -> Int32 {
        var entropy = SystemRandomNumberGenerator()
        let seed = options.seed ?? entropy.next()
        let store = options.stateDirectory.map { LeaseStore(directory: $0) }
        let plan = IdentityPlan(options: options, seed: seed)

        var run = RunOptions(attachment: options.attachment)
        run.seed = seed
        run.mac = options.mac
        run.pcapPath = options.pcapPath
        run.release = options.release
        run.parallel = options.parallel
        run.spacing = options.rate.map { .nanoseconds(Int64(1e9 / $0)) } ?? .zero
        if let releaseRate = options.releaseRate ?? (options.count > 1 ? 100 : nil) {
            run.releaseSpacing = .nanoseconds(Int64(1e9 / releaseRate))
        }
        run.labMode = options.count > 1 ? .passthru : .bridge
        // `lease` always drives its identities through a StackSwitch, which has no guest capture point (that holds
        // one stack's frames): the fd side sees every identity's frames, so `--pcap` captures there.
        run.pcapPoint = .wire
        run.pcapLimitMegabytes = options.pcapLimitMegabytes
        run.identities = { cardMAC in
            let macs = plan.macs(cardMAC: cardMAC)
            let remembered = plan.rememberedLeases(macs, store: store, bootUnix: Date().timeIntervalSince1970, printer: printer)
            return plan.configurations(macs: macs, remembered: remembered)
        }

        let session: GuestSession
        do {
            session = try GuestSession(options: run, printer: printer, processStart: processStart)
        } catch {
            let report = LeaseReport(macs: [], requested: options.count)
            return finish(report, ok: false, error: error.description, printer: printer, processStart: processStart)
        }
        let sinceBoot = ContinuousClock.now - (session.bootedAt ?? .now)
        let bootUnix = Date().timeIntervalSince1970 - GuestSession.milliseconds(sinceBoot) / 1000
        let report = LeaseReport(macs: plan.macs(cardMAC: session.mac), requested: options.count)
        report.clientIdentifier = plan.rawClientIdentifier
        report.hostnames = report.identities.indices.map(plan.hostname(_:))
        session.stackEventObserver = { identity, event in
            guard identity < report.identities.count else { return }
            report.apply(event, identity: identity)
            switch event {
            case let .leaseBound(lease, phases):
                printer.print(report.leaseLine(identity, lease: lease, phases: phases, session: session))
                save(lease, identity: identity, report: report, store: store, bootUnix: bootUnix, printer: printer)
                if options.renew && options.dhcp.leaseCap == nil { forceRenewal(identity, session: session) }
            case let .leaseRenewed(lease):
                if let line = report.renewLine(identity) { printer.print(line) }
                save(lease, identity: identity, report: report, store: store, bootUnix: bootUnix, printer: printer)
            default:
                break
            }
        }
        printer.note("tapvm lease: \(options.count) \(options.count == 1 ? "identity" : "identities")" +
                     (options.count > 1 ? ", at most \(options.parallel ?? options.count) at once" : "") + " (seed \(seed))")

        let done = session.pump(timeout: options.timeout) { report.isComplete(renew: options.renew) }
        // What the unfinished identities were doing, and every identity's DHCP counters, from the vCPU thread.
        if let states = session.inspect({ stack in Self.identityStates(stack) }) { report.apply(states) }
        var error: String?
        if !done {
            error = session.interrupted ? "interrupted" : session.failure ?? report.shortfall(renew: options.renew, timeout: options.timeout)
        }
        for identity in report.identities.indices where report.identities[identity].lease == nil {
            printer.print(report.unboundLine(identity))
        }
        let held = report.identities.indices.filter { report.identities[$0].lease != nil }
        session.shutdown()
        if options.release, let store {
            for identity in held {
                do { try store.remove(mac: report.identities[identity].mac, clientIdentifier: report.clientIdentifier) }
                catch { printer.note("tapvm: \(error)") }
            }
        }
        return finish(report, ok: done && error == nil, error: error, printer: printer, processStart: processStart)
    }

    /// With `--renew` and no lease cap, the renewal is forced at once (RFC 2131 §4.4.5 lets a client extend its
    /// lease before T1); with a cap, the client waits for T1 as usual.
    static func forceRenewal(_ identity: Int, session: GuestSession) {
        session.perform { stack, now in
            if let stack = stack as? StackSwitch { stack.perform(on: identity, now: now) { $0.renewNow(now: now) } }
        }
    }

    static func save(_ lease: DHCPLease, identity: Int, report: LeaseReport, store: LeaseStore?, bootUnix: Double,
                     printer: EventPrinter) {
        guard let store else { return }
        let record = LeaseRecord(lease: lease, mac: report.identities[identity].mac,
                                 clientIdentifier: report.clientIdentifier, hostname: report.hostnames[identity], bootUnix: bootUnix)
        do { try store.write(record) } catch { printer.note("tapvm: \(error)") }
    }

    /// Per identity: the DHCP state, messages sent and received, and DHCP drops.
    static func identityStates(_ stack: FrameStack) -> [IdentityState] {
        guard let stack = stack as? StackSwitch else { return [] }
        return stack.stacks.indices.map { index in
            let identity = stack.stacks[index]
            let drops = identity.counters.drops.filter { $0.key.rawValue.hasPrefix("DHCP") }.values.reduce(0, +)
            let dhcp = identity.dhcpCounters
            return IdentityState(state: stack.isStarted(index) ? identity.dhcpState.rawValue : "WAITING",
                                 sent: identity.counters.dhcp.transmitted, received: identity.counters.dhcp.received,
                                 drops: drops, retransmissions: dhcp.retransmissions, naks: dhcp.naks, declines: dhcp.declines)
        }
    }

    /// Prints the `lease-summary` line and returns the exit status.
    static func finish(_ report: LeaseReport, ok: Bool, error: String?, printer: EventPrinter,
                       processStart: ContinuousClock.Instant) -> Int32 {
        printer.print(report.summaryLine(ok: ok, error: error,
                                         elapsedMilliseconds: GuestSession.milliseconds(ContinuousClock.now - processStart)))
        return ok ? 0 : 1
    }

    // MARK: --show

    /// `tapvm lease --show`: every lease file in the state directory (or only `mac`'s), as dhcpcd's `--dumplease`
    /// prints a lease (`key=value` lines, a blank line between leases) or one JSON object per lease. An unusable file
    /// is one line and skipped. Exit 0 when at least one lease was shown.
    public static func show(stateDirectory: String, mac: MACAddress?, printer: EventPrinter) -> Int32 {
        let store = LeaseStore(directory: stateDirectory)
        let now = Date().timeIntervalSince1970
        var entries = store.all()
        if let mac {
            let path = store.path(mac: mac)
            entries = entries.filter { $0.path == path || ((try? $0.record.get())?.mac == mac) }
        }
        var shown = 0
        for (path, result) in entries {
            switch result {
            case let .success(record):
                if shown > 0 && !printer.json { printer.print(EventLine("", [], human: "")) }
                shown += 1
                var fields = [("path", JSONValue.string(path))]
                if case let .object(pairs) = record.json { fields += pairs }
                fields.append(("valid", .bool(record.isValid(at: now))))
                printer.print(EventLine("lease-file", fields, human: record.dumpLines(at: now).joined(separator: "\n")))
            case let .failure(error):
                printer.print(EventLine("lease-file-error", [("path", .string(path)), ("error", .string(error.description))],
                                        human: "tapvm: \(error)"))
            }
        }
        if shown == 0 {
            let what = mac.map { "no lease for \($0)" } ?? "no lease files"
            printer.print(EventLine("lease-file-error", [("path", .string(stateDirectory)), ("error", .string(what))],
                                    human: "tapvm: \(what) in \(stateDirectory)"))
            return 1
        }
        return 0
    }
}

/// What the vCPU thread reports for one identity at the end.
struct IdentityState: Sendable {
    var state: String
    var sent: Int
    var received: Int
    var drops: Int
    var retransmissions: Int
    var naks: Int
    var declines: Int
}

/// The identities' MACs and stack configurations, from the seed. Sendable: built on the main thread, used by the
/// session when the card is attached.
struct IdentityPlan: Sendable {
    let options: LeaseOptions
    let seed: UInt64

    init(options: LeaseOptions, seed: UInt64) {
        self.options = options
        self.seed = seed
    }

    /// `count` distinct locally administered unicast MACs derived from `seed`, none equal to `avoiding`.
    static func macs(count: Int, seed: UInt64, avoiding: MACAddress? = nil) -> [MACAddress] {
        var generator = SeededGenerator(seed: seed ^ 0x6c65_6173_6521)  // "lease!": not the stream of the card's MAC
        var seen = Set<MACAddress>(avoiding.map { [$0] } ?? [])
        var macs: [MACAddress] = []
        while macs.count < count {
            let mac = GuestSession.randomMAC(using: &generator)
            if seen.insert(mac).inserted { macs.append(mac) }
        }
        return macs
    }

    /// The identities' MACs: the card's for one identity, seeded ones for more.
    func macs(cardMAC: MACAddress) -> [MACAddress] {
        options.count == 1 ? [cardMAC] : Self.macs(count: options.count, seed: seed, avoiding: cardMAC)
    }

    /// The client identifier as raw bytes when the user gave one in hex (`--client-id HEX`): lease files are then
    /// keyed by it, as the server keys its lease (RFC 2131 §4.2).
    var rawClientIdentifier: [UInt8]? {
        if case let .raw(bytes) = options.dhcp.clientIdentifier { return bytes }
        return nil
    }

    func hostname(_ index: Int) -> String? {
        options.hostname.map { options.count == 1 ? $0 : "\($0)-\(index + 1)" }
    }

    /// Per identity, the lease its file remembers, if still valid at `bootUnix` (RFC 2131 §3.2: INIT-REBOOT only
    /// for a lease that has not expired). A corrupt file is one line and ignored.
    func rememberedLeases(_ macs: [MACAddress], store: LeaseStore?, bootUnix: Double, printer: EventPrinter) -> [MACAddress: DHCPLease] {
        guard let store else { return [:] }
        var leases: [MACAddress: DHCPLease] = [:]
        for mac in macs {
            do {
                guard let record = try store.read(mac: mac, clientIdentifier: rawClientIdentifier) else { continue }
                guard record.isValid(at: bootUnix) else {
                    printer.note("tapvm: the lease of \(mac) in \(store.directory) has expired: starting afresh")
                    continue
                }
                leases[mac] = record.lease(bootUnix: bootUnix)
            } catch {
                printer.print(EventLine("warning", [("mac", .string("\(mac)")), ("message", .string(error.description))],
                                        human: "tapvm: \(error)"))
            }
        }
        return leases
    }

    func configurations(macs: [MACAddress], remembered: [MACAddress: DHCPLease]) -> [StackConfiguration] {
        macs.enumerated().map { index, mac in
            var configuration = StackConfiguration(mac: mac, hostname: hostname(index))
            configuration.dhcp = options.dhcp
            configuration.dhcp.rememberedLease = remembered[mac]
            // Many identities: ask for broadcast replies, so the server keeps no neighbour entry per client.
            if options.count > 1 { configuration.dhcp.requestBroadcastReplies = true }
            return configuration
        }
    }
}
