import Wire

/// Something the stack did that a user or a trace wants to see, in the order it happened.
public enum StackEvent: Sendable, Equatable {
    /// A DHCP client state change (RFC 2131 Figure 5).
    case dhcp(DHCPClient.Transition)
    /// The first lease was bound, with when each step of the exchange happened.
    case leaseBound(DHCPLease, DHCPPhaseTimes)
    /// A renew (RENEWING) or rebind (REBINDING) was acknowledged.
    case leaseRenewed(DHCPLease)
    /// The address was given up: the lease expired, the server sent DHCPNAK, the lease was released, or a conflict
    /// could not be defended (RFC 5227 §2.4 (b)).
    case leaseLost(reason: String)
    /// A DHCPNAK was accepted in `state` (REQUESTING, REBOOTING, RENEWING or REBINDING); `message` is option 56.
    case dhcpNAK(state: DHCPClient.State, server: IPv4Address?, message: String?)
    /// ARP conflict detection found `address` in use while probing: DHCPDECLINE was sent (RFC 2131 §4.4.1).
    case addressDeclined(IPv4Address, reason: String)
    /// A conflict for the bound `address` from the host `by` was answered with one announcement (RFC 5227 §2.4 (b)).
    case conflictDefended(IPv4Address, by: MACAddress)
    /// An OFFER said IPv6-only is preferred and the client pauses DHCPv4 for `wait` (RFC 8925 §3.2).
    case ipv6OnlyPreferred(wait: Duration)
    case pingReply(target: IPv4Address, sequence: UInt16, roundTrip: Duration)
    case pingTimeout(target: IPv4Address, sequence: UInt16)
    case pingsFinished(target: IPv4Address, sent: Int, received: Int)
    /// A DHCPv6 client state change (RFC 8415 §18): its leased addresses are reported as `.ipv6(.address(…))`
    /// with origin `.dhcpv6`.
    case dhcpv6(DHCPv6Client.Transition)
    /// DNS servers (option 23) and domain search list (option 24) from a DHCPv6 Reply, when they change (RFC 3646).
    case dhcpv6Configuration(dnsServers: [IPv6Address], domainList: [String])
    /// Everything IPv6: addresses and DAD, routers, multicast groups, M/O flags, ping6.
    case ipv6(IPv6Event)
}
