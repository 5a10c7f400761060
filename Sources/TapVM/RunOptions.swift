import Guest
import HostTap
import Wire

/// Where the guest's card is plugged in (DESIGN.md, "ATTACH").
public enum Attachment: Sendable, Equatable {
    /// An existing macvtap, found through sysfs inside `netns` and verified by MAC.
    case interface(name: String, netns: String?)
    /// An fd inherited from the parent, as libvirt hands one to QEMU.
    case tapFD(Int32)
    /// A bridge-mode macvtap created on the lab's lower device for this run and deleted at its end.
    case lab(name: String)
}

/// When `tapvm run` ends on its own (otherwise SIGINT or SIGTERM end it).
public enum ExitCondition: Sendable, Equatable {
    case never
    /// Once the first lease is bound (and any requested pings are done).
    case lease
    case after(Duration)
}

/// Everything a guest run needs to know.
public struct RunOptions: Sendable {
    public var attachment: Attachment
    public var mac: MACAddress?
    public var seed: UInt64?
    public var hostname: String?
    /// Addresses the guest pings once its lease is bound (`--ping ADDR`).
    public var pingTargets: [PingTarget] = []
    public var pingCount = 3
    public var pingInterval: Duration = .seconds(1)
    public var exitAfter: ExitCondition = .never
    /// How long to wait for a lease before a run with `exitAfter: .lease` fails.
    public var leaseTimeout: Duration = .seconds(30)
    public var pcapPath: String?
    /// Whether the end of the run (and SIGINT/SIGTERM) gives the lease back with DHCPRELEASE (`--no-release`: no).
    public var release = true
    /// The guests behind the card (`tapvm lease`), given the card's MAC once it is attached; see
    /// `MachineConfiguration.identities`. Nil: one guest on the card's MAC, today's path.
    public var identities: (@Sendable (_ cardMAC: MACAddress) -> [StackConfiguration])?
    /// The mode of the macvtap made on `--lab`: bridge for one MAC, passthru for many (it receives every MAC's
    /// frames, MACVTAP-FACTS §1; bridge mode filters by the exact MAC, §4).
    public var labMode: MacvtapLink.Mode = .bridge
    /// With `identities`: at most this many between DISCOVER and their first lease at once.
    public var parallel: Int?
    /// With `identities`: the least time between two starts (`--rate`) and between two RELEASEs (`--release-rate`).
    public var spacing: Duration = .zero
    public var releaseSpacing: Duration = .zero
    /// Which side `pcapPath` captures (`--pcap-point`), and the rotation size in megabytes (`--pcap-limit`).
    public var pcapPoint: CapturePoint = .guest
    public var pcapLimitMegabytes: Int?
    /// The guest's IPv6 side (on by default): identifiers, ping6 targets, host-side quieting.
    public var ipv6 = IPv6Settings()

    public init(attachment: Attachment) { self.attachment = attachment }
}
