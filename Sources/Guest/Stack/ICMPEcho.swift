import Wire

/// The pinger: echo request sessions to targets, matched replies, timeouts (RFC 792, the echo of `ping(8)`).
///
/// Sans-IO: `start` opens a session, `poll(now:)` says which requests to send and which ones timed out, `match`
/// pairs an echo reply with its request by identifier and sequence number.
public struct ICMPEcho: Sendable {
    /// Time between two requests of one session.
    public var interval: Duration
    /// How long a request waits for its reply.
    public var timeout: Duration
    /// Bytes of payload after the 8-byte ICMP header (ping's default: 56).
    public var payloadLength = 56

    struct Session: Sendable {
        var target: IPv4Address
        var identifier: UInt16
        var count: Int
        var sent = 0
        var received = 0
        var nextSend: Instant
        var outstanding: [UInt16: Instant] = [:]
    }

    /// An echo request to send now.
    public struct Request: Sendable, Equatable {
        public var target: IPv4Address
        public var message: ICMPv4Message
    }

    var sessions: [Session] = []

    public init(interval: Duration = .seconds(1), timeout: Duration = .seconds(1)) {
        self.interval = interval
        self.timeout = timeout
    }

    /// Whether any session is running.
    public var isActive: Bool { !sessions.isEmpty }

    /// Opens a session of `count` requests to `target`, the first due at `now`. Sequence numbers start at 1.
    public mutating func start(target: IPv4Address, count: Int, identifier: UInt16, now: Instant) {
        sessions.append(Session(target: target, identifier: identifier, count: max(count, 0), nextSend: now))
    }

    /// The requests due and the events (timeouts, finished sessions) at `now`.
    public mutating func poll(now: Instant) -> (requests: [Request], events: [StackEvent]) {
        var requests: [Request] = []
        var events: [StackEvent] = []
        for index in sessions.indices {
            // Timeouts first, so a reply window that closes at the same instant a new request opens is reported
            // in time order.
            for (sequence, sentAt) in sessions[index].outstanding.sorted(by: { $0.key < $1.key }) where sentAt + timeout <= now {
                sessions[index].outstanding[sequence] = nil
                events.append(.pingTimeout(target: sessions[index].target, sequence: sequence))
            }
            if sessions[index].sent < sessions[index].count, sessions[index].nextSend <= now {
                sessions[index].sent += 1
                let sequence = UInt16(truncatingIfNeeded: sessions[index].sent)
                sessions[index].outstanding[sequence] = now
                sessions[index].nextSend = now + interval
                requests.append(Request(target: sessions[index].target,
                                        message: .echoRequest(identifier: sessions[index].identifier,
                                                              sequenceNumber: sequence, payload: payload(sentAt: now))))
            }
        }
        sessions.removeAll { session in
            guard session.sent >= session.count, session.outstanding.isEmpty else { return false }
            events.append(.pingsFinished(target: session.target, sent: session.sent, received: session.received))
            return true
        }
        return (requests, events)
    }

    /// Ends every session now (our address is gone): each reports `pingsFinished` with what it sent and received
    /// so far; outstanding requests are abandoned, not reported as timeouts.
    public mutating func stopAll() -> [StackEvent] {
        defer { sessions.removeAll() }
        return sessions.map { .pingsFinished(target: $0.target, sent: $0.sent, received: $0.received) }
    }

    /// Pairs an echo reply from `source` with an outstanding request; nil when none matches (late or foreign).
    /// A finished session reports `pingsFinished` at the next `poll`.
    public mutating func match(source: IPv4Address, identifier: UInt16, sequence: UInt16, now: Instant) -> StackEvent? {
        guard let index = sessions.firstIndex(where: { $0.identifier == identifier && $0.target == source }),
              let sentAt = sessions[index].outstanding.removeValue(forKey: sequence) else { return nil }
        sessions[index].received += 1
        return .pingReply(target: source, sequence: sequence, roundTrip: now - sentAt)
    }

    /// The earliest send or timeout; a session whose last reply came in is due at once (to report it finished).
    public var nextDeadline: Instant? {
        sessions.compactMap { session -> Instant? in
            var times = session.outstanding.values.map { $0 + timeout }
            if session.sent < session.count { times.append(session.nextSend) }
            if times.isEmpty { return .boot }
            return times.min()
        }.min()
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
