/// The family-independent core of a pinger: echo sessions to targets, matched replies, timeouts (RFC 792 and
/// RFC 4443 §4 share the echo's identifier and sequence number; `ping(8)` and `ping6` behave alike).
///
/// Sans-IO: `start` opens a session, `poll(now:)` says which requests to send and what happened, `match` pairs a
/// reply with its request by source, identifier and sequence number. `ICMPEcho` (IPv4) and the IPv6 pinger of
/// `IPv6State` wrap it and turn its outcomes into their events.
public struct EchoSessions<Target: Hashable & Sendable>: Sendable {
    /// Time between two requests of one session.
    public var interval: Duration
    /// How long a request waits for its reply.
    public var timeout: Duration
    /// Bytes of payload after the 8-byte ICMP header (ping's default: 56).
    public var payloadLength = 56

    /// What happened to a session.
    public enum Outcome: Sendable, Equatable {
        case reply(target: Target, sequence: UInt16, roundTrip: Duration)
        case timeout(target: Target, sequence: UInt16)
        case finished(target: Target, sent: Int, received: Int)
    }

    /// An echo request to send now.
    public struct Request: Sendable, Equatable {
        public var target: Target
        public var identifier: UInt16
        public var sequenceNumber: UInt16
        public var payload: [UInt8]
    }

    struct Session: Sendable {
        var target: Target
        var identifier: UInt16
        var count: Int
        var sent = 0
        var received = 0
        var nextSend: Instant
        var outstanding: [UInt16: Instant] = [:]
    }

    var sessions: [Session] = []

    public init(interval: Duration = .seconds(1), timeout: Duration = .seconds(1)) {
        self.interval = interval
        self.timeout = timeout
    }

    /// Whether any session is running.
    public var isActive: Bool { !sessions.isEmpty }

    /// Opens a session of `count` requests to `target`, the first due at `now`. Sequence numbers start at 1.
    public mutating func start(target: Target, count: Int, identifier: UInt16, now: Instant) {
        sessions.append(Session(target: target, identifier: identifier, count: max(count, 0), nextSend: now))
    }

    /// The requests due and the outcomes (timeouts, finished sessions) at `now`.
    public mutating func poll(now: Instant) -> (requests: [Request], outcomes: [Outcome]) {
        var requests: [Request] = []
        var outcomes: [Outcome] = []
        for index in sessions.indices {
            // Timeouts first, so a reply window that closes at the same instant a new request opens is reported
            // in time order.
            for (sequence, sentAt) in sessions[index].outstanding.sorted(by: { $0.key < $1.key }) where sentAt + timeout <= now {
                sessions[index].outstanding[sequence] = nil
                outcomes.append(.timeout(target: sessions[index].target, sequence: sequence))
            }
            if sessions[index].sent < sessions[index].count, sessions[index].nextSend <= now {
                sessions[index].sent += 1
                let sequence = UInt16(truncatingIfNeeded: sessions[index].sent)
                sessions[index].outstanding[sequence] = now
                sessions[index].nextSend = now + interval
                requests.append(Request(target: sessions[index].target, identifier: sessions[index].identifier,
                                        sequenceNumber: sequence, payload: payload(sentAt: now)))
            }
        }
        sessions.removeAll { session in
            guard session.sent >= session.count, session.outstanding.isEmpty else { return false }
            outcomes.append(.finished(target: session.target, sent: session.sent, received: session.received))
            return true
        }
        return (requests, outcomes)
    }

    /// Ends every session now: each reports `finished` with what it sent and received so far; outstanding
    /// requests are abandoned, not reported as timeouts.
    public mutating func stopAll() -> [Outcome] {
        defer { sessions.removeAll() }
        return sessions.map { .finished(target: $0.target, sent: $0.sent, received: $0.received) }
    }

    /// Pairs a reply from `source` with an outstanding request; nil when none matches (late or foreign).
    /// A finished session reports `finished` at the next `poll`.
    public mutating func match(source: Target, identifier: UInt16, sequence: UInt16, now: Instant) -> Outcome? {
        guard let index = sessions.firstIndex(where: { $0.identifier == identifier && $0.target == source }),
              let sentAt = sessions[index].outstanding.removeValue(forKey: sequence) else { return nil }
        sessions[index].received += 1
        return .reply(target: source, sequence: sequence, roundTrip: now - sentAt)
    }

    /// The earliest send or timeout; a session whose last reply came in is due at once (to report it finished).
    public var nextDeadline: Instant? {
        var earliest: Instant?
        for session in sessions {
            var times: Instant?
            for sentAt in session.outstanding.values { times = times.earliest(sentAt + timeout) }
            if session.sent < session.count { times = times.earliest(session.nextSend) }
            earliest = earliest.earliest(times ?? .boot)
        }
        return earliest
    }

    /// 8 bytes of the send time (nanoseconds since boot, big-endian) then a counting pattern, like ping(8).
    func payload(sentAt: Instant) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(payloadLength, 8))
        bytes.withUnsafeMutableBytes { buffer in
            buffer.storeBigEndian(UInt64(bitPattern: sentAt.nanoseconds), at: 0)
            for index in 8 ..< buffer.count { buffer[index] = UInt8(truncatingIfNeeded: 0x10 + index - 8) }
        }
        return Array(bytes.prefix(max(payloadLength, 0)))
    }
}
