import Wire

/// IPv4 Address Conflict Detection for one address: probe, announce, defend (RFC 5227), as a sans-IO state machine.
///
/// Made when a DHCPACK names a candidate address. `poll(now:)` returns the ARP packets due (broadcast them), `handle`
/// takes every received ARP packet and says whether it is a conflict, `nextDeadline` says when to poll next. It never
/// reads a clock; the random delays come from its own seeded generator.
///
/// Timeline (§2.1.1, §2.3): wait a random 0...PROBE_WAIT, send PROBE_NUM probes PROBE_MIN...PROBE_MAX apart, wait
/// ANNOUNCE_WAIT after the last probe; then the address is claimed (`claimedAt`) and ANNOUNCE_NUM announcements go
/// out ANNOUNCE_INTERVAL apart, the first at once. From the claim on, conflicts are defended per §2.4 (b).
public struct AddressConflictDetection: Sendable {
    // RFC 5227 §1.1, "Constants", with the RFC's names.
    /// Initial random delay before the first probe.
    public static let PROBE_WAIT: Duration = .seconds(1)
    /// Number of probe packets.
    public static let PROBE_NUM = 3
    /// Minimum delay until repeated probe.
    public static let PROBE_MIN: Duration = .seconds(1)
    /// Maximum delay until repeated probe.
    public static let PROBE_MAX: Duration = .seconds(2)
    /// Delay before announcing.
    public static let ANNOUNCE_WAIT: Duration = .seconds(2)
    /// Number of announcement packets.
    public static let ANNOUNCE_NUM = 2
    /// Time between announcement packets.
    public static let ANNOUNCE_INTERVAL: Duration = .seconds(2)
    /// Max conflicts before rate-limiting.
    public static let MAX_CONFLICTS = 10
    /// Delay between successive attempts once MAX_CONFLICTS is reached.
    public static let RATE_LIMIT_INTERVAL: Duration = .seconds(60)
    /// Minimum interval between defensive ARPs.
    public static let DEFEND_INTERVAL: Duration = .seconds(10)

    /// Where the address stands.
    public enum Phase: String, Sendable, Equatable {
        /// Before the first probe (the random 0...PROBE_WAIT delay).
        case waiting
        /// Probes being sent, and the ANNOUNCE_WAIT after the last one.
        case probing
        /// Claimed: announcing, then defending.
        case claimed
        /// A conflict while probing: the address must not be used.
        case conflicted
        /// A second conflict within DEFEND_INTERVAL after the claim: the address must be given up (§2.4 (b)).
        case abandoned
    }

    /// What a received ARP packet meant.
    public enum Verdict: Sendable, Equatable {
        /// Not about our address, or from our own MAC.
        case none
        /// Probing: another host uses or probes for the address (§2.1.1). Carries the other host's MAC.
        case conflict(MACAddress)
        /// Claimed: the first conflict in DEFEND_INTERVAL; one announcement is queued (§2.4 (b)).
        case defended(MACAddress)
        /// Claimed: a second conflict within DEFEND_INTERVAL; stop using the address now (§2.4 (b)).
        case abandon(MACAddress)
    }

    public let mac: MACAddress
    public let address: IPv4Address
    public private(set) var phase: Phase = .waiting
    /// When the first probe was sent.
    public private(set) var probeStart: Instant?
    /// When the last probe was sent.
    public private(set) var probeEnd: Instant?
    /// When the address was claimed (ANNOUNCE_WAIT after the last probe) and the first announcement sent.
    public private(set) var claimedAt: Instant?
    /// Probes and announcements sent so far.
    public private(set) var probesSent = 0
    public private(set) var announcementsSent = 0
    /// When the last conflict was defended (§2.4 (b) "recording the time").
    public private(set) var lastDefended: Instant?

    var random: SeededGenerator
    var deadline: Instant?
    /// A defensive announcement waiting for the next poll.
    var defensePending = false

    /// Starts checking `address` at `now`: the first probe is due after a random 0...PROBE_WAIT (§2.1.1).
    public init(mac: MACAddress, address: IPv4Address, now: Instant, random: SeededGenerator) {
        self.mac = mac
        self.address = address
        self.random = random
        deadline = now + self.random.duration(in: .zero ... Self.PROBE_WAIT)
    }

    /// The earliest instant `poll(now:)` has work; nil when nothing is scheduled (done announcing, or given up).
    public var nextDeadline: Instant? { defensePending ? .boot : deadline }

    /// An ARP Probe: a broadcast request with sender IP 0.0.0.0 and the candidate as target (§1.1, §2.1.1).
    public var probe: ARPMessage {
        ARPMessage(operation: .request, senderHardwareAddress: mac, senderProtocolAddress: .any,
                   targetHardwareAddress: .zero, targetProtocolAddress: address)
    }

    /// An ARP Announcement: a broadcast request with sender and target IP both our address (§2.3).
    public var announcement: ARPMessage {
        ARPMessage(operation: .request, senderHardwareAddress: mac, senderProtocolAddress: address,
                   targetHardwareAddress: .zero, targetProtocolAddress: address)
    }

    /// The probes, announcements and defensive announcement due at `now`, in order.
    public mutating func poll(now: Instant) -> [ARPMessage] {
        var out: [ARPMessage] = []
        if defensePending {
            defensePending = false
            out.append(announcement)
        }
        var steps = 0
        while let due = deadline, due <= now, steps < 8 {
            steps += 1
            switch phase {
            case .waiting, .probing:
                if probesSent < Self.PROBE_NUM {
                    if probesSent == 0 { probeStart = now; phase = .probing }
                    out.append(probe)
                    probesSent += 1
                    if probesSent == Self.PROBE_NUM {
                        probeEnd = now
                        deadline = now + Self.ANNOUNCE_WAIT
                    } else {
                        deadline = now + random.duration(in: Self.PROBE_MIN ... Self.PROBE_MAX)
                    }
                } else {
                    phase = .claimed
                    claimedAt = now
                    out.append(announcement)
                    announcementsSent = 1
                    deadline = announcementsSent < Self.ANNOUNCE_NUM ? now + Self.ANNOUNCE_INTERVAL : nil
                }
            case .claimed:
                out.append(announcement)
                announcementsSent += 1
                deadline = announcementsSent < Self.ANNOUNCE_NUM ? now + Self.ANNOUNCE_INTERVAL : nil
            case .conflicted, .abandoned:
                deadline = nil
            }
        }
        return out
    }

    /// Classifies one received ARP packet (request or reply). A packet whose sender hardware address is our own MAC
    /// is never a conflict (our own probe or announcement looped back).
    ///
    /// Before the claim (§2.1.1): a packet whose sender IP is the candidate, or a probe (sender IP 0.0.0.0, a request)
    /// for the candidate from another MAC, is a conflict. After the claim (§2.4): a packet whose sender IP is our
    /// address from another MAC is a conflict; the first in DEFEND_INTERVAL is defended with one announcement, a
    /// second within DEFEND_INTERVAL of the defended one abandons the address.
    public mutating func handle(_ packet: ARPMessage, now: Instant) -> Verdict {
        let sender = packet.senderHardwareAddress
        guard sender != mac else { return .none }
        switch phase {
        case .waiting, .probing:
            let usesAddress = packet.senderProtocolAddress == address
            let probesAddress = packet.operation == .request && packet.senderProtocolAddress.isUnspecified
                && packet.targetProtocolAddress == address
            guard usesAddress || probesAddress else { return .none }
            phase = .conflicted
            deadline = nil
            return .conflict(sender)
        case .claimed:
            guard packet.senderProtocolAddress == address else { return .none }
            if let lastDefended, now - lastDefended < Self.DEFEND_INTERVAL {
                phase = .abandoned
                deadline = nil
                defensePending = false
                return .abandon(sender)
            }
            lastDefended = now
            defensePending = true
            return .defended(sender)
        case .conflicted, .abandoned:
            return .none
        }
    }
}
