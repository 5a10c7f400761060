import Foundation
import HostTap
import Guest
import Synchronization
import Testing
@testable import TapVM
import Wire

/// IPv6 on the real lab (issue 5 item 8): SLAAC and RDNSS from dnsmasq's router advertisements, pings from the
/// server namespace to the SLAAC and link-local addresses, a stable-IID guest reached through the multicast groups
/// programmed on its macvtap, stateless and stateful DHCPv6 from dnsmasq (with the Release in dnsmasq's log), and
/// a DAD conflict with an address the server already holds. Root only; unique lab names; every lab torn down.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for network namespaces and macvtap"))
struct IPv6LabTests {
    static let prefix = IPv6Address("2001:db8:1::")!
    static let counter = Mutex(0)

    static func uniqueName() -> String {
        let n = counter.withLock { value -> Int in value += 1; return value }
        return "t6\(getpid() % 100_000)-\(n)"
    }

    /// A lab in `mode`, a guest on it (seeded, IPv6 on), `body`, then everything torn down.
    static func withGuest(_ mode: LabIPv6Mode = .slaac, mac: MACAddress? = nil, adjust: (inout RunOptions) -> Void = { _ in },
                          beforeBoot: (LabSegment) throws -> Void = { _ in },
                          _ body: (LabSegment, GuestSession) throws -> Void) throws {
        let lab = try LabSegment(name: uniqueName())
        try lab.up(LabConfiguration(ipv6: mode))
        defer { try? lab.down() }
        try beforeBoot(lab)
        var options = RunOptions(attachment: .lab(name: lab.name))
        options.seed = 66
        options.mac = mac
        adjust(&options)
        let session = try GuestSession(options: options, printer: EventPrinter(json: true), processStart: .now)
        defer { session.shutdown() }
        try body(lab, session)
    }

    static func address(_ session: GuestSession, _ origin: IPv6AddressOrigin) -> IPv6AddressInfo? {
        session.ipv6Addresses.first { $0.origin == origin }
    }

    /// Waits (bounded) for an address of `origin` whose DAD finished. Router solicitations are 4 s apart.
    static func waitForAddress(_ session: GuestSession, _ origin: IPv6AddressOrigin, timeout: Duration = .seconds(15)) -> IPv6AddressInfo? {
        session.pump(timeout: timeout) { address(session, origin) != nil }
        return address(session, origin)
    }

    @Test(.timeLimit(.minutes(1)))
    func slaacAddressIsThePrefixPlusTheIdentifierAndTheServerPingsItAndTheLinkLocal() throws {
        try Self.withGuest { lab, session in
            let identifier = IPv6Address.interfaceIdentifier(modifiedEUI64: session.mac)
            let global = try #require(Self.waitForAddress(session, .slaac))
            #expect(global.address == IPv6Address(prefix: Self.prefix, interfaceIdentifier: identifier))
            #expect(global.prefixLength == 64 && global.state == .preferred)
            let linkLocal = try #require(Self.address(session, .linkLocal))
            #expect(linkLocal.address == .linkLocal(interfaceIdentifier: identifier))
            // RDNSS (RFC 8106) from dnsmasq's RA.
            let router = try #require(session.ipv6Routers.first)
            #expect(router.address.isLinkLocal && router.dnsServers == [IPv6Address(LabSegment.serverIPv6Address)!])
            #expect(router.lifetime > .zero)
            #expect(try lab.pingFromServer("\(global.address)").received == 3)
            #expect(try lab.pingFromServer("\(linkLocal.address)%\(lab.serverInterface)").received == 3)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aStableIdentifierGuestIsReachableThroughTheGroupsProgrammedOnItsMacvtap() throws {
        try Self.withGuest(adjust: { $0.ipv6.interfaceIdentifier = .stable }) { lab, session in
            let global = try #require(Self.waitForAddress(session, .slaac))
            let eui64 = IPv6Address.interfaceIdentifier(modifiedEUI64: session.mac)
            #expect(global.address.low != eui64, "a stable identifier must not be the MAC's EUI-64")
            // The solicited-node group of the address is on the macvtap's filter (MACVTAP-FACTS §4)...
            let group = global.address.solicitedNodeMulticast.multicastMAC
            #expect(session.programmedMulticastGroups.contains(group))
            let link = MacvtapLink(name: try #require(session.createdInterface), netns: lab.clientNamespace)
            #expect(try link.multicastGroups().contains(group))
            // ...so the server's neighbour solicitation reaches the guest, and its pings are answered.
            #expect(try lab.pingFromServer("\(global.address)").received == 3)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func statelessDHCPv6ReportsTheDNSServer() throws {
        try Self.withGuest(.stateless) { _, session in
            #expect(Self.waitForAddress(session, .slaac) != nil)
            session.pump(timeout: .seconds(10)) { !session.dhcpv6DNSServers.isEmpty }
            #expect(session.dhcpv6DNSServers == [IPv6Address(LabSegment.serverIPv6Address)!])
            #expect(session.ipv6Routers.first.map { $0.other && !$0.managed } == true)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func statefulDHCPv6LeasesAnAddressFromDnsmasqAndReleasesItOnExit() throws {
        try Self.withGuest(.stateful) { lab, session in
            let leased = try #require(Self.waitForAddress(session, .dhcpv6, timeout: .seconds(20)))
            let range = IPv6Address("2001:db8:1::100")!.low ... IPv6Address("2001:db8:1::1ff")!.low
            #expect(leased.address.high == Self.prefix.high && range.contains(leased.address.low))
            #expect(leased.state == .preferred && leased.prefixLength == 128)
            // M=1 without A: no SLAAC address.
            #expect(Self.address(session, .slaac) == nil)
            #expect(try lab.pingFromServer("\(leased.address)").received == 3)
            session.shutdown()
            var released = false
            for _ in 0 ..< 50 where !released {
                released = ((try? String(contentsOfFile: lab.logFile, encoding: .utf8)) ?? "").contains("DHCPRELEASE(srv0)")
                if !released { usleep(20_000) }
            }
            let log = (try? String(contentsOfFile: lab.logFile, encoding: .utf8)) ?? ""
            #expect(released, "dnsmasq saw no DHCPv6 release: \(log.suffix(600))")
            #expect(log.contains("DHCPREPLY(srv0) \(leased.address)"))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anAddressAnotherHostHoldsFailsDADVisiblyAndIsNeverUsed() throws {
        let mac = MACAddress(0x02, 0x00, 0x00, 0x00, 0x06, 0x66)
        let taken = IPv6Address(prefix: Self.prefix, interfaceIdentifier: IPv6Address.interfaceIdentifier(modifiedEUI64: mac))
        try Self.withGuest(mac: mac, beforeBoot: { lab in
            // The server already holds the guest's future SLAAC address (and answers NS for it).
            try SystemCommand.check(["ip", "-n", lab.serverNamespace, "addr", "add", "\(taken)/64", "dev", lab.serverInterface, "nodad"])
        }) { _, session in
            let slaac = try #require(Self.waitForAddress(session, .slaac))
            #expect(slaac.address == taken)
            #expect(slaac.state == .duplicate)
            // The link-local address is unaffected; the duplicate is never a source.
            #expect(Self.address(session, .linkLocal)?.state == .preferred)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anExistingMacvtapWithHostIPv6IsQuietedOnRequest() throws {
        let lab = try LabSegment(name: Self.uniqueName())
        try lab.up()
        defer { try? lab.down() }
        // A macvtap made without tapvm: the host kernel runs IPv6 on it (MACVTAP-FACTS §7).
        for argv in [["ip", "-n", lab.clientNamespace, "link", "add", "link", lab.lowerInterface, "name", "mvq0", "address",
                      "02:00:00:00:06:71", "type", "macvtap", "mode", "bridge"],
                     ["ip", "netns", "exec", lab.clientNamespace, "sysctl", "-qw", "net/ipv6/conf/mvq0/disable_ipv6=0"],
                     ["ip", "-n", lab.clientNamespace, "link", "set", "mvq0", "up"]] {
            try SystemCommand.check(argv)
        }
        let link = MacvtapLink(name: "mvq0", netns: lab.clientNamespace)
        #expect(try !link.hostIPv6Addresses().isEmpty)
        var options = RunOptions(attachment: .interface(name: "mvq0", netns: lab.clientNamespace))
        options.ipv6.quietHost = true
        let session = try GuestSession(options: options, printer: EventPrinter(json: true), processStart: .now)
        defer { session.shutdown() }
        #expect(try link.hostIPv6Addresses().isEmpty)
        // Groups programmed on an existing macvtap are taken off again at the end of the run.
        session.pump(timeout: .seconds(3)) { !session.programmedMulticastGroups.isEmpty }
        let programmed = session.programmedMulticastGroups
        #expect(!programmed.isEmpty)
        session.shutdown()
        #expect(try Set(link.multicastGroups()).isDisjoint(with: programmed.subtracting([IPv6Address.allNodes.multicastMAC])))
    }
}
