/// The parameters of one kind of DHCPv6 message exchange: IRT, MRT and MRC of RFC 8415 §15 with the defaults of
/// §7.6. MRD depends on the binding (the time to T2 for Renew, to the end of the valid lifetimes for Rebind), so it
/// is given when an exchange begins.
public struct DHCPv6RetransmissionParameters: Sendable, Equatable {
    /// IRT: the base of the first retransmission timeout.
    public var initial: Duration
    /// MRT: the cap of the timeout; nil = none.
    public var maximum: Duration?
    /// MRC: transmissions before the exchange fails; nil = unlimited.
    public var maximumCount: Int?

    public init(initial: Duration, maximum: Duration?, maximumCount: Int?) {
        precondition(initial > .zero, "IRT must be positive")
        self.initial = initial
        self.maximum = maximum
        self.maximumCount = maximumCount
    }

    /// SOL_TIMEOUT 1 s, SOL_MAX_RT 3600 s (RFC 8415 §7.6, §18.2.1).
    public static let solicit = Self(initial: .seconds(1), maximum: .seconds(3600), maximumCount: nil)
    /// REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10 (§18.2.2).
    public static let request = Self(initial: .seconds(1), maximum: .seconds(30), maximumCount: 10)
    /// REN_TIMEOUT 10 s, REN_MAX_RT 600 s; MRD = time to T2 (§18.2.4).
    public static let renew = Self(initial: .seconds(10), maximum: .seconds(600), maximumCount: nil)
    /// REB_TIMEOUT 10 s, REB_MAX_RT 600 s; MRD = time to the end of the valid lifetimes (§18.2.5).
    public static let rebind = Self(initial: .seconds(10), maximum: .seconds(600), maximumCount: nil)
    /// INF_TIMEOUT 1 s, INF_MAX_RT 3600 s (§18.2.6).
    public static let informationRequest = Self(initial: .seconds(1), maximum: .seconds(3600), maximumCount: nil)
    /// REL_TIMEOUT 1 s, REL_MAX_RC 4 (§18.2.7).
    public static let release = Self(initial: .seconds(1), maximum: nil, maximumCount: 4)
    /// DEC_TIMEOUT 1 s, DEC_MAX_RC 4 (§18.2.8).
    public static let decline = Self(initial: .seconds(1), maximum: nil, maximumCount: 4)
}

/// The retransmission state of one message exchange. RFC 8415 §15:
///
///     RT = IRT + RAND*IRT                       first transmission (Solicit: RAND > 0, so RT > IRT)
///     RT = 2*RTprev + RAND*RTprev               later ones
///     RT = MRT + RAND*MRT                       if that exceeds MRT (MRT ≠ 0)
///
/// RAND is uniform in [-0.1, +0.1] (drawn in millionths). The exchange fails when MRC transmissions have been made
/// and the last RT has passed, or when MRD has passed since the first transmission (the last RT is cut at MRD).
struct DHCPv6Retransmission: Sendable, Equatable {
    var parameters: DHCPv6RetransmissionParameters
    /// The first RT must be strictly greater than IRT (Solicit, RFC 8415 §18.2.1).
    var firstStrictlyGreater: Bool
    /// MRD as an instant; nil = none.
    var limit: Instant?
    /// When the first message of the exchange went out (the Elapsed Time origin, RFC 8415 §21.9).
    var startedAt: Instant?
    var transmissions = 0
    /// The current RT.
    var timeout: Duration = .zero

    init(parameters: DHCPv6RetransmissionParameters, firstStrictlyGreater: Bool = false, limit: Instant? = nil) {
        self.parameters = parameters
        self.firstStrictlyGreater = firstStrictlyGreater
        self.limit = limit
    }

    /// Records a transmission at `now` and returns when to retransmit (or give up): `now + RT`, cut at MRD.
    mutating func transmitted(now: Instant, random: inout SeededGenerator) -> Instant {
        if transmissions == 0 {
            startedAt = now
            let rand = firstStrictlyGreater ? Int64.random(in: 1 ... 100_000, using: &random) : Self.rand(&random)
            timeout = parameters.initial + Self.scale(parameters.initial, rand)
        } else {
            timeout = timeout * 2 + Self.scale(timeout, Self.rand(&random))
            if let maximum = parameters.maximum, timeout > maximum {
                timeout = maximum + Self.scale(maximum, Self.rand(&random))
            }
        }
        transmissions += 1
        let next = now + timeout
        guard let limit else { return next }
        return min(next, limit)
    }

    /// Whether the exchange has failed at `now` (called when the timer from `transmitted` fires).
    func exhausted(now: Instant) -> Bool {
        if let count = parameters.maximumCount, transmissions >= count { return true }
        if let limit, now >= limit { return true }
        return false
    }

    /// Hundredths of a second since the first transmission, saturating at 0xFFFF; 0 before and at it (§21.9).
    func elapsedHundredths(now: Instant) -> Int {
        guard let startedAt else { return 0 }
        return Int(min(max((now - startedAt).nanoseconds / 10_000_000, 0), 0xFFFF))
    }

    /// RAND in millionths: uniform in [-100 000, +100 000].
    static func rand(_ random: inout SeededGenerator) -> Int64 { Int64.random(in: -100_000 ... 100_000, using: &random) }

    /// `duration × millionths / 1 000 000`.
    static func scale(_ duration: Duration, _ millionths: Int64) -> Duration { duration * millionths / 1_000_000 }
}
