extension Duration {
    /// The whole duration in nanoseconds, saturating at Int64's range (no trap for `.seconds(Int64.max)`).
    /// The one definition both sides use (Guest's `Instant` arithmetic, the pollers' timeouts).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? .min : .max }
        return sum
    }

    /// The duration as a poll(2)/epoll_wait(2) timeout: whole milliseconds rounded up (so a wait never ends
    /// before the deadline), clamped to 0...Int32.max. Never traps, whatever the duration.
    public var pollTimeoutMilliseconds: Int32 {
        let nanoseconds = self.nanoseconds
        guard nanoseconds > 0 else { return 0 }
        // Round up without overflow: whole milliseconds, plus one when a remainder is left.
        let (quotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        return Int32(clamping: remainder == 0 ? quotient : quotient + 1)
    }
}
