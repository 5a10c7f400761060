import Wire

/// Something the stack did that a user or a trace wants to see, in the order it happened.
public enum StackEvent: Sendable, Equatable {
    /// A DHCP client state change (RFC 2131 Figure 5).
    case dhcp(DHCPClient.Transition)
    /// The first lease was bound, with when each step of the exchange happened.
    case leaseBound(DHCPLease, DHCPPhaseTimes)
    /// A renew (RENEWING) or rebind (REBINDING) was acknowledged.
    case leaseRenewed(DHCPLease)
    /// The address was given up: the lease expired or the server sent DHCPNAK.
    case leaseLost(reason: String)
    case pingReply(target: IPv4Address, sequence: UInt16, roundTrip: Duration)
    case pingTimeout(target: IPv4Address, sequence: UInt16)
    case pingsFinished(target: IPv4Address, sent: Int, received: Int)
    /// Everything IPv6: addresses and DAD, routers, multicast groups, M/O flags, ping6.
    case ipv6(IPv6Event)
}
