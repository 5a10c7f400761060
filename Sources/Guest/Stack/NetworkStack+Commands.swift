extension NetworkStack {
    /// Starts a renewal now instead of at T1: a unicast DHCPREQUEST to the server, as at T1 (RFC 2131 §4.4.5; a
    /// client may extend its lease at any time). Only in BOUND; otherwise nothing happens.
    public func renewNow(now: Instant) {
        dhcpClient.renewNow(now: now)
        runDHCP(now: now)
    }
}
