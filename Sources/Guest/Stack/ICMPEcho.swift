import Wire

/// The IPv4 pinger: echo request sessions to targets, matched replies, timeouts (RFC 792, the echo of `ping(8)`).
///
/// Sans-IO, over the family-independent `EchoSessions`: `start` opens a session, `poll(now:)` says which requests
/// to send and which ones timed out, `match` pairs an echo reply with its request by identifier and sequence number.
public struct ICMPEcho: Sendable {
    var core: EchoSessions<IPv4Address>

    /// Time between two requests of one session.
    public var interval: Duration {
        get { core.interval }
        set { core.interval = newValue }
    }
    /// How long a request waits for its reply.
    public var timeout: Duration {
        get { core.timeout }
        set { core.timeout = newValue }
    }
    /// Bytes of payload after the 8-byte ICMP header (ping's default: 56).
    public var payloadLength: Int {
        get { core.payloadLength }
        set { core.payloadLength = newValue }
    }

    /// An echo request to send now.
    public struct Request: Sendable, Equatable {
        public var target: IPv4Address
        public var message: ICMPv4Message
    }

    public init(interval: Duration = .seconds(1), timeout: Duration = .seconds(1)) {
        core = EchoSessions(interval: interval, timeout: timeout)
    }

    /// Whether any session is running.
    public var isActive: Bool { core.isActive }

    /// Opens a session of `count` requests to `target`, the first due at `now`. Sequence numbers start at 1.
    public mutating func start(target: IPv4Address, count: Int, identifier: UInt16, now: Instant) {
        core.start(target: target, count: count, identifier: identifier, now: now)
    }

    /// The requests due and the events (timeouts, finished sessions) at `now`.
    public mutating func poll(now: Instant) -> (requests: [Request], events: [StackEvent]) {
        let (requests, outcomes) = core.poll(now: now)
        return (requests.map { request in
            Request(target: request.target, message: .echoRequest(identifier: request.identifier,
                                                                  sequenceNumber: request.sequenceNumber,
                                                                  payload: request.payload))
        }, outcomes.map(Self.event))
    }

    /// Ends every session now (our address is gone): each reports `pingsFinished` with what it sent and received
    /// so far; outstanding requests are abandoned, not reported as timeouts.
    public mutating func stopAll() -> [StackEvent] { core.stopAll().map(Self.event) }

    /// Pairs an echo reply from `source` with an outstanding request; nil when none matches (late or foreign).
    /// A finished session reports `pingsFinished` at the next `poll`.
    public mutating func match(source: IPv4Address, identifier: UInt16, sequence: UInt16, now: Instant) -> StackEvent? {
        core.match(source: source, identifier: identifier, sequence: sequence, now: now).map(Self.event)
    }

    /// The earliest send or timeout; a session whose last reply came in is due at once (to report it finished).
    public var nextDeadline: Instant? { core.nextDeadline }

    /// 8 bytes of the send time (nanoseconds since boot, big-endian) then a counting pattern, like ping(8).
    func payload(sentAt: Instant) -> [UInt8] { core.payload(sentAt: sentAt) }

    static func event(_ outcome: EchoSessions<IPv4Address>.Outcome) -> StackEvent {
        switch outcome {
        case let .reply(target, sequence, roundTrip): .pingReply(target: target, sequence: sequence, roundTrip: roundTrip)
        case let .timeout(target, sequence): .pingTimeout(target: target, sequence: sequence)
        case let .finished(target, sent, received): .pingsFinished(target: target, sent: sent, received: received)
        }
    }
}
