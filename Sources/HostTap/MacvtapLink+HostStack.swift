import Wire

/// The host side of a macvtap as a netdevice of its own: its IPv6 stack (MACVTAP-FACTS §7) and its multicast
/// filter (§4). Works on any macvtap by name in its namespace, not only the ones `create` made.
extension MacvtapLink {
    /// The IPv6 addresses the host kernel holds on the device (`ip [-n NS] -6 -o addr show dev IF`), as
    /// "ADDRESS/LENGTH"; empty when IPv6 is disabled on it or the kernel has none.
    /// - Throws: `commandFailed` naming the command (for example a missing device).
    public func hostIPv6Addresses() throws(TapError) -> [String] {
        let result = try SystemCommand.check(ip + ["-6", "-o", "addr", "show", "dev", name])
        return Self.parseAddresses(result.standardOutput)
    }

    /// The addresses of `ip -o addr` output: the word after "inet6" (or "inet") on each line.
    static func parseAddresses(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: \.isWhitespace)
            guard let index = words.firstIndex(where: { $0 == "inet6" || $0 == "inet" }), index + 1 < words.count else { return nil }
            return String(words[index + 1])
        }
    }

    /// Turns the host kernel's IPv6 off on the device (`sysctl net/ipv6/conf/IF/disable_ipv6=1` inside its
    /// namespace): its addresses go and it stops answering NDP for the guest's MAC (MACVTAP-FACTS §7).
    public func disableHostIPv6() throws(TapError) {
        try disableIPv6()
    }

    /// Adds `group` to the device's link-layer multicast filter (`ip [-n NS] maddr add MAC dev IF`), so that frames
    /// to it reach the fd (MACVTAP-FACTS §4: only subscribed groups pass, up to hash collisions).
    public func addMulticast(_ group: MACAddress) throws(TapError) {
        try SystemCommand.check(ip + ["maddr", "add", group.description, "dev", name])
    }

    /// Removes a group added with `addMulticast` (`ip [-n NS] maddr del MAC dev IF`).
    public func deleteMulticast(_ group: MACAddress) throws(TapError) {
        try SystemCommand.check(ip + ["maddr", "del", group.description, "dev", name])
    }

    /// The link-layer multicast groups on the device (`ip [-n NS] maddr show dev IF`, the "link" lines).
    public func multicastGroups() throws(TapError) -> [MACAddress] {
        let result = try SystemCommand.check(ip + ["maddr", "show", "dev", name])
        return result.standardOutput.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.first == "link", words.count >= 2 else { return nil }
            return MACAddress(String(words[1]))
        }
    }
}
