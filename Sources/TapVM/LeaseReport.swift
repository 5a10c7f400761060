import Foundation
import Guest
import Wire

/// What `tapvm lease` learned about each identity, and the lines it prints: one `lease` line per identity and a
/// `lease-summary` in the style of ISC perfdhcp (sent, received, drops, NAKs, declines, min/avg/max/stddev per
/// phase, leases per second). Used on the main thread only.
final class LeaseReport {
    struct Identity {
        var mac: MACAddress
        var lease: DHCPLease?
        var phases: DHCPPhaseTimes?
        /// The DHCP client's state (RFC 2131 Figure 5), or WAITING for an identity not started yet (`--parallel`).
        var state = "WAITING"
        var naks = 0
        var declines = 0
        var retransmissions = 0
        var sent = 0
        var received = 0
        var drops = 0
        /// The last renewal: when RENEWING began, whether it went on to REBINDING, and when BOUND again.
        var renewStart: Instant?
        var rebound = false
        var renewedAt: Instant?
        var renewals = 0
        var lastLoss: String?
    }

    let requested: Int
    var identities: [Identity]
    /// `--client-id HEX`, the key of the lease file.
    var clientIdentifier: [UInt8]?
    var hostnames: [String?] = []
    /// The guest's boot on the process clock, in milliseconds since the process started (for `elapsed_ms`).
    let bootMilliseconds: Double

    init(macs: [MACAddress], requested: Int, bootMilliseconds: Double = 0) {
        self.requested = requested
        identities = macs.map { Identity(mac: $0) }
        self.bootMilliseconds = bootMilliseconds
    }

    var boundCount: Int { identities.count { $0.lease != nil } }

    /// Whether every identity is bound (and, with `renew`, renewed once).
    func isComplete(renew: Bool) -> Bool {
        !identities.isEmpty && identities.allSatisfy { $0.lease != nil && (!renew || $0.renewals > 0) }
    }

    func apply(_ event: StackEvent, identity index: Int) {
        switch event {
        case let .dhcp(transition):
            identities[index].state = transition.to.rawValue
            switch (transition.from, transition.to) {
            case (.bound, .renewing):
                identities[index].renewStart = transition.at
                identities[index].rebound = false
                identities[index].renewedAt = nil
            case (.renewing, .rebinding):
                identities[index].rebound = true
            case (.renewing, .bound), (.rebinding, .bound):
                identities[index].renewedAt = transition.at
            default:
                break
            }
        case let .leaseBound(lease, phases):
            identities[index].lease = lease
            identities[index].phases = phases
            identities[index].retransmissions = phases.retransmissions
        case let .leaseRenewed(lease):
            identities[index].lease = lease
            identities[index].renewals += 1
        case let .leaseLost(reason):
            identities[index].lease = nil
            identities[index].lastLoss = reason
        case .dhcpNAK:
            identities[index].naks += 1
        case .addressDeclined:
            identities[index].declines += 1
        default:
            break
        }
    }

    func apply(_ states: [IdentityState]) {
        for (index, state) in zip(identities.indices, states) {
            identities[index].state = state.state
            identities[index].sent = state.sent
            identities[index].received = state.received
            identities[index].drops = state.drops
            identities[index].retransmissions = state.retransmissions
            identities[index].naks = state.naks
            identities[index].declines = state.declines
        }
    }

    /// Why not every identity finished, in one line.
    func shortfall(renew: Bool, timeout: Duration) -> String {
        let seconds = timeout.components.seconds
        var byState: [String: Int] = [:]
        for identity in identities where identity.lease == nil { byState[identity.state, default: 0] += 1 }
        let states = byState.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        var line = "\(boundCount) of \(requested) identities bound within \(seconds) s"
        if !states.isEmpty { line += " (unbound: \(states))" }
        if byState["SELECTING"] != nil { line += "; no OFFER for some: is the server's pool exhausted?" }
        if renew {
            let renewed = identities.count { $0.renewals > 0 }
            if renewed < identities.count { line += "; \(renewed) renewed" }
        }
        return line
    }

    // MARK: Lines

    static func milliseconds(_ instant: Instant?) -> JSONValue {
        instant.map { .number($0.milliseconds) } ?? .null
    }

    func leaseLine(_ index: Int, lease: DHCPLease, phases: DHCPPhaseTimes, session: GuestSession) -> EventLine {
        let identity = identities[index]
        var line = session.leaseLine(lease, phases: phases)
        line.fields.insert(("mac", .string("\(identity.mac)")), at: 0)
        line.fields.append(("state", .string(identity.state)))
        line.fields.append(("retransmissions", .integer(Int64(identity.retransmissions))))
        line.human = "\(identity.mac) " + line.human
        return line
    }

    /// The renewal of an identity: how long from entering RENEWING to BOUND, and whether it had to rebind.
    func renewLine(_ index: Int) -> EventLine? {
        let identity = identities[index]
        guard let lease = identity.lease else { return nil }
        let took = zip2(identity.renewStart, identity.renewedAt).map { GuestSession.milliseconds($1 - $0) }
        let how = identity.rebound ? "REBINDING" : "RENEWING"
        return EventLine("renewed", [
            ("mac", .string("\(identity.mac)")), ("address", .string("\(lease.address)")),
            ("lease_seconds", .integer(lease.leaseTime.components.seconds)), ("via", .string(how)),
            ("renew_start_ms", Self.milliseconds(identity.renewStart)), ("bound_ms", Self.milliseconds(identity.renewedAt)),
            ("took_ms", took.map { .number($0) } ?? .null),
        ], human: "\(identity.mac) renewed \(lease.address) for \(lease.leaseTime.components.seconds) s via \(how)" +
            (took.map { String(format: " in %.1f ms", $0) } ?? ""))
    }

    /// The line of an identity that got no lease.
    func unboundLine(_ index: Int) -> EventLine {
        let identity = identities[index]
        return EventLine("lease", [
            ("mac", .string("\(identity.mac)")), ("address", .null), ("state", .string(identity.state)),
            ("retransmissions", .integer(Int64(identity.retransmissions))), ("naks", .integer(Int64(identity.naks))),
            ("reason", identity.lastLoss.map { .string($0) } ?? .null),
        ], human: "\(identity.mac) no lease (still \(identity.state), \(identity.sent) DHCP messages sent, " +
            "\(identity.received) received, \(identity.naks) NAKs)")
    }

    /// Min, average, max and standard deviation (population) of `values`.
    struct Statistics {
        var minimum: Double
        var average: Double
        var maximum: Double
        var standardDeviation: Double

        init?(_ values: [Double]) {
            guard let minimum = values.min(), let maximum = values.max() else { return nil }
            self.minimum = minimum
            self.maximum = maximum
            average = values.reduce(0, +) / Double(values.count)
            let average = self.average
            standardDeviation = (values.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(values.count)).squareRoot()
        }

        var json: JSONValue {
            .object([("min", .number(minimum)), ("avg", .number(average)), ("max", .number(maximum)),
                     ("stddev", .number(standardDeviation))])
        }
    }

    /// The phases of the first exchange, per identity, in milliseconds (perfdhcp's "Delay" rows).
    func phaseStatistics() -> [(name: String, statistics: Statistics)] {
        let phases = identities.compactMap(\.phases)
        func row(_ name: String, _ from: (DHCPPhaseTimes) -> Instant?, _ to: (DHCPPhaseTimes) -> Instant?) -> (String, Statistics)? {
            let values = phases.compactMap { phase in zip2(from(phase), to(phase)).map { GuestSession.milliseconds($1 - $0) } }
            return Statistics(values).map { (name, $0) }
        }
        return [
            row("discover-offer", { $0.discoverSent }, { $0.offerReceived }),
            row("offer-request", { $0.offerReceived }, { $0.requestSent }),
            row("request-ack", { $0.requestSent }, { $0.ackReceived }),
            row("ack-probe", { $0.ackReceived }, { $0.probeStart }),
            row("probe", { $0.probeStart }, { $0.probeEnd }),
            row("probe-announce", { $0.probeEnd }, { $0.announce }),
            row("ack-bound", { $0.ackReceived }, { $0.bound }),
            row("start-bound", { Self.start(of: $0) }, { $0.bound }),
        ].compactMap { $0 }
    }

    /// The first message of the exchange: the DISCOVER, else the REQUEST (INIT-REBOOT), else the ACK.
    static func start(of phases: DHCPPhaseTimes) -> Instant? {
        let discover: Instant? = phases.discoverSent
        let request: Instant? = phases.requestSent
        return discover ?? request ?? phases.ackReceived
    }

    /// Bound identities per second, from the first message of the first exchange to the last bind.
    var leasesPerSecond: Double? {
        let phases = identities.compactMap(\.phases)
        guard let first = phases.compactMap(Self.start(of:)).min(), let last = phases.map(\.bound).max() else { return nil }
        let seconds = Double((last - first).nanoseconds) / 1e9
        return seconds > 0 ? Double(phases.count) / seconds : nil
    }

    func summaryLine(ok: Bool, error: String?, elapsedMilliseconds: Double) -> EventLine {
        let sent = identities.map(\.sent).reduce(0, +)
        let received = identities.map(\.received).reduce(0, +)
        let drops = identities.map(\.drops).reduce(0, +)
        let retransmissions = identities.map(\.retransmissions).reduce(0, +)
        let naks = identities.map(\.naks).reduce(0, +)
        let declines = identities.map(\.declines).reduce(0, +)
        let renewed = identities.count { $0.renewals > 0 }
        let statistics = phaseStatistics()
        let rate = leasesPerSecond
        var fields: [(String, JSONValue)] = [
            ("ok", .bool(ok)), ("requested", .integer(Int64(requested))), ("bound", .integer(Int64(boundCount))),
            ("renewed", .integer(Int64(renewed))), ("naks", .integer(Int64(naks))), ("declines", .integer(Int64(declines))),
            ("leases_per_second", rate.map { .number($0) } ?? .null),
            ("sent", .integer(Int64(sent))), ("received", .integer(Int64(received))), ("drops", .integer(Int64(drops))),
            ("retransmissions", .integer(Int64(retransmissions))),
            ("phases_ms", .object(statistics.map { ($0.name, $0.statistics.json) })),
            ("elapsed_ms", .number(elapsedMilliseconds)),
        ]
        if let error { fields.append(("error", .string(error))) }
        var human = ["lease summary: \(ok ? "ok" : "FAILED"): requested \(requested), bound \(boundCount), renewed \(renewed), NAKs \(naks), declines \(declines)",
                     "DHCP messages: sent \(sent), received \(received), drops \(drops), retransmissions \(retransmissions)"]
        if !statistics.isEmpty {
            func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            human.append(pad("phase (ms)", 16) + ["min", "avg", "max", "stddev"].map { String(repeating: " ", count: 10 - $0.count) + $0 }.joined())
            for (name, s) in statistics {
                human.append(pad(name, 16) + String(format: "%10.3f%10.3f%10.3f%10.3f", s.minimum, s.average, s.maximum, s.standardDeviation))
            }
        }
        human.append(rate.map { String(format: "leases per second: %.1f", $0) } ?? "leases per second: -")
        if let error { human.append("tapvm: \(error)") }
        return EventLine("lease-summary", fields, human: human.joined(separator: "\n"))
    }
}

/// Both values, or nil.
func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
