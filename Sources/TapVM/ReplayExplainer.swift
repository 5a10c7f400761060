import Capture
import Guest
import Wire

/// Turns a replay step into one line: "frame 3 t+12.345ms DHCPOFFER xid 0x1a2b3c4d 198.51.100.61: ignored, not
/// ours (wrong xid)", "frame 5 ... ARP request for 198.51.100.61 from 198.51.100.1: answered with ARP reply ...".
///
/// What the stack did is read from what changed during the step: its drop counters (by `DropReason`), its events
/// and the frames it sent; the stack itself needs no hook.
public enum ReplayExplainer {
    /// The event line for `step` (`event: "explain"`; human: one sentence).
    public static func line(for step: ReplayStep) -> EventLine {
        let time = String(format: "t+%.3fms", step.instant.milliseconds)
        let outcome = outcome(of: step)
        var fields: [(String, JSONValue)] = []
        let subject: String
        switch step.cause {
        case let .delivered(index), let .skipped(index, _):
            fields.append(("frame", .integer(Int64(index))))
            subject = "frame \(index) \(time) \(step.input?.summary ?? "frame")"
        case .timer:
            fields.append(("frame", .null))
            subject = "\(time) timer"
        case .release:
            fields.append(("frame", .null))
            subject = "\(time) shutdown"
        }
        fields += [("time_ms", .number(step.instant.milliseconds)), ("input", step.input.map { .string($0.summary) } ?? .null),
                   ("outcome", .string(outcome)), ("sent", .array(step.sent.map { .string(FrameFields($0).summary) }))]
        return EventLine("explain", fields, human: "\(subject): \(outcome)")
    }

    /// What the stack did, in words.
    public static func outcome(of step: ReplayStep) -> String {
        if case let .skipped(_, reason) = step.cause { return "skipped, \(reason)" }
        var parts: [String] = []
        let answers = step.sent.map { FrameFields($0) }
        if !step.drops.isEmpty {
            let reasons = step.drops.keys.sorted { $0.rawValue < $1.rawValue }.map(phrase)
            parts.append("ignored, " + reasons.joined(separator: "; "))
        }
        for event in step.events { parts.append(describe(event)) }
        if !answers.isEmpty {
            let verb: String
            if case .delivered = step.cause, answersRequest(input: step.input, answers: answers) {
                verb = "answered with"
            } else {
                verb = "sent"
            }
            parts.append("\(verb) " + answers.map(\.summary).joined(separator: ", "))
        }
        if parts.isEmpty {
            switch step.cause {
            case .delivered: return "accepted, nothing to send"
            case .release: return "nothing to release"
            default: return "nothing due"
            }
        }
        return parts.joined(separator: "; ")
    }

    static func answersRequest(input: FrameFields?, answers: [FrameFields]) -> Bool {
        guard let input else { return false }
        switch input.kind {
        case "ARP request": return answers.contains { $0.kind == "ARP reply" }
        case "ICMP echo request": return answers.contains { $0.kind == "ICMP echo reply" }
        default: return answers.contains { $0.kind.hasPrefix("ICMP destination unreachable") }
        }
    }

    /// A drop reason as a person says it ("DHCP wrong xid" -> "not ours (wrong xid)").
    static func phrase(_ reason: DropReason) -> String {
        switch reason {
        case .dhcpWrongTransaction: "not ours (wrong xid)"
        case .dhcpWrongHardwareAddress: "not ours (wrong chaddr)"
        case .arpNotForUs: "not for us (we do not hold the target address)"
        case .ipv4NotForUs: "not for us (another IPv4 destination)"
        case .notOurMAC: "not our MAC"
        case .dhcpUnexpected: "unexpected in this DHCP state"
        default: reason.rawValue
        }
    }

    static func describe(_ event: StackEvent) -> String {
        switch event {
        case let .dhcp(transition): "\(transition)"
        case let .leaseBound(lease, _):
            "lease bound \(lease.address)/\(lease.prefixLength) from \(lease.server) for \(lease.leaseTime.components.seconds) s"
        case let .leaseRenewed(lease): "lease renewed \(lease.address) for \(lease.leaseTime.components.seconds) s"
        case let .leaseLost(reason): "lease lost (\(reason))"
        case let .dhcpNAK(state, server, message):
            "DHCPNAK in \(state) from \(server.map { "\($0)" } ?? "unknown server")" + (message.map { ": \(FrameFields.printable($0))" } ?? "")
        case let .addressDeclined(address, reason): "declined \(address) (\(reason))"
        case let .conflictDefended(address, by): "defended \(address) against \(by)"
        case let .ipv6OnlyPreferred(wait): "IPv6-only preferred: DHCPv4 paused for \(wait.components.seconds) s"
        case let .pingReply(target, sequence, roundTrip):
            String(format: "echo reply from %@ seq %d, %.3f ms", "\(target)", Int(sequence), Double(roundTrip.nanoseconds) / 1e6)
        case let .pingTimeout(target, sequence): "echo request to \(target) seq \(sequence) timed out"
        case let .pingsFinished(target, sent, received): "pings to \(target) done: \(received)/\(sent) replies"
        case let .dhcpv6(transition): "\(transition)"
        case let .dhcpv6Configuration(dnsServers, domainList):
            "DHCPv6 configuration: DNS \(dnsServers.map { "\($0)" }.joined(separator: ", "))" +
                (domainList.isEmpty ? "" : ", search \(domainList.joined(separator: ", "))")
        case let .ipv6(event): describe(event)
        }
    }

    /// An IPv6 event in words ("address 2001:db8:1::62/64 (slaac) preferred", "router fe80::1 lifetime 1800 s").
    static func describe(_ event: IPv6Event) -> String {
        switch event {
        case let .address(info): "address \(info.address)/\(info.prefixLength) (\(info.origin.rawValue)) \(info.state.rawValue)"
        case let .disabled(reason): "IPv6 disabled: \(reason)"
        case let .router(router):
            "router \(router.address) lifetime \(router.lifetime.components.seconds) s M=\(router.managed ? 1 : 0) O=\(router.other ? 1 : 0)" +
                (router.dnsServers.isEmpty ? "" : " DNS \(router.dnsServers.map { "\($0)" }.joined(separator: ","))")
        case let .routerRemoved(address): "router \(address) removed"
        case let .multicastGroups(groups): "groups \(groups.map { "\($0)" }.joined(separator: ", "))"
        case let .configurationFlags(managed, other): "M=\(managed ? 1 : 0) O=\(other ? 1 : 0)"
        case let .pingReply(target, sequence, roundTrip):
            String(format: "echo reply from %@ seq %d, %.3f ms", "\(target)", Int(sequence), Double(roundTrip.nanoseconds) / 1e6)
        case let .pingTimeout(target, sequence): "echo request to \(target) seq \(sequence) timed out"
        case let .pingsFinished(target, sent, received): "pings to \(target) done: \(received)/\(sent) replies"
        }
    }
}
