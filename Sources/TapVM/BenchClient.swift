import Foundation

/// The DHCPv4 clients `tapvm bench lease` times side by side: tapvm itself and the kernel's usual clients.
public enum BenchClient: String, CaseIterable, Sendable {
    case tapvm, dhclient, dhcpcd, udhcpc

    /// The row label.
    public var label: String {
        switch self {
        case .tapvm: "tapvm (launch to bound)"
        case .dhclient: "dhclient"
        case .dhcpcd: "dhcpcd (nodelay, noarp)"
        case .udhcpc: "udhcpc"
        }
    }

    /// The program a kernel client runs as (nil for tapvm, which is the running binary or `--tapvm`).
    public var program: String? {
        switch self {
        case .tapvm: nil
        case .dhclient: "dhclient"
        case .dhcpcd: "dhcpcd"
        case .udhcpc: "udhcpc"
        }
    }

    /// The Debian package that installs `program`.
    public var package: String {
        switch self {
        case .tapvm: "tapvm"
        case .dhclient: "isc-dhcp-client"
        case .dhcpcd: "dhcpcd-base"
        case .udhcpc: "udhcpc"
        }
    }

    /// The kernel client's command line on `interface`: in the foreground, IPv4 only, one lease and done, with
    /// `files`' hook (it sets the address and nothing else) or dhcpcd configuration (no hooks at all).
    func arguments(executable: String, interface: String, files: BenchFiles) -> [String] {
        switch self {
        case .tapvm:
            preconditionFailure("tapvm is started by LeaseBench.measureTapVM")
        case .dhclient:
            [executable, "-4", "-d", "-1", "-v", "-sf", files.hook, "-lf", files.directory + "/\(interface).leases",
             "-pf", files.directory + "/\(interface).pid", interface]
        case .dhcpcd:
            [executable, "-f", files.dhcpcdConfiguration, "-B", "-1", "-4", "-d", interface]
        case .udhcpc:
            [executable, "-f", "-q", "-n", "-i", interface, "-s", files.hook]
        }
    }
}

/// The bench's own files, in a fresh directory under /tmp (nothing under /etc is read for writing or touched):
/// the hook for dhclient and udhcpc, dhcpcd's configuration, and one log of every client's output.
struct BenchFiles {
    let directory: String
    var hook: String { directory + "/hook.sh" }
    var dhcpcdConfiguration: String { directory + "/dhcpcd.conf" }
    var log: String { directory + "/clients.log" }

    /// The hook: udhcpc passes the event as $1, dhclient as $reason. It configures the address only: no
    /// resolv.conf, no routes, no host name, nothing outside the interface.
    static let hookScript = """
        #!/bin/sh
        # tapvm bench lease: DHCP client hook that only puts the leased address on the interface.
        event="${1:-$reason}"
        if [ "$event" = PREINIT ]; then
          exec ip link set dev "$interface" up
        elif [ "$event" = bound ] || [ "$event" = renew ]; then
          exec ip -4 address add "$ip/${mask:-24}" dev "$interface"
        elif [ "$event" = BOUND ] || [ "$event" = RENEW ] || [ "$event" = REBIND ] || [ "$event" = REBOOT ]; then
          exec ip -4 address add "$new_ip_address/${new_subnet_mask:-255.255.255.0}" dev "$interface"
        fi
        exit 0

        """

    /// Debian 12's /etc/dhcpcd.conf options without hooks (`script /bin/true`), without the DUID and IPv6
    /// parts (nothing is written under /var/lib/dhcpcd but the per-interface lease file the bench removes),
    /// without installing a default route, and fast: no random start delay (`nodelay`), no RFC 5227 probe (`noarp`).
    static let dhcpcdText = """
        # tapvm bench lease: dhcpcd fast and hook-free
        script /bin/true
        vendorclassid
        option domain_name_servers, domain_name, domain_search
        option classless_static_routes
        option interface_mtu
        option host_name
        option rapid_commit
        require dhcp_server_identifier
        nogateway
        nodelay
        noarp

        """

    static func make() throws(TapVMError) -> BenchFiles {
        var template = Array("/tmp/tapvm-bench-XXXXXX".utf8CString)
        guard let pointer = mkdtemp(&template) else {
            throw .commandFailed("mkdtemp /tmp/tapvm-bench-XXXXXX", String(cString: strerror(errno)))
        }
        let files = BenchFiles(directory: String(cString: pointer))
        do {
            try hookScript.write(toFile: files.hook, atomically: false, encoding: .utf8)
            guard chmod(files.hook, 0o700) == 0 else { throw TapVMError.commandFailed("chmod \(files.hook)", String(cString: strerror(errno))) }
            try dhcpcdText.write(toFile: files.dhcpcdConfiguration, atomically: false, encoding: .utf8)
        } catch {
            files.remove()
            throw .commandFailed("writing \(files.directory)", "\(error)")
        }
        return files
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
