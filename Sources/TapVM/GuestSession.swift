import Foundation
import Guest
import HostTap
import Wire

/// One guest on one card: attaches (creating a lab macvtap when asked), boots the machine, turns the guest's
/// events into output lines, and takes everything down again. The main thread drives it; the device and vCPU
/// threads only post to its mailbox.
public final class GuestSession {
    enum Message: Sendable {
        case stack(Int, StackEvent)
        case signal(Int32)
    }

    public let options: RunOptions
    public let printer: EventPrinter
    /// The guest's MAC: chosen from the seed (or --mac) for a lab macvtap, the interface's own otherwise.
    public private(set) var mac: MACAddress
    public let seed: UInt64
    private let processStart: ContinuousClock.Instant
    private let mailbox = Mailbox<Message>()
    private var machine: Machine?
    private var createdMacvtap: (lab: LabSegment, name: String)?
    /// The macvtap this session created on a lab (nil when attached to an existing one).
    public var createdInterface: String? { createdMacvtap?.name }
    private var signals: SignalWatcher?

    public private(set) var lease: DHCPLease?
    /// The identities that hold a lease now (0 alone for a single guest).
    public private(set) var boundIdentities: Set<Int> = []
    /// When set, every stack event goes here (tagged with its identity) instead of to the session's own lines.
    public var stackEventObserver: ((_ identity: Int, _ event: StackEvent) -> Void)?
    public private(set) var interrupted = false
    /// Why the session cannot go on (the macvtap was deleted, the card failed), once that happened.
    public private(set) var failure: String?
    private var nextAliveCheck = ContinuousClock.now + .seconds(1)
    /// Per target, the round trips of the replies so far and whether the guest finished pinging it.
    private var pingReplies: [IPv4Address: [Duration]] = [:]
    public private(set) var pingResults: [(target: IPv4Address, sent: Int, received: Int, average: Duration?)] = []
    /// The IPv6 lines and the host-side multicast filter (nil with `--no-ipv6`).
    private var ipv6: IPv6Reporter?
    /// The macvtap's host-side netdevice, when its name and namespace are known (not with `--tap-fd`).
    private var hostLink: MacvtapLink?

    /// Attaches and boots. On failure everything made so far is removed again.
    public init(options: RunOptions, printer: EventPrinter, processStart: ContinuousClock.Instant) throws(TapVMError) {
        self.options = options
        self.printer = printer
        self.processStart = processStart
        var entropy = SystemRandomNumberGenerator()
        seed = options.seed ?? entropy.next()
        var generator = SeededGenerator(seed: seed)
        mac = options.mac ?? Self.randomMAC(using: &generator)
        let mailbox = self.mailbox
        signals = SignalWatcher { number in mailbox.post(.signal(number)) }
        do {
            let tap = try attach()
            var configuration = MachineConfiguration(seed: generator.next(), hostname: options.hostname,
                                                     pingTargets: options.pingTargets, pingCount: options.pingCount)
            configuration.pcapPath = options.pcapPath
            configuration.pcapPoint = options.pcapPoint
            configuration.pcapLimitMegabytes = options.pcapLimitMegabytes
            configuration.recordedSeed = seed
            configuration.pingInterval = options.pingInterval
            configuration.ipv6 = options.ipv6.configuration(seed: seed, pingCount: options.pingCount)
            configuration.identities = options.identities?(tap.mac) ?? []
            configuration.parallel = options.parallel
            configuration.spacing = options.spacing
            configuration.releaseSpacing = options.releaseSpacing
            let machine = try Machine(tap: tap, configuration: configuration) { identity, event in mailbox.post(.stack(identity, event)) }
            self.machine = machine
            mac = machine.mac
            try machine.start()
            // Many identities (`tapvm lease`) are DHCPv4 stacks of their own: no IPv6 there.
            if options.ipv6.enabled && configuration.identities.isEmpty {
                let boot = machine.bootedAt ?? processStart
                ipv6 = IPv6Reporter(printer: printer, hostLink: hostLink) { instant in
                    Self.milliseconds(boot - processStart) + instant.milliseconds
                }
                if hostLink == nil {
                    printer.note("tapvm: --tap-fd: the guest's IPv6 multicast groups cannot be programmed on the macvtap " +
                                 "(its name and namespace are unknown); NDP to addresses not derived from the MAC may not arrive")
                }
            }
            printer.note("tapvm: guest \(tap.mac) booted on \(tap.name) (seed \(seed))")
        } catch {
            shutdown()
            throw error
        }
    }

    /// When the guest booted, on the process's clock (nil before boot or after shutdown).
    public var bootedAt: ContinuousClock.Instant? { machine?.bootedAt }

    /// Runs `body` with the guest's stack on the vCPU thread and returns its result; nil when the machine is not
    /// running or the vCPU did not answer within `timeout`.
    public func inspect<T: Sendable>(timeout: Duration = .seconds(2), _ body: @escaping @Sendable (FrameStack) -> T) -> T? {
        machine?.inspect(timeout: timeout, body)
    }

    /// Runs `body` with the guest's stack and `now` on the vCPU thread, without waiting.
    public func perform(_ body: @escaping @Sendable (FrameStack, Instant) -> Void) {
        machine?.perform(body)
    }

    private func attach() throws(TapVMError) -> TapDevice {
        let tap: TapDevice
        do {
            switch options.attachment {
            case let .interface(name, netns):
                tap = try TapDevice.open(interface: name, netns: netns)
                hostLink = MacvtapLink(name: name, netns: netns)
                checkHostIPv6(hostLink!)
            case let .tapFD(fd):
                tap = try TapDevice.adopt(fd: fd)
            case let .lab(name):
                let lab = try LabSegment(name: name)
                try LabSegment.requireRoot("tapvm run --lab")
                guard lab.exists else { throw TapVMError.labMissing(name) }
                let interface = "tvm\(getpid() % 100_000)"
                // Many identities need one card that receives every MAC: passthru (MACVTAP-FACTS §1, §4).
                try lab.createMacvtap(name: interface, mac: mac, mode: options.labMode)
                createdMacvtap = (lab, interface)
                hostLink = MacvtapLink(name: interface, netns: lab.clientNamespace)
                tap = try TapDevice.open(interface: interface, netns: lab.clientNamespace)
            }
            // Offloads off (MACVTAP-FACTS §3b/3c): frames at most MTU-sized, checksums complete.
            try tap.setOffload([])
        } catch let error as TapError {
            throw .tap(error)
        } catch let error as TapVMError {
            throw error
        } catch {
            throw .unexpected("\(error)")
        }
        return tap
    }

    /// MACVTAP-FACTS §7 (issue 5 item 6): an existing macvtap whose host side has IPv6 addresses answers NDP for
    /// the guest's EUI-64 addresses too. One line says so; `--quiet-host` turns the host's IPv6 off there.
    private func checkHostIPv6(_ link: MacvtapLink) {
        guard let addresses = try? link.hostIPv6Addresses(), !addresses.isEmpty else { return }
        var disabled = false
        if options.ipv6.quietHost {
            do {
                try link.disableHostIPv6()
                disabled = true
            } catch {
                printer.note("tapvm: --quiet-host: \(error)")
            }
        }
        let human = disabled
            ? "tapvm: host IPv6 on \(link.name) had \(addresses.joined(separator: " ")); disabled (--quiet-host)"
            : "tapvm: the host side of \(link.name) runs its own IPv6 (\(addresses.joined(separator: " "))): two stacks answer " +
              "for the guest's MAC; --quiet-host disables it"
        printer.print(EventLine("host_ipv6", [("interface", .string(link.name)), ("addresses", .array(addresses.map { .string($0) })),
                                              ("disabled", .bool(disabled))], human: human))
    }

    /// The guest's IPv6 addresses whose DAD finished (with its outcome), in order.
    public var ipv6Addresses: [IPv6AddressInfo] { ipv6?.addresses ?? [] }
    /// Routers heard, as last reported.
    public var ipv6Routers: [IPv6Router] { ipv6?.routers ?? [] }
    /// DNS servers from DHCPv6.
    public var dhcpv6DNSServers: [IPv6Address] { ipv6?.dhcpv6DNSServers ?? [] }
    /// Finished ping6 sessions.
    public var ping6Results: [(target: IPv6Address, sent: Int, received: Int, average: Duration?)] { ipv6?.pingResults ?? [] }
    /// The multicast MACs this session programmed on the host-side macvtap.
    public var programmedMulticastGroups: Set<MACAddress> { ipv6?.programmed ?? [] }

    /// A locally administered unicast MAC (02:xx:xx:xx:xx:xx) from the run's generator.
    static func randomMAC(using generator: inout SeededGenerator) -> MACAddress {
        let value = generator.next()
        return MACAddress(0x02, UInt8(truncatingIfNeeded: value >> 32), UInt8(truncatingIfNeeded: value >> 24),
                          UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                          UInt8(truncatingIfNeeded: value))
    }

    /// Handles messages until `done()` holds, `timeout` passes, a signal arrives or the device disappears.
    /// Returns whether `done()` held.
    @discardableResult
    public func pump(timeout: Duration, until done: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !done() {
            if interrupted || failure != nil || ContinuousClock.now >= deadline { return false }
            let now = ContinuousClock.now
            if now >= nextAliveCheck {
                nextAliveCheck = now + .seconds(1)
                if let problem = machine?.failure() {
                    failure = problem
                    return false
                }
            }
            for message in mailbox.take(until: min(deadline, nextAliveCheck)) { handle(message) }
        }
        return true
    }

    private func handle(_ message: Message) {
        switch message {
        case let .signal(number):
            printer.note("tapvm: \(number == SIGINT ? "SIGINT" : "SIGTERM"), shutting down")
            interrupted = true
        case let .stack(identity, event):
            switch event {
            case .leaseBound, .leaseRenewed: boundIdentities.insert(identity)
            case .leaseLost: boundIdentities.remove(identity)
            default: break
            }
            if let stackEventObserver { stackEventObserver(identity, event) } else { handle(event) }
        }
    }

    private func handle(_ event: StackEvent) {
        switch event {
        case let .leaseBound(lease, phases):
            self.lease = lease
            printer.print(leaseLine(lease, phases: phases))
        case let .leaseRenewed(lease):
            self.lease = lease
            printer.print(EventLine("renewed", [("address", .string("\(lease.address)")),
                                                ("lease_seconds", .integer(lease.leaseTime.components.seconds))],
                                    human: "lease renewed: \(lease.address) for \(lease.leaseTime.components.seconds) s"))
        case let .leaseLost(reason):
            lease = nil
            printer.print(EventLine("lease_lost", [("reason", .string(reason))], human: "lease lost: \(reason)"))
        case let .pingReply(target, _, roundTrip):
            pingReplies[target, default: []].append(roundTrip)
        case .pingTimeout:
            break
        case let .pingsFinished(target, sent, received):
            let replies = pingReplies[target] ?? []
            let average: Duration? = replies.isEmpty ? nil : replies.reduce(.zero, +) / replies.count
            pingResults.append((target, sent, received, average))
            printer.print(Self.pingLine(direction: "guest-to-lan", target: "\(target)", sent: sent, received: received, average: average))
        case .dhcp, .dhcpNAK, .addressDeclined, .conflictDefended, .ipv6OnlyPreferred, .dhcpv6:
            break
        case let .dhcpv6Configuration(dnsServers, domainList):
            ipv6?.dhcpv6Configuration(dnsServers: dnsServers, domainList: domainList)
        case let .ipv6(event):
            ipv6?.handle(event)
        }
    }

    func leaseLine(_ lease: DHCPLease, phases: DHCPPhaseTimes) -> EventLine {
        // The instant the lease was bound, on the process's clock (not when this line is printed).
        let boot = machine?.bootedAt ?? processStart
        let elapsed = Self.milliseconds(boot - processStart) + phases.bound.milliseconds
        var phaseFields: [(String, JSONValue)] = [
            ("discover", phases.discoverSent.map { .number($0.milliseconds) } ?? .null),
            ("offer", phases.offerReceived.map { .number($0.milliseconds) } ?? .null),
            ("request", phases.requestSent.map { .number($0.milliseconds) } ?? .null), ("ack", .number(phases.ackReceived.milliseconds)),
        ]
        // RFC 5227 phases, only with conflict detection (--acd).
        var probeText = ""
        if let start = phases.probeStart, let end = phases.probeEnd, let announce = phases.announce {
            phaseFields += [("probe_start", .number(start.milliseconds)), ("probe_end", .number(end.milliseconds)),
                            ("announce", .number(announce.milliseconds))]
            probeText = String(format: ", probe %.1f-%.1f, announce %.1f", start.milliseconds, end.milliseconds, announce.milliseconds)
        }
        phaseFields.append(("bound", .number(phases.bound.milliseconds)))
        let fields: [(String, JSONValue)] = [
            ("address", .string("\(lease.address)")), ("prefix_length", .integer(Int64(lease.prefixLength))),
            ("router", lease.router.map { .string("\($0)") } ?? .null), ("server", .string("\(lease.server)")),
            ("dns", .array(lease.dnsServers.map { .string("\($0)") })),
            ("lease_seconds", .integer(lease.leaseTime.components.seconds)),
            ("phases_ms", .object(phaseFields)), ("elapsed_ms", .number(elapsed)),
        ]
        let human = String(format: "lease: %@/%d from %@, router %@, %lld s; DISCOVER %.1f ms, OFFER %.1f, REQUEST %.1f, ACK %.1f%@, bound %.1f (%.1f ms since start)",
                           "\(lease.address)", lease.prefixLength, "\(lease.server)", lease.router.map { "\($0)" } ?? "none",
                           lease.leaseTime.components.seconds, phases.discoverSent?.milliseconds ?? .nan, phases.offerReceived?.milliseconds ?? .nan,
                           phases.requestSent?.milliseconds ?? .nan, phases.ackReceived.milliseconds, probeText, phases.bound.milliseconds, elapsed)
        return EventLine("lease", fields, human: human)
    }

    static func pingLine(family: String = "ipv4", direction: String, target: String, sent: Int, received: Int,
                         average: Duration?) -> EventLine {
        let rtt = average.map { JSONValue.number(Self.milliseconds($0)) } ?? .null
        let human = "\(family == "ipv6" ? "ping6" : "ping") \(direction) \(target): \(received)/\(sent) replies" +
            (average.map { String(format: ", average %.3f ms", Self.milliseconds($0)) } ?? "")
        return EventLine("ping", [("family", .string(family)), ("direction", .string(direction)), ("target", .string(target)), ("ok", .bool(received > 0)),
                                  ("rtt_ms", rtt), ("sent", .integer(Int64(sent))), ("received", .integer(Int64(received)))],
                         human: human)
    }

    /// Releases the lease (RFC 2131 §4.4.6: a client that no longer needs its address tells the server),
    /// stops the machine and deletes what this session created. Safe to call twice.
    public func shutdown() {
        // Always asked when wanted: a lease whose event is not drained yet, or an ACKed one still PROBING, is not in
        // `boundIdentities` but is the guest's to release (the stacks know what they hold). A DHCPv6 binding is
        // released too (RFC 8415 §18.2.7), with or without an IPv4 lease.
        let holdsIPv6Lease = ipv6?.holdsDHCPv6Address == true
        if options.release, let machine {
            let timeout = .milliseconds(500) + max(.milliseconds(5), options.releaseSpacing * 2) * max(1, boundIdentities.count)
            if machine.release(timeout: timeout), !boundIdentities.isEmpty || holdsIPv6Lease {
                printer.note("tapvm: \(boundIdentities.count > 1 ? "\(boundIdentities.count) leases" : "lease") released")
            }
        } else if !options.release, !boundIdentities.isEmpty || holdsIPv6Lease {
            printer.note("tapvm: --no-release: the lease is kept")
        }
        boundIdentities.removeAll()
        lease = nil
        // An existing macvtap outlives the run: take the groups this run added off its filter.
        if createdMacvtap == nil { ipv6?.removeProgrammedGroups() }
        machine?.stop()
        if let machine { printer.note("tapvm: \(machine.countersSummary)") }
        machine = nil
        if let (lab, name) = createdMacvtap { lab.deleteMacvtap(name: name) }
        createdMacvtap = nil
        signals?.cancel()
        signals = nil
    }

    deinit { shutdown() }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
