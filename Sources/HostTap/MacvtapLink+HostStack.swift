#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import Wire

/// The host side of a macvtap as a netdevice of its own: its IPv6 stack (MACVTAP-FACTS §7) and its multicast
/// filter (§4). Works on any macvtap by name in its namespace, not only the ones `create` made.
extension MacvtapLink {
    /// The IPv6 addresses the host kernel holds on the device, as "ADDRESS/LENGTH" (RFC 5952 text, as `ip -6 addr`
    /// prints them); empty when IPv6 is disabled on it, the kernel has none or the device does not exist.
    /// Read from `/proc/thread-self/net/if_inet6` on a thread inside the device's namespace (`NetworkNamespace`):
    /// no `ip` process is started, which cost every `tapvm run --interface` some milliseconds before boot.
    /// - Throws: `noSuchNamespace`, `permissionDenied`, `systemCallFailed` (entering the namespace).
    public func hostIPv6Addresses() throws(TapError) -> [String] {
        let table = try NetworkNamespace.perform(in: netns) { () throws(TapError) -> [UInt8] in
            Self.readAll("/proc/thread-self/net/if_inet6")
        }
        return Self.parseInterfaceAddresses(String(decoding: table, as: UTF8.self), device: name)
    }

    /// The addresses of `device` in a /proc/net/if_inet6 table: per line the address as 32 hex digits, the
    /// ifindex, the prefix length, scope and flags (hex) and the device name (Linux net/ipv6/addrconf.c).
    static func parseInterfaceAddresses(_ table: String, device: String) -> [String] {
        table.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count == 6, words[5] == device, words[0].utf8.count == 32,
                  let high = UInt64(words[0].prefix(16), radix: 16), let low = UInt64(words[0].suffix(16), radix: 16),
                  let length = UInt8(words[2], radix: 16) else { return nil }
            return "\(IPv6Address(high: high, low: low))/\(length)"
        }
    }

    /// The whole content of a /proc file (their size is 0 in stat), or nothing if it cannot be read.
    private static func readAll(_ path: String) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { _ = Glibc.close(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            content += chunk[..<count]
        }
        return content
    }

    /// Turns the host kernel's IPv6 off on the device (`sysctl net/ipv6/conf/IF/disable_ipv6=1` inside its
    /// namespace): its addresses go and it stops answering NDP for the guest's MAC (MACVTAP-FACTS §7).
    public func disableHostIPv6() throws(TapError) {
        try disableIPv6()
    }

    /// Adds `group` to the device's link-layer multicast filter, so that frames to it reach the fd (MACVTAP-FACTS
    /// §4: only subscribed groups pass, up to hash collisions). What `ip maddr add MAC dev IF` does (SIOCADDMULTI),
    /// from a socket made on a thread inside the device's namespace: no `ip` process, which cost milliseconds in the
    /// middle of a guest's first DHCP exchange.
    /// - Throws: `deviceGone`, `ioctlFailed`, or what entering the namespace throws.
    public func addMulticast(_ group: MACAddress) throws(TapError) {
        try changeMulticast(group, request: UInt(SIOCADDMULTI), call: "SIOCADDMULTI")
    }

    /// Removes a group added with `addMulticast` (SIOCDELMULTI, as `ip maddr del MAC dev IF`).
    public func deleteMulticast(_ group: MACAddress) throws(TapError) {
        try changeMulticast(group, request: UInt(SIOCDELMULTI), call: "SIOCDELMULTI")
    }

    /// netdevice(7): SIOCADDMULTI/SIOCDELMULTI take the device name and the group in `ifr_hwaddr` (AF_UNSPEC).
    private func changeMulticast(_ group: MACAddress, request code: UInt, call: String) throws(TapError) {
        let name = self.name
        try NetworkNamespace.perform(in: netns) { () throws(TapError) in
            let socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socketFD >= 0 else {
                throw .systemCallFailed(call: "socket", path: name, errno: Errno(rawValue: errno))
            }
            defer { _ = Glibc.close(socketFD) }
            var request = ifreq()
            withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { buffer in
                for (index, byte) in name.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
            }
            request.ifr_ifru.ifru_hwaddr.sa_family = sa_family_t(AF_UNSPEC)
            withUnsafeMutableBytes(of: &request.ifr_ifru.ifru_hwaddr.sa_data) { buffer in
                withUnsafeBytes(of: group.bytes) { buffer.copyMemory(from: $0) }
            }
            if ioctl(socketFD, code, &request) != 0 {
                let error = Errno(rawValue: errno)
                if error == .operationNotSupportedByDevice { throw .deviceGone(interface: name) }
                throw .ioctlFailed(name: "\(call) \(group) on \(name)", errno: error)
            }
        }
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
