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
    // IPv6 (RFC 8200, RFC 4443, RFC 4861, RFC 4862, RFC 3810)
    /// IPv6 is off in the configuration, not started, or disabled by a duplicate link-local address.
    case ipv6Disabled = "IPv6 disabled"
    case ipv6Malformed = "IPv6 malformed"
    case ipv6BadSource = "IPv6 multicast or unspecified source"
    case ipv6NotForUs = "IPv6 not for us"
    case ipv6Fragment = "IPv6 fragment"
    /// Anything but NS/NA to an address still in DAD (RFC 4862 §5.4).
    case ipv6ToTentative = "IPv6 to a tentative address"
    case ipv6UnsupportedNextHeader = "IPv6 unsupported next header"
    case icmpv6Malformed = "ICMPv6 malformed"
    case icmpv6Checksum = "ICMPv6 checksum"
    case icmpv6UnmatchedReply = "ICMPv6 echo reply unmatched"
    case icmpv6UnhandledType = "ICMPv6 type not handled"
    /// Fails RFC 4861 §7.1 (hop limit, code, length, options, target, source/destination rules).
    case ndpInvalid = "NDP invalid NS or NA"
    case ndpNotOurTarget = "NDP target not ours"
    /// An NS from a unicast source for an address still in DAD (RFC 4862 §5.4.3).
    case ndpTargetTentative = "NDP NS for a tentative address"
    /// Our own DAD probe came back (RFC 4862 §5.4.3 ignores it).
    case ndpDADLoopback = "NDP own DAD probe looped back"
    /// Another node advertises an address we hold (not tentative): logged only, RFC 4862 §5.4.4.
    case ndpAdvertisementForOurAddress = "NDP NA for one of our addresses"
    case ndpAdvertisementNoEntry = "NDP NA without a cache entry"
    /// Fails RFC 4861 §6.1.2 (link-local source, hop limit 255, code 0, options).
    case ndpRouterAdvertisementInvalid = "NDP RA invalid"
    case ndpRouterSolicitationIgnored = "NDP RS ignored (host)"
    case ndpRedirectIgnored = "NDP redirect ignored"
    case ndpResolutionFailed = "NDP resolution failed"
    case ndpQueueOverflow = "NDP queue overflow"
    case mldInvalid = "MLD query invalid"
    case mldVersion1Query = "MLDv1 query ignored"
    case mldReportIgnored = "MLD report of another listener"
    // DHCPv6 (RFC 8415 §16): what the client ignored, by its `DHCPv6Client.IgnoreReason`.
    case dhcpv6WrongSourcePort = "DHCPv6 not from port 547"
    case dhcpv6Malformed = "DHCPv6 malformed"
    case dhcpv6Unexpected = "DHCPv6 message unexpected in this state"
    case dhcpv6WrongTransaction = "DHCPv6 wrong transaction id"
    case dhcpv6WrongClientIdentifier = "DHCPv6 client id missing or not ours"
    case dhcpv6MissingServerIdentifier = "DHCPv6 server id missing"
    case dhcpv6NoAddressesAvailable = "DHCPv6 no addresses available"
    case dhcpv6MissingIdentityAssociation = "DHCPv6 IA_NA missing"
    case dhcpv6ServerFailure = "DHCPv6 server failure status"
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
    public var ipv6 = ProtocolCounters()
    public var icmpv6 = ProtocolCounters()
    /// NS, NA, RS, RA.
    public var ndp = ProtocolCounters()
    public var mld = ProtocolCounters()
    /// DHCPv6 messages to port 546 and from the client (RFC 8415).
    public var dhcpv6 = ProtocolCounters()
    /// IPv6 packets handled (not dropped): with the IPv6 drops, they account for every `ipv6.received`.
    public var ipv6Consumed = 0
    /// ICMPv6 errors received, by type (1 destination unreachable, 2 packet too big, 3 time exceeded, 4 parameter
    /// problem, others). RFC 4443 §3.
    public var icmpv6ErrorsReceived: [UInt8: Int] = [:]
    /// ICMPv6 errors not sent because of the rate limit (RFC 4443 §2.4 f).
    public var icmpv6ErrorsRateLimited = 0
    /// Router Advertisement options ignored by rule: an MTU below 1280 or above the link's, a prefix whose
    /// preferred lifetime exceeds its valid lifetime or whose length is not 64 for SLAAC (RFC 4862 §5.5.3).
    public var ndpOptionsIgnored = 0
    /// IPv6 neighbour cache entries evicted at its bound (NeighborCacheV6.maximumEntries, Linux's gc_thresh3), as
    /// of the last NS or RA that created an entry.
    public var neighborCacheEvictions = 0
    /// Router Advertisement contents ignored because a bounded list was full: a 17th SLAAC address, a 9th router,
    /// a 17th on-link prefix, a 4th RDNSS address or DNSSL name of one router (RouterDiscovery, IPv6AddressTable).
    public var ndpOverLimit = 0
    /// Drops by reason (only the reasons counted at least once).
    public var drops: [DropReason: Int] {
        var byReason: [DropReason: Int] = [:]
        for reason in DropReason.allCases where dropCounts[reason.ordinal] != 0 { byReason[reason] = dropCounts[reason.ordinal] }
        return byReason
    }
    /// Drops indexed by `DropReason.ordinal`: counting one is an array store, not a hash (the receive path counts
    /// most frames of a busy segment).
    private var dropCounts = [Int](repeating: 0, count: DropReason.allCases.count)
    /// ICMP errors (port unreachable) not sent because of the rate limit (at most 10 per second).
    public var icmpErrorsRateLimited = 0

    public init() {}

    /// All drops, whatever the reason.
    public var totalDrops: Int { dropCounts.reduce(0, +) }

    /// The count for one reason (0 when none).
    public func drops(_ reason: DropReason) -> Int { dropCounts[reason.ordinal] }

    /// Counts `count` more drops for `reason`.
    mutating func countDrop(_ reason: DropReason, count: Int = 1) { dropCounts[reason.ordinal] += count }
}

extension DropReason {
    /// The case's position in `allCases` (declaration order). A payload-free enum of fewer than 256 cases is
    /// stored as exactly that index in one byte (StackCountersTests checks both facts for every case).
    var ordinal: Int { Int(unsafeBitCast(self, to: UInt8.self)) }
}
