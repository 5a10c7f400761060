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
        do throws(TapVMError) {
            // The scan for other holders of the macvtap runs while the machine is built and boots.
            let (tap, holderCheck) = try attach()
            var configuration = MachineConfiguration(seed: generator.next(), hostname: options.hostname,
                                                     pingTargets: options.pingTargets, pingCount: options.pingCount)
            configuration.pcapPath = options.pcapPath
            configuration.pcapPoint = options.pcapPoint
            configuration.pcapLimitMegabytes = options.pcapLimitMegabytes
            configuration.recordedSeed = seed
            configuration.pingInterval = options.pingInterval
            configuration.identities = options.identities?(tap.mac) ?? []
            configuration.parallel = options.parallel
            configuration.spacing = options.spacing
            configuration.releaseSpacing = options.releaseSpacing
            let machine = try Machine(tap: tap, configuration: configuration) { identity, event in mailbox.post(.stack(identity, event)) }
            self.machine = machine
            mac = machine.mac
            try machine.start()
            // Before any line about what the guest learned: a shared device splits its traffic (MACVTAP-FACTS
            // §6). The guest may already have sent a DISCOVER on it; the run ends here all the same.
            do throws(TapError) { try holderCheck?.wait() } catch { throw TapVMError.tap(error) }
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

    /// Opens the card and starts the scan for other holders of it (nil for an adopted fd, which is not checked).
    private func attach() throws(TapVMError) -> (TapDevice, TapHolderCheck?) {
        let tap: TapDevice
        var holderCheck: TapHolderCheck?
        do {
            switch options.attachment {
            case let .interface(name, netns):
                (tap, holderCheck) = try TapDevice.openCheckingHoldersInBackground(interface: name, netns: netns)
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
                (tap, holderCheck) = try TapDevice.openCheckingHoldersInBackground(interface: interface,
                                                                                  netns: lab.clientNamespace)
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
        return (tap, holderCheck)
    }

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
            printer.print(pingLine(direction: "guest-to-lan", target: "\(target)", sent: sent, received: received, average: average))
        case .dhcp, .dhcpNAK, .addressDeclined, .conflictDefended, .ipv6OnlyPreferred:
            break
        case .ipv6:
            break  // IPv6 reporting is the lead's (issue 5): addresses, routers, multicast groups, ping6
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

    func pingLine(direction: String, target: String, sent: Int, received: Int, average: Duration?) -> EventLine {
        let rtt = average.map { JSONValue.number(Self.milliseconds($0)) } ?? .null
        let human = "ping \(direction) \(target): \(received)/\(sent) replies" +
            (average.map { String(format: ", average %.3f ms", Self.milliseconds($0)) } ?? "")
        return EventLine("ping", [("direction", .string(direction)), ("target", .string(target)), ("ok", .bool(received > 0)),
                                  ("rtt_ms", rtt), ("sent", .integer(Int64(sent))), ("received", .integer(Int64(received)))],
                         human: human)
    }

    /// Releases the lease (RFC 2131 §4.4.6: a client that no longer needs its address tells the server),
    /// stops the machine and deletes what this session created. Safe to call twice.
    public func shutdown() {
        if options.release, !boundIdentities.isEmpty, let machine {
            let timeout = .milliseconds(500) + max(.milliseconds(5), options.releaseSpacing * 2) * boundIdentities.count
            if machine.release(timeout: timeout) {
                printer.note("tapvm: \(boundIdentities.count == 1 ? "lease" : "\(boundIdentities.count) leases") released")
            }
        } else if !options.release, !boundIdentities.isEmpty {
            printer.note("tapvm: --no-release: the lease is kept")
        }
        boundIdentities.removeAll()
        lease = nil
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
