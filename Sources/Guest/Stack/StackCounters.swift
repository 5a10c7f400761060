/// Why the stack discarded a received frame or an outgoing packet. Every frame the stack receives is either consumed
/// or counted under one of these.
public enum DropReason: String, Sendable, CaseIterable, Hashable {
    case ethernetMalformed = "Ethernet malformed"
    case notOurMAC = "not our MAC"
    case multicastNotJoined = "multicast not joined"
    case unsupportedEtherType = "unsupported EtherType"
    case arpMalformed = "ARP malformed"
    case arpUnsupported = "ARP unsupported hardware or protocol"
    case arpNotForUs = "ARP not for us"
    case arpResolutionFailed = "ARP resolution failed"
    case arpQueueOverflow = "ARP queue overflow"
    /// A packet waiting for ARP when our address was lost or changed (it carries the old source address).
    case neighborFlushed = "ARP queue flushed on address change"
    case ipv4Malformed = "IPv4 malformed"
    case ipv4HeaderChecksum = "IPv4 header checksum"
    case ipv4NotForUs = "IPv4 not for us"
    case ipv4Fragment = "IPv4 fragment"
    case ipv4BadSource = "IPv4 broadcast or multicast source"
    case ipv4UnsupportedProtocol = "IPv4 unsupported protocol"
    case noRoute = "no route"
    case icmpMalformed = "ICMP malformed"
    case icmpChecksum = "ICMP checksum"
    case icmpUnmatchedReply = "ICMP echo reply unmatched"
    case icmpBroadcastEcho = "ICMP echo to broadcast ignored"
    case icmpUnhandledType = "ICMP type not handled"
    case udpMalformed = "UDP malformed"
    case udpChecksum = "UDP checksum"
    case udpNoListener = "UDP no listener"
    case dhcpMalformed = "DHCP malformed"
    /// A datagram to port 68 not from port 67 (RFC 2131 §4.1).
    case dhcpWrongSourcePort = "DHCP not from port 67"
    case dhcpWrongTransaction = "DHCP wrong xid"
    case dhcpWrongHardwareAddress = "DHCP wrong chaddr"
    case dhcpUnexpected = "DHCP unexpected message"
    /// An OFFER or rapid-commit ACK of an address the client declined or gave up after a conflict (RFC 5227).
    case dhcpDeclinedAddress = "DHCP offer of a declined address"
    case encodeFailed = "encode failed"
    /// An outgoing frame found the transmit queue full (`TransmitQueue.capacity`).
    case transmitQueueOverflow = "transmit queue overflow"
}

/// Frames and packets per protocol, in and out.
public struct ProtocolCounters: Sendable, Equatable {
    /// Frames or packets of this protocol that reached its input (before its own checks).
    public var received = 0
    /// Frames or packets of this protocol handed to the layer below.
    public var transmitted = 0
    public init() {}
}

/// What the stack has seen and sent since boot.
public struct StackCounters: Sendable, Equatable {
    public var ethernet = ProtocolCounters()
    public var arp = ProtocolCounters()
    public var ipv4 = ProtocolCounters()
    public var icmp = ProtocolCounters()
    public var udp = ProtocolCounters()
    public var dhcp = ProtocolCounters()
    /// Drops by reason.
    public var drops: [DropReason: Int] = [:]
    /// ICMP errors (port unreachable) not sent because of the rate limit (at most 10 per second).
    public var icmpErrorsRateLimited = 0

    public init() {}

    /// All drops, whatever the reason.
    public var totalDrops: Int { drops.values.reduce(0, +) }

    /// The count for one reason (0 when none).
    public func drops(_ reason: DropReason) -> Int { drops[reason, default: 0] }
}
