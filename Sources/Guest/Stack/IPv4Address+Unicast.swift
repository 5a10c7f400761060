import Wire

/// Which addresses may belong to a host (RFC 1122 §3.2.1.3, RFC 1112 §4, RFC 3021).
extension IPv4Address {
    /// Whether this can be a host's own unicast address: not in 0/8 ("this network", RFC 1122 §3.2.1.3 (a), (b)),
    /// 127/8 (loopback, §3.2.1.3 (g)), 224/4 (multicast, RFC 1112 §4) or 240/4 (reserved, RFC 1112 §4, which holds
    /// the limited broadcast 255.255.255.255).
    var isUnicastHostAddress: Bool {
        let firstOctet = rawValue >> 24
        return firstOctet != 0 && firstOctet != 127 && firstOctet < 224
    }

    /// `isUnicastHostAddress`, and under `subnetMask` neither the subnet's network address (host part all zeros)
    /// nor its directed broadcast (all ones), RFC 1122 §3.2.1.3 (c), (d) and RFC 919. A /31 or /32 has no such
    /// addresses (RFC 3021), so only the first test applies there.
    func isUnicastHostAddress(subnetMask: IPv4Address?) -> Bool {
        guard isUnicastHostAddress else { return false }
        guard let subnetMask else { return true }
        let hostMask = ~subnetMask.rawValue
        guard hostMask.nonzeroBitCount >= 2 else { return true }
        let host = rawValue & hostMask
        return host != 0 && host != hostMask
    }
}
