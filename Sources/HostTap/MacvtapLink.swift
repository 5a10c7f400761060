import Wire

/// A macvtap created (and later deleted) by tapvm with iproute2: for `--create-on`, the lab and the tests.
///
/// `create` runs `ip [-n NS] link add link LOWER name IF [address MAC] type macvtap mode M`, disables IPv6 on
/// the new device *before* bringing it up (MACVTAP-FACTS §7: otherwise the host runs DAD, MLD and RS with the
/// guest's MAC), then `ip link set IF up` (a new macvtap is DOWN and receives nothing, surprise 2).
public struct MacvtapLink: Sendable, Equatable {
    /// macvtap modes as iproute2 spells them (`passthru`, not libvirt's `passthrough`). MACVTAP-FACTS §1.
    public enum Mode: String, Sendable, CaseIterable {
        case vepa, bridge, `private`, passthru, source
    }

    /// The macvtap's name in its namespace.
    public let name: String
    /// The namespace it lives in (`nil`: the namespace tapvm runs in).
    public let netns: String?

    public init(name: String, netns: String?) {
        self.name = name
        self.netns = netns
    }

    /// Creates the macvtap, disables host IPv6 on it and brings it up. Deletes it again if a later step fails.
    /// - Throws: `invalidName`, `noSuchNamespace`, `permissionDenied`, `commandFailed` naming the `ip` command
    ///   and its first stderr line (for example "Cannot find device" for a missing lower).
    public static func create(name: String, lower: String, netns: String?, mode: Mode = .bridge,
                              address: MACAddress? = nil) throws(TapError) -> MacvtapLink {
        try NetworkName.validateInterface(name)
        try NetworkName.validateInterface(lower)
        if let netns { try NetworkName.requireNamespace(netns) }
        let link = MacvtapLink(name: name, netns: netns)
        var add = link.ip + ["link", "add", "link", lower, "name", name]
        if let address { add += ["address", address.description] }
        add += ["type", "macvtap", "mode", mode.rawValue]
        try SystemCommand.check(add)
        do throws(TapError) {
            try link.disableIPv6()
            try SystemCommand.check(link.ip + ["link", "set", name, "up"])
        } catch {
            try? link.delete()
            throw error
        }
        return link
    }

    /// Deletes the macvtap (`ip link del`). Open fds keep reading EAGAIN; their ioctls say ENOLINK (§3g).
    public func delete() throws(TapError) {
        try SystemCommand.check(ip + ["link", "del", name])
    }

    /// `sysctl -qw net/ipv6/conf/IF/disable_ipv6=1` inside the namespace (slashes, so dots in names work).
    /// A kernel without IPv6 has no such key; that is fine.
    func disableIPv6() throws(TapError) {
        var argv = ["sysctl", "-qw", "net/ipv6/conf/\(name)/disable_ipv6=1"]
        if let netns { argv = ["ip", "netns", "exec", netns] + argv }
        let result = try SystemCommand.run(argv)
        if result.status != 0, !result.standardError.contains("cannot stat") {
            throw .commandFailed(command: argv.joined(separator: " "), status: result.status,
                                 message: result.firstErrorLine)
        }
    }

    var ip: [String] { netns.map { ["ip", "-n", $0] } ?? ["ip"] }
}
