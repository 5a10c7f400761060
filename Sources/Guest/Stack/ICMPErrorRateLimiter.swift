/// A token bucket for the ICMP error messages the stack originates (RFC 1812 §4.3.2.8 and RFC 1122 §3.2.2: a host
/// should limit the rate of ICMP errors it sends; Linux's `icmp_ratelimit` is a token bucket too).
///
/// Sans-IO: `allow(now:)` spends one token if one is there. Tokens come back one per `interval`, up to `burst`.
struct ICMPErrorRateLimiter: Sendable {
    /// Time to earn back one token: 100 ms, so at most 10 errors per second in the long run.
    var interval: Duration = .milliseconds(100)
    /// Tokens held at most (and at start): 10, so never more than 10 within one second either.
    var burst = 10
    private var credit: Duration?
    private var last = Instant.boot

    /// Whether one more error may go out at `now`; spends a token when it may.
    mutating func allow(now: Instant) -> Bool {
        let full = interval * burst
        var credit = self.credit ?? full
        if self.credit != nil, now > last { credit = min(credit + (now - last), full) }
        last = max(last, now)
        guard credit >= interval else {
            self.credit = credit
            return false
        }
        self.credit = credit - interval
        return true
    }
}
