extension DHCPClient {
    /// Moves the T1 timer to `now` in BOUND, so the next poll enters RENEWING (RFC 2131 §4.4.5).
    mutating func renewNow(now: Instant) {
        guard state == .bound else { return }
        deadline = now
    }
}
