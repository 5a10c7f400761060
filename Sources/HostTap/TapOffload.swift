import CLinux

/// The offloads the fd's reader accepts: which partial checksums and GSO frames the kernel may hand to `read`.
///
/// Wraps the TUN_F_* bits of ioctl(TUNSETOFFLOAD) (include/uapi/linux/if_tun.h). A fresh macvtap behaves as if
/// `[.checksum, .tcp4Segmentation, .tcp6Segmentation, .tcpECN]` were set: received UDP/TCP frames carry
/// NEEDS_CSUM with an incomplete checksum and TCP can arrive as 64 KiB GSO frames (MACVTAP-FACTS §3b, §3c).
/// `[]` makes the kernel complete every checksum and segment everything to MTU-sized frames.
public struct TapOffload: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// TUN_F_CSUM: frames may carry NEEDS_CSUM (partial checksum).
    public static let checksum = TapOffload(rawValue: UInt32(clinux_TUN_F_CSUM))
    /// TUN_F_TSO4: TCPv4 GSO frames (needs `.checksum`).
    public static let tcp4Segmentation = TapOffload(rawValue: UInt32(clinux_TUN_F_TSO4))
    /// TUN_F_TSO6: TCPv6 GSO frames (needs `.checksum`).
    public static let tcp6Segmentation = TapOffload(rawValue: UInt32(clinux_TUN_F_TSO6))
    /// TUN_F_TSO_ECN: TSO frames with ECN (CWR) set.
    public static let tcpECN = TapOffload(rawValue: UInt32(clinux_TUN_F_TSO_ECN))
    /// TUN_F_UFO: UDP fragmentation offload.
    public static let udpFragmentation = TapOffload(rawValue: UInt32(clinux_TUN_F_UFO))
    /// TUN_F_USO4 (0x20 in if_tun.h): UDPv4 segmentation offload.
    public static let udp4Segmentation = TapOffload(rawValue: 0x20)
    /// TUN_F_USO6 (0x40 in if_tun.h): UDPv6 segmentation offload.
    public static let udp6Segmentation = TapOffload(rawValue: 0x40)
}

/// The IFF_* flags reported by ioctl(TUNGETIFF) and ioctl(TUNGETFEATURES) (include/uapi/linux/if_tun.h).
public struct TapInterfaceFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// IFF_TUN: layer-3 device (no Ethernet header). tapvm refuses it.
    public static let tun = TapInterfaceFlags(rawValue: clinux_IFF_TUN)
    /// IFF_TAP: Ethernet frames.
    public static let tap = TapInterfaceFlags(rawValue: clinux_IFF_TAP)
    /// IFF_NO_PI: no 4-byte packet-information prefix.
    public static let noPacketInformation = TapInterfaceFlags(rawValue: clinux_IFF_NO_PI)
    /// IFF_VNET_HDR: every read and write starts with a virtio_net_hdr (virtio 1.2 §5.1.6).
    public static let vnetHeader = TapInterfaceFlags(rawValue: clinux_IFF_VNET_HDR)
    /// IFF_MULTI_QUEUE.
    public static let multiQueue = TapInterfaceFlags(rawValue: clinux_IFF_MULTI_QUEUE)

    public var description: String {
        var names: [String] = []
        if contains(.tun) { names.append("TUN") }
        if contains(.tap) { names.append("TAP") }
        if contains(.noPacketInformation) { names.append("NO_PI") }
        if contains(.vnetHeader) { names.append("VNET_HDR") }
        if contains(.multiQueue) { names.append("MULTI_QUEUE") }
        let known = TapInterfaceFlags([.tun, .tap, .noPacketInformation, .vnetHeader, .multiQueue]).rawValue
        if rawValue & ~known != 0 { names.append("0x" + String(rawValue & ~known, radix: 16)) }
        return names.isEmpty ? "0" : names.joined(separator: "|")
    }
}

/// The outcome of one non-blocking read or write on the tap fd. EAGAIN is a value, not an error (DESIGN.md).
public enum TapIO: Equatable, Sendable {
    /// This many bytes (virtio_net_hdr included) were read or written.
    case transferred(Int)
    /// The fd has nothing to read (or, for a write, no room); wait for readiness and try again.
    case wouldBlock
}
