import Foundation
import Guest
import HostTap
import Wire

/// The IPv6 half of a guest session's output and host-side duties: turns the guest's IPv6 and DHCPv6 events into
/// `address`, `router` and `ping` lines (issue 5 contract), and keeps the host-side macvtap's multicast filter in
/// step with the guest's groups, as libvirt's `trustGuestRxFilters` does (MACVTAP-FACTS §4: the kernel passes only
/// subscribed groups, so NDP to an address not derived from the MAC would not reach the guest).
final class IPv6Reporter {
    let printer: EventPrinter
    /// The macvtap whose filter is programmed; nil when it cannot be (`--tap-fd`: name and namespace unknown).
    let hostLink: MacvtapLink?
    /// Milliseconds since the process started for a guest instant.
    let elapsed: (Instant) -> Double

    /// Addresses whose DAD outcome was reported, with the latest report (removed addresses leave).
    private(set) var addresses: [IPv6AddressInfo] = []
    /// Routers as last reported (a `router` line only when address, lifetime or DNS servers change).
    private(set) var routers: [IPv6Router] = []
    /// DNS servers and search list from DHCPv6.
    private(set) var dhcpv6DNSServers: [IPv6Address] = []
    private var pingReplies: [IPv6Address: [Duration]] = [:]
    private(set) var pingResults: [(target: IPv6Address, sent: Int, received: Int, average: Duration?)] = []
    /// The groups programmed on the host side by us, and whether a failure was already reported.
    private(set) var programmed: Set<MACAddress> = []
    private var programmingFailed = false

    init(printer: EventPrinter, hostLink: MacvtapLink?, elapsed: @escaping (Instant) -> Double) {
        self.printer = printer
        self.hostLink = hostLink
        self.elapsed = elapsed
    }

    /// Whether the guest holds an address leased by DHCPv6 (a Release is due at shutdown).
    var holdsDHCPv6Address: Bool { addresses.contains { $0.origin == .dhcpv6 && $0.state != .duplicate } }

    func handle(_ event: IPv6Event) {
        switch event {
        case let .address(info):
            address(info)
        case let .disabled(reason):
            printer.print(EventLine("ipv6_disabled", [("family", .string("ipv6")), ("reason", .string(reason))],
                                    human: "IPv6 disabled: \(reason)"))
        case let .router(router):
            self.router(router)
        case let .routerRemoved(address):
            routers.removeAll { $0.address == address }
            printer.note("tapvm: router \(address) gone")
        case let .multicastGroups(groups):
            // All-nodes (33:33:00:00:00:01) is on every macvtap's filter already, even with host IPv6 off (§4).
            program(Set(groups.filter { $0 != .allNodes }.map(\.multicastMAC)))
        case .configurationFlags:
            break
        case let .pingReply(target, _, roundTrip):
            pingReplies[target, default: []].append(roundTrip)
        case .pingTimeout:
            break
        case let .pingsFinished(target, sent, received):
            let replies = pingReplies.removeValue(forKey: target) ?? []
            let average: Duration? = replies.isEmpty ? nil : replies.reduce(.zero, +) / replies.count
            pingResults.append((target, sent, received, average))
            printer.print(GuestSession.pingLine(family: "ipv6", direction: "guest-to-lan", target: "\(target)", sent: sent,
                                                received: received, average: average))
        }
    }

    /// DNS configuration from a DHCPv6 Reply (RFC 3646).
    func dhcpv6Configuration(dnsServers: [IPv6Address], domainList: [String]) {
        dhcpv6DNSServers = dnsServers
        printer.print(EventLine("dhcpv6_configuration", [("family", .string("ipv6")),
                                                         ("dns", .array(dnsServers.map { .string("\($0)") })),
                                                         ("domains", .array(domainList.map { .string($0) }))],
                                human: "DHCPv6: DNS \(dnsServers.map { "\($0)" }.joined(separator: ", "))" +
                                    (domainList.isEmpty ? "" : ", search \(domainList.joined(separator: " "))")))
    }

    /// One `address` line per address when its DAD finishes (RFC 4862 §5.4): ok (preferred or already
    /// deprecated) or duplicate.
    private func address(_ info: IPv6AddressInfo) {
        let known = addresses.firstIndex { $0.address == info.address }
        switch info.state {
        case .tentative:
            return
        case .removed:
            if let known { addresses.remove(at: known) }
            printer.note("tapvm: IPv6 address \(info.address) (\(info.origin.rawValue)) removed")
            return
        case .preferred, .deprecated, .duplicate:
            if let known {
                addresses[known] = info
                return
            }
        }
        addresses.append(info)
        let ok = info.state != .duplicate
        let dadMilliseconds = GuestSession.milliseconds(info.changedAt - info.createdAt)
        let when = elapsed(info.changedAt)
        printer.print(EventLine("address", [
            ("family", .string("ipv6")), ("address", .string("\(info.address)")),
            ("prefix_length", .integer(Int64(info.prefixLength))), ("origin", .string(info.origin.rawValue)),
            ("dad", .string(ok ? "ok" : "duplicate")), ("elapsed_ms", .number(when)),
        ], human: String(format: "address: %@/%d (%@), DAD %@ after %.1f ms (%.1f ms since start)", "\(info.address)",
                         info.prefixLength, info.origin.rawValue, ok ? "ok" : "found a DUPLICATE, not used",
                         dadMilliseconds, when)))
    }

    /// One `router` line per router, again when its lifetime or DNS servers change (RFC 4861 §6.3.4, RFC 8106).
    private func router(_ router: IPv6Router) {
        if let index = routers.firstIndex(where: { $0.address == router.address }) {
            let old = routers[index]
            routers[index] = router
            guard old.lifetime != router.lifetime || old.dnsServers != router.dnsServers else { return }
        } else {
            routers.append(router)
        }
        let seconds = router.lifetime.components.seconds
        let dns = router.dnsServers.map { "\($0)" }
        printer.print(EventLine("router", [("address", .string("\(router.address)")), ("lifetime_seconds", .integer(seconds)),
                                          ("dns", .array(dns.map { .string($0) }))],
                                human: "router: \(router.address), lifetime \(seconds) s, M=\(router.managed ? 1 : 0) " +
                                    "O=\(router.other ? 1 : 0)" + (dns.isEmpty ? "" : ", DNS \(dns.joined(separator: ", "))") +
                                    (router.searchList.isEmpty ? "" : ", search \(router.searchList.joined(separator: " "))")))
    }

    /// Adds and removes groups on the host-side macvtap (`ip maddr`) so its filter holds exactly the guest's.
    private func program(_ wanted: Set<MACAddress>) {
        guard let hostLink else { return }
        for group in wanted.subtracting(programmed).sorted(by: { $0.description < $1.description }) {
            do {
                try hostLink.addMulticast(group)
                programmed.insert(group)
            } catch {
                reportFailure(error)
            }
        }
        for group in programmed.subtracting(wanted).sorted(by: { $0.description < $1.description }) {
            try? hostLink.deleteMulticast(group)
            programmed.remove(group)
        }
    }

    private func reportFailure(_ error: TapError) {
        guard !programmingFailed else { return }
        programmingFailed = true
        printer.print(EventLine("warning", [("warning", .string("cannot program multicast groups: \(error)"))],
                                human: "tapvm: cannot program the guest's multicast groups on \(hostLink?.name ?? "the macvtap"): \(error)"))
    }

    /// Removes the groups this run added (the macvtap outlives the run when it was not ours).
    func removeProgrammedGroups() {
        program([])
    }
}
