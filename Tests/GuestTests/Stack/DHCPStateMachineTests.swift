import Testing
@testable import Guest
import Wire

/// INIT-REBOOT, NAK backoff, rapid commit, lease cap, options and counters, on a manual clock (RFC 2131 §3.2,
/// §4.3.2, §4.4; RFC 4039; RFC 8925).
@Suite struct DHCPStateMachineTests {
    static let remembered = DHCPLease(address: IPv4Address(198, 51, 100, 77), subnetMask: .mask(prefixLength: 24),
                                      router: Lab.server, dnsServers: [], server: Lab.server, leaseTime: .seconds(3600),
                                      renewalTime: .seconds(1800), rebindingTime: .seconds(3150), acquiredAt: .boot)

    func client(seed: UInt64 = 3, _ configure: (inout DHCPClient.Configuration) -> Void = { _ in }) -> DHCPClient {
        var configuration = DHCPClient.Configuration()
        configure(&configuration)
        return DHCPClient(mac: Lab.clientMAC, configuration: configuration, random: SeededGenerator(seed: seed))
    }

    func reply(_ type: DHCPMessageType, to message: DHCPMessage, address: IPv4Address = Lab.offered,
               extra: [DHCPOption] = []) -> DHCPMessage {
        var options: [DHCPOption] = [.messageType(type), .serverIdentifier(Lab.server)]
        if type != .nak { options.append(.ipAddressLeaseTime(3600)) }
        return DHCPMessage(op: .bootReply, transactionID: message.transactionID, yourAddress: type == .nak ? .any : address,
                           clientHardwareAddress: Lab.clientMAC, options: options + extra)
    }

    func transitions(_ events: [DHCPClient.Event]) -> [String] {
        events.compactMap { if case let .transition(t) = $0 { "\(t.from)→\(t.to)" } else { nil } }
    }

    func boundTimes(_ events: [DHCPClient.Event]) -> DHCPPhaseTimes? {
        events.compactMap { if case let .bound(_, times) = $0 { times } else { nil } }.first
    }

    // MARK: INIT-REBOOT

    @Test func initRebootRequestsTheRememberedAddressAndBindsOnACK() throws {
        var client = client { $0.rememberedLease = Self.remembered }
        client.start(now: .boot)
        #expect(client.state == .initReboot)
        let sent = client.poll(now: .boot)
        #expect(sent.count == 1 && sent[0].destination == .broadcast && sent[0].source == .any)
        let request = sent[0].message
        #expect(request.messageType == .request)
        #expect(request.requestedIPAddress == Self.remembered.address)
        #expect(request.serverIdentifier == nil && request.clientAddress == .any)
        #expect(client.state == .rebooting)
        let ackAt = Instant.boot + .milliseconds(3)
        #expect(client.handle(reply(.ack, to: request, address: Self.remembered.address), now: ackAt) == .accepted)
        #expect(client.state == .bound && client.lease?.address == Self.remembered.address)
        #expect(client.lease?.acquiredAt == .boot)
        let events = client.drainEvents()
        #expect(transitions(events) == ["INIT→INIT-REBOOT", "INIT-REBOOT→REBOOTING", "REBOOTING→BOUND"])
        let times = try #require(boundTimes(events))
        #expect(times == DHCPPhaseTimes(discoverSent: nil, offerReceived: nil, requestSent: .boot, ackReceived: ackAt,
                                        bound: ackAt, retransmissions: 0))
    }

    @Test func initRebootNAKGoesToInitAndDiscoversAtOnce() {
        var client = client { $0.rememberedLease = Self.remembered }
        client.start(now: .boot)
        let request = client.poll(now: .boot)[0].message
        let nak = reply(.nak, to: request, extra: [.string(.message, "wrong network")])
        #expect(client.handle(nak, now: .boot + .seconds(1)) == .accepted)
        #expect(client.state == .initial && client.counters.naks == 1)
        let events = client.drainEvents()
        #expect(events.contains(.nak(in: .rebooting, server: Lab.server, message: "wrong network")))
        #expect(!events.contains { if case .lost = $0 { true } else { false } })   // no lease was held
        let discover = client.poll(now: .boot + .seconds(1))
        #expect(discover.map(\.message.messageType) == [.discover])
        #expect(discover[0].message.requestedIPAddress == nil)
    }

    @Test func initRebootWithoutAnswerRetransmitsTwiceThenDiscovers() {
        var client = client(seed: 9) { $0.rememberedLease = Self.remembered }
        client.start(now: .boot)
        var log: [(Instant, DHCPMessageType?)] = []
        var now = Instant.boot
        while log.count < 4, let deadline = client.nextDeadline {
            now = max(now, deadline)
            log += client.poll(now: now).map { (now, $0.message.messageType) }
        }
        #expect(log.map(\.1) == [.request, .request, .request, .discover])
        let gaps = zip(log.dropFirst(), log).map { $0.0 - $1.0 }
        for (gap, nominal) in zip(gaps, [4, 8, 16] as [Int64]) {
            #expect(gap >= .seconds(nominal - 1) && gap <= .seconds(nominal + 1))
        }
        #expect(client.counters.retransmissions == 2)
        #expect(transitions(client.drainEvents()).suffix(2) == ["REBOOTING→INIT", "INIT→SELECTING"])
    }

    // MARK: NAK backoff

    @Test func repeatedNAKsBackOffLikeDhcpcdAndABindResetsIt() throws {
        var client = client()
        client.start(now: .boot)
        var now = Instant.boot
        var delays: [Duration] = []
        for _ in 0 ..< 9 {
            let discover = try #require(client.poll(now: now).first).message
            #expect(discover.messageType == .discover)
            client.handle(reply(.offer, to: discover), now: now)
            let request = client.poll(now: now)[0].message
            client.handle(reply(.nak, to: request), now: now)
            let nakAt = now
            now = try #require(client.nextDeadline)
            delays.append(now - nakAt)
        }
        #expect(delays == [0, 1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        #expect(client.counters.naks == 9)
        // A bind resets the backoff: the next NAK (while renewing) restarts at once.
        let discover = client.poll(now: now)[0].message
        client.handle(reply(.offer, to: discover), now: now)
        client.handle(reply(.ack, to: client.poll(now: now)[0].message), now: now)
        let lease = try #require(client.lease)
        let renew = client.poll(now: lease.renewAt)[0].message
        client.handle(reply(.nak, to: renew), now: lease.renewAt)
        #expect(client.nextDeadline == lease.renewAt)
        #expect(client.drainEvents().contains(.nak(in: .renewing, server: Lab.server, message: nil)))
    }

    // MARK: Rapid commit (RFC 4039)

    @Test func rapidCommitBindsOnAnACKInSelecting() throws {
        var client = client { $0.rapidCommit = true }
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        #expect(discover.hasRapidCommit)
        #expect(discover.options.map(\.code.rawValue).prefix(2) == [53, 80])
        // An ACK without option 80 is not a rapid commit.
        #expect(client.handle(reply(.ack, to: discover), now: .boot) == .ignored(.dhcpUnexpected))
        let ackAt = Instant.boot + .milliseconds(2)
        #expect(client.handle(reply(.ack, to: discover, extra: [.rapidCommit]), now: ackAt) == .accepted)
        #expect(client.state == .bound)
        let lease = try #require(client.lease)
        #expect(lease.acquiredAt == .boot && lease.server == Lab.server)
        let events = client.drainEvents()
        #expect(transitions(events) == ["INIT→SELECTING", "SELECTING→BOUND"])
        #expect(boundTimes(events) == DHCPPhaseTimes(discoverSent: .boot, offerReceived: nil, requestSent: nil,
                                                     ackReceived: ackAt, bound: ackAt))
    }

    @Test func withoutRapidCommitConfiguredARapidACKIsIgnored() {
        var client = client()
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        #expect(!discover.hasRapidCommit)
        #expect(client.handle(reply(.ack, to: discover, extra: [.rapidCommit]), now: .boot) == .ignored(.dhcpUnexpected))
        #expect(client.state == .selecting)
    }

    // MARK: Lease cap

    @Test(arguments: [
        // (cap, server T1, server T2, lease, T1, T2) in seconds
        (60, 1800, 3150, 60.0, 30.0, 52.5),     // server timers beyond the cap: 0.5 / 0.875 of the cap
        (60, 10, 20, 60.0, 10.0, 20.0),         // consistent server timers below the cap are kept
        (7200, 1000, 2000, 3600.0, 1000.0, 2000.0),   // a cap above the lease changes nothing
        (5, 1800, 3150, 5.0, 2.5, 4.375),        // the cap wins over the 20 s floor
    ] as [(Int64, UInt32, UInt32, Double, Double, Double)])
    func leaseCapShortensTheLeaseAndItsTimers(cap: Int64, t1: UInt32, t2: UInt32, lease: Double, renewal: Double, rebinding: Double) throws {
        var client = client { $0.leaseCap = .seconds(cap) }
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        client.handle(reply(.offer, to: discover), now: .boot)
        let request = client.poll(now: .boot)[0].message
        client.handle(reply(.ack, to: request, extra: [.uint32(.renewalTime, t1), .uint32(.rebindingTime, t2)]), now: .boot)
        let bound = try #require(client.lease)
        #expect(bound.leaseTime == .milliseconds(Int64(lease * 1000)))
        #expect(bound.renewalTime == .milliseconds(Int64(renewal * 1000)))
        #expect(bound.rebindingTime == .milliseconds(Int64(rebinding * 1000)))
        #expect(bound.offeredLeaseTime == .seconds(3600))
        // The client renews at the capped T1.
        #expect(client.nextDeadline == bound.renewAt)
        #expect(client.poll(now: bound.renewAt).map(\.message.messageType) == [.request])
        #expect(client.state == .renewing)
    }

    // MARK: Options

    @Test func theLeaseCarriesEveryParsedOptionAndTheRawOnes() throws {
        var client = client()
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        client.handle(reply(.offer, to: discover), now: .boot)
        let request = client.poll(now: .boot)[0].message
        let extra: [DHCPOption] = [
            .address(.subnetMask, .mask(prefixLength: 24)), .addresses(.router, [Lab.peer]),
            .addresses(.domainNameServer, [Lab.dns]), .string(.domainName, "lab.example"),
            .uint16(.interfaceMTU, 1400), .address(.broadcastAddress, IPv4Address(198, 51, 100, 255)),
            .addresses(.ntpServers, [IPv4Address(192, 0, 2, 123)]), .domainSearch(["lab.example", "example.net"]),
            .classlessStaticRoutes([DHCPClasslessRoute(destination: .any, prefixLength: 0, router: Lab.server),
                                    DHCPClasslessRoute(destination: IPv4Address(10, 0, 0, 0), prefixLength: 8, router: Lab.peer)]),
            .uint32(.ipv6OnlyPreferred, 1800), DHCPOption(code: DHCPOptionCode(224), data: [1, 2, 3]),
        ]
        let ack = reply(.ack, to: request, extra: extra)
        client.handle(ack, now: .boot)
        let lease = try #require(client.lease)
        // RFC 3442 §4: with option 121 the Router option is ignored; the default route's router is used.
        #expect(lease.router == Lab.server && lease.routers.isEmpty)
        #expect(lease.classlessStaticRoutes.map(\.description) == ["0.0.0.0/0 via 198.51.100.1", "10.0.0.0/8 via 198.51.100.66"])
        #expect(lease.dnsServers == [Lab.dns] && lease.domainName == "lab.example")
        #expect(lease.interfaceMTU == 1400 && lease.broadcastAddress == IPv4Address(198, 51, 100, 255))
        #expect(lease.ntpServers == [IPv4Address(192, 0, 2, 123)])
        #expect(lease.domainSearch == ["lab.example", "example.net"])
        #expect(lease.ipv6OnlyPreferredWait == 1800)
        #expect(lease.rawOptions == ack.options)
        // 108 is reported, not acted on without `ipv6OnlyPreferred`.
        #expect(client.state == .bound)
    }

    @Test func withoutOption121TheFirstRouterIsUsed() throws {
        let message = DHCPMessage(op: .bootReply, yourAddress: Lab.offered,
                                  options: [.ipAddressLeaseTime(600), .addresses(.router, [Lab.peer, Lab.server])])
        let lease = try #require(DHCPLease(acknowledgement: message, acquiredAt: .boot))
        #expect(lease.router == Lab.peer && lease.routers == [Lab.peer, Lab.server])
        // A malformed option 121 is ignored as a whole, so option 3 applies.
        var bad = message
        bad.options.append(DHCPOption(code: .classlessStaticRoute, data: [33, 1, 2, 3, 4, 5, 6, 7, 8]))
        #expect(DHCPLease(acknowledgement: bad, acquiredAt: .boot)?.router == Lab.peer)
    }

    @Test func option121DefaultRouteViaZeroIsOnLinkNotARouter() throws {
        // RFC 3442 §4: a router of 0.0.0.0 means the destination is on-link.
        let onLink = DHCPClasslessRoute(destination: .any, prefixLength: 0, router: .any)
        let message = DHCPMessage(op: .bootReply, yourAddress: Lab.offered,
                                  options: [.ipAddressLeaseTime(600), .address(.subnetMask, IPv4Address(255, 255, 255, 0)),
                                            .addresses(.router, [Lab.peer]), .classlessStaticRoutes([onLink])])
        let lease = try #require(DHCPLease(acknowledgement: message, acquiredAt: .boot))
        #expect(lease.router == nil && lease.defaultRouteIsOnLink)
        let interface = IPv4Interface(lease: lease)
        let offLink = IPv4Address(203, 0, 113, 9)
        #expect(interface.router == nil && interface.route(offLink) == .neighbor(offLink))
        #expect(interface.route(Lab.peer) == .neighbor(Lab.peer))
        // A default route via a real router still goes through it.
        var routed = message
        routed.options[3] = .classlessStaticRoutes([DHCPClasslessRoute(destination: .any, prefixLength: 0, router: Lab.server)])
        let routedLease = try #require(DHCPLease(acknowledgement: routed, acquiredAt: .boot))
        #expect(routedLease.router == Lab.server && !routedLease.defaultRouteIsOnLink)
        #expect(IPv4Interface(lease: routedLease).route(offLink) == .neighbor(Lab.server))
    }

    @Test func discoverOptionsFollowTheConfiguration() {
        func discover(_ configure: (inout DHCPClient.Configuration) -> Void) -> DHCPMessage {
            var client = client(configure)
            client.start(now: .boot)
            return client.poll(now: .boot)[0].message
        }
        let plain = discover { _ in }
        #expect(plain.clientIdentifier == [1] + Lab.clientMAC.array)
        #expect(plain.parameterRequestList.map(\.rawValue) == [1, 3, 6, 15, 26, 28, 42, 119, 121, 51, 54, 58, 59])
        #expect(plain.maximumMessageSize == 1500 && plain.requestedIPAddress == nil)

        // RFC 4361: 255, the IAID (the MAC's last 4 bytes), DUID-LL (0003 0001 MAC): deterministic.
        let duid = discover { $0.clientIdentifier = .duid() }
        #expect(duid.clientIdentifier == [255, 0x5e, 0x10, 0x20, 0xaa, 0, 3, 0, 1] + Lab.clientMAC.array)
        let explicit = discover { $0.clientIdentifier = .duid(iaid: 7, duid: [0, 4, 9, 9]) }
        #expect(explicit.clientIdentifier == [255, 0, 0, 0, 7, 0, 4, 9, 9])
        #expect(discover { $0.clientIdentifier = .raw([0, 0x61, 0x62]) }.clientIdentifier == [0, 0x61, 0x62])
        #expect(discover { $0.clientIdentifier = .raw([1]) }.clientIdentifier == nil)
        #expect(!DHCPClientIdentifier.raw([]).isValid && DHCPClientIdentifier.raw([1, 2]).isValid)

        let requested = discover { $0.requestedAddress = Lab.peer; $0.maximumMessageSize = 1400 }
        #expect(requested.requestedIPAddress == Lab.peer && requested.maximumMessageSize == 1400)
        #expect(discover { $0.ipv6OnlyPreferred = true }.parameterRequestList.last == .ipv6OnlyPreferred)
    }

    @Test func anIPv6OnlyPreferredOfferPausesDHCPv4WhenConfigured() throws {
        var client = client { $0.ipv6OnlyPreferred = true }
        client.start(now: .boot)
        let discover = client.poll(now: .boot)[0].message
        // 100 s is below MIN_V6ONLY_WAIT: 300 s is used (RFC 8925 §3.2).
        #expect(client.handle(reply(.offer, to: discover, extra: [.uint32(.ipv6OnlyPreferred, 100)]), now: .boot) == .accepted)
        #expect(client.state == .initial && client.nextDeadline == .boot + .seconds(300))
        #expect(client.drainEvents().contains(.ipv6OnlyPreferred(wait: .seconds(300))))
        #expect(client.poll(now: .boot + .seconds(299)).isEmpty)
        #expect(client.poll(now: .boot + .seconds(300)).map(\.message.messageType) == [.discover])
    }

    @Test func retransmissionsAreCountedPerExchangeAndInTotal() throws {
        var client = client(seed: 12)
        client.start(now: .boot)
        var now = Instant.boot
        var discover: DHCPMessage?
        for _ in 0 ..< 3 {
            now = try #require(client.nextDeadline)
            discover = client.poll(now: now).first?.message
        }
        client.handle(reply(.offer, to: try #require(discover)), now: now)
        let request = client.poll(now: now)[0].message
        let retry = try #require(client.nextDeadline)
        #expect(client.poll(now: retry).map(\.message.messageType) == [.request])
        client.handle(reply(.ack, to: request), now: retry)
        let times = try #require(boundTimes(client.drainEvents()))
        #expect(times.retransmissions == 3 && client.counters.retransmissions == 3)
        #expect(times.discoverSent == .boot && times.requestSent == now)
    }
}
