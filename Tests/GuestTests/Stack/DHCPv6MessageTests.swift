import Testing
@testable import Guest
import Wire

/// Release and Decline (RFC 8415 §18.2.7, §18.2.8), byte for byte.
@Suite struct DHCPv6ReleaseDeclineTests {
    /// The client's Client ID option: OPTION_CLIENTID (1), length 10, DUID-LL type 3, hardware type 1, the MAC.
    static let clientIDOption: [UInt8] = [0x00, 0x01, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x20, 0xaa]
    /// OPTION_SERVERID (2), length 10, DUID-LL of 02:00:5e:10:20:01.
    static let serverIDOption: [UInt8] = [0x00, 0x02, 0x00, 0x0a, 0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x01]

    /// OPTION_IA_NA (3) of IAID 0x5e1020aa (the MAC's last four bytes), T1 = T2 = 0, one IAADDR (5) with 0 lifetimes.
    static func iaNA(_ address: [UInt8]) -> [UInt8] {
        [0x00, 0x03, 0x00, 0x28, 0x5e, 0x10, 0x20, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0,
         0x00, 0x05, 0x00, 0x18] + address + [0, 0, 0, 0, 0, 0, 0, 0]
    }

    static let leasedBytes: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x23]
    static let secondBytes: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x24]

    @Test func releaseBytesAndRetransmissionsUpToRelMaxRC() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        _ = client.drainEvents()
        let now = Instant.boot + .seconds(60)
        client.release(now: now)
        #expect(client.drainEvents() == [.addressLost(V6Lab.leased, reason: "released"),
                                         .transition(.init(from: .bound, to: .releasing, at: now))])
        #expect(client.lease == nil)
        let first = client.poll(now: now)
        #expect(first.count == 1 && first[0].destination == IPv6Address("ff02::1:2"))
        let xid = client.transactionID
        let header: [UInt8] = [0x08, UInt8(xid >> 16), UInt8(truncatingIfNeeded: xid >> 8), UInt8(truncatingIfNeeded: xid)]
        let elapsedZero: [UInt8] = [0x00, 0x08, 0x00, 0x02, 0x00, 0x00]
        #expect(try encoded(first[0].message)
                == header + Self.clientIDOption + Self.serverIDOption + Self.iaNA(Self.leasedBytes) + elapsedZero)
        // REL_TIMEOUT 1 s doubling, REL_MAX_RC 4: three more, then RELEASED and silence.
        let more = client.run(from: now, until: now + .seconds(3600))
        #expect(more.count == 3 && more.allSatisfy { $0.outgoing.message.messageType == .release })
        let times = [now] + more.map(\.at)
        let gaps = zip(times.dropFirst(), times).map { ($0 - $1).seconds }
        #expect(gaps[0] >= 0.9 && gaps[0] <= 1.1)
        #expect(gaps[1] >= 1.9 * gaps[0] - 1e-3 && gaps[1] <= 2.1 * gaps[0] + 1e-3)
        #expect(more.last!.outgoing.message.elapsedTime == UInt16((more.last!.at - now).nanoseconds / 10_000_000))
        #expect(client.state == .released && client.nextDeadline == nil)
    }

    @Test func aReplyEndsTheReleaseAndAClientWithoutBindingJustStops() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        client.release(now: .boot)
        let release = client.poll(now: .boot)[0].message
        #expect(client.handle(V6Server().answer(.reply, to: release, status: .success, withIA: false),
                              from: V6Lab.serverAddress, now: .boot) == .accepted)
        #expect(client.state == .released && client.nextDeadline == nil)

        var idle = V6Lab.client()
        idle.start(.stateless, now: .boot)
        idle.release(now: .boot)
        #expect(idle.poll(now: .boot).isEmpty && idle.state == .released)
    }

    @Test func declineAfterDADFailureCarriesOnlyTheDuplicate() throws {
        var client = V6Lab.client()
        var server = V6Server()
        server.addresses = [V6Lab.leased, V6Lab.second]
        client.bindQuickly(server: server)
        let lease = try #require(client.lease)
        _ = client.drainEvents()
        let now = Instant.boot + .milliseconds(1500)
        let unknown = client.decline(IPv6Address("2001:db8:1::99")!, now: now)
        let known = client.decline(V6Lab.second, now: now)
        #expect(!unknown && known)
        #expect(client.drainEvents() == [.addressLost(V6Lab.second, reason: "duplicate address detected"),
                                         .transition(.init(from: .bound, to: .declining, at: now))])
        let decline = try #require(client.poll(now: now).first)
        let xid = client.transactionID
        let header: [UInt8] = [0x09, UInt8(xid >> 16), UInt8(truncatingIfNeeded: xid >> 8), UInt8(truncatingIfNeeded: xid)]
        #expect(try encoded(decline.message) == header + Self.clientIDOption + Self.serverIDOption + Self.iaNA(Self.secondBytes)
                + [0x00, 0x08, 0x00, 0x02, 0x00, 0x00])
        // DEC_MAX_RC 4 without a Reply, then back to BOUND with the remaining address and the old T1.
        let more = client.run(from: now, until: now + .seconds(100))
        #expect(more.map(\.outgoing.message.messageType) == [.decline, .decline, .decline])
        #expect(client.state == .bound && client.lease?.addresses.map(\.address) == [V6Lab.leased])
        #expect(client.nextDeadline == lease.renewAt)
    }

    @Test func decliningTheOnlyAddressSolicitsAgainAfterTheReply() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        let declined = client.decline(V6Lab.leased, now: .boot + .seconds(2))
        #expect(declined)
        let decline = try #require(client.poll(now: .boot + .seconds(2)).first?.message)
        #expect(client.handle(V6Server().answer(.reply, to: decline, withIA: false), from: V6Lab.serverAddress,
                              now: .boot + .seconds(3)) == .accepted)
        #expect(client.state == .soliciting && client.lease == nil)
        #expect(client.sentTypes(now: .boot + .seconds(3)) == [.solicit])
    }
}

/// Information-request for stateless configuration (RFC 8415 §18.2.6, §21.23).
@Suite struct DHCPv6StatelessTests {
    func informed(refresh: UInt32?) throws -> (client: DHCPv6Client, replyTime: Instant) {
        var client = V6Lab.client()
        client.start(.stateless, now: .boot)
        let request = try #require(client.poll(now: .boot).first)
        #expect(request.message.messageType == .informationRequest && request.destination == DHCPv6Client.allServers)
        #expect(request.message.identityAssociations.isEmpty && request.message.serverIdentifier == nil)
        #expect(request.message.clientIdentifier == DUID.linkLayer(V6Lab.clientMAC))
        #expect(request.message.optionRequest == [.dnsServers, .domainList, .informationRefreshTime, .solMaxRT, DHCPv6OptionCode(83)])
        var options: [DHCPv6Option] = [.serverIdentifier(V6Lab.serverDUID), .clientIdentifier(client.duid),
                                       .dnsServers([V6Lab.dns]), try .domainList(["lab.example", "example"])]
        if let refresh { options.append(.informationRefreshTime(refresh)) }
        let reply = DHCPv6Message(messageType: .reply, transactionID: request.message.transactionID, options: options)
        let replyTime = Instant.boot + .milliseconds(30)
        #expect(client.handle(reply, from: V6Lab.serverAddress, now: replyTime) == .accepted)
        return (client, replyTime)
    }

    @Test(arguments: [
        (nil, 86_400),      // IRT_DEFAULT
        (100, 600),         // below IRT_MINIMUM
        (7200, 7200),
        (UInt32.max, nil),  // infinity: never refresh
    ] as [(UInt32?, Int64?)])
    func refreshTimeIsHonouredWithItsMinimum(refresh: UInt32?, expected: Int64?) throws {
        var (client, replyTime) = try informed(refresh: refresh)
        #expect(client.state == .informed)
        #expect(client.nextDeadline == expected.map { replyTime + .seconds($0) })
        #expect(client.drainEvents().contains(.configuration(dnsServers: [V6Lab.dns], domainList: ["lab.example", "example"])))
        if let expected {
            #expect(client.poll(now: replyTime + .seconds(expected) - .milliseconds(1)).isEmpty)
            let again = client.poll(now: replyTime + .seconds(expected))
            #expect(again.map(\.message.messageType) == [.informationRequest] && again[0].message.elapsedTime == 0)
        }
    }

    @Test func informationRequestsRetransmitUpToInfMaxRT() throws {
        var client = V6Lab.client()
        client.start(.stateless, now: .boot)
        let sent = client.run(from: .boot, until: .boot + .seconds(15_000))
        #expect(sent.allSatisfy { $0.outgoing.message.messageType == .informationRequest })
        let gaps = zip(sent.dropFirst(), sent).map { ($0.at - $1.at).seconds }
        #expect(gaps[0] >= 0.9 && gaps[0] <= 1.1)
        #expect(gaps.allSatisfy { $0 <= 3960 + 1e-3 } && gaps.last! >= 3240 - 1e-3)
    }

    @Test func routerAdvertisementFlagsStartTheRightModeOnce() {
        #expect(DHCPv6Client.mode(managed: true, otherConfiguration: false) == .stateful)
        #expect(DHCPv6Client.mode(managed: true, otherConfiguration: true) == .stateful)
        #expect(DHCPv6Client.mode(managed: false, otherConfiguration: true) == .stateless)
        #expect(DHCPv6Client.mode(managed: false, otherConfiguration: false) == nil)
        var client = V6Lab.client()
        client.routerAdvertisement(managed: false, otherConfiguration: false, now: .boot)
        #expect(client.state == .idle && client.poll(now: .boot).isEmpty)
        client.routerAdvertisement(managed: false, otherConfiguration: true, now: .boot)
        #expect(client.sentTypes(now: .boot) == [.informationRequest])
        client.routerAdvertisement(managed: false, otherConfiguration: true, now: .boot + .milliseconds(10))
        #expect(client.poll(now: .boot + .milliseconds(10)).isEmpty)
        // M appears: the stateless client switches to Solicit; later RAs change nothing.
        client.routerAdvertisement(managed: true, otherConfiguration: true, now: .boot + .milliseconds(20))
        #expect(client.sentTypes(now: .boot + .milliseconds(20)) == [.solicit])
        client.routerAdvertisement(managed: true, otherConfiguration: false, now: .boot + .milliseconds(30))
        client.routerAdvertisement(managed: false, otherConfiguration: true, now: .boot + .milliseconds(30))
        #expect(client.poll(now: .boot + .milliseconds(30)).isEmpty && client.mode == .stateful)
    }
}

/// DUIDs, IAID, determinism and robustness.
@Suite struct DHCPv6IdentityTests {
    @Test func duidLLIsTheDefaultAndIAIDComesFromTheMAC() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let solicit = try #require(client.poll(now: .boot).first?.message)
        #expect(solicit.option(.clientIdentifier)?.data == [0x00, 0x03, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x20, 0xaa])
        #expect(solicit.identityAssociations == [DHCPv6IANA(iaid: 0x5e10_20aa)])
        #expect(solicit.optionRequest == [.dnsServers, .domainList, .solMaxRT, DHCPv6OptionCode(83)])
        #expect(solicit.elapsedTime == 0 && solicit.transactionID <= 0x00FF_FFFF)
    }

    @Test func duidLLTCarriesTheGivenTime() throws {
        let time = DHCPv6Client.duidTime(unixSeconds: 1_700_000_000)
        #expect(time == 0x2ce6_ad80)
        #expect(DHCPv6Client.duidTime(unixSeconds: 946_684_800) == 0)
        var client = V6Lab.client { $0.identity = .linkLayerPlusTime(time: time) }
        client.start(.stateful, now: .boot)
        let solicit = try #require(client.poll(now: .boot).first?.message)
        // type 1 (LLT), hardware type 1, time, MAC.
        #expect(solicit.option(.clientIdentifier)?.data
                == [0x00, 0x01, 0x00, 0x01, 0x2c, 0xe6, 0xad, 0x80, 0x02, 0x00, 0x5e, 0x10, 0x20, 0xaa])
    }

    @Test func randomIAIDIsDrawnFromTheSeed() {
        let a = V6Lab.client(seed: 1) { $0.iaid = .random }
        let b = V6Lab.client(seed: 1) { $0.iaid = .random }
        let c = V6Lab.client(seed: 2) { $0.iaid = .random }
        #expect(a.iaid == b.iaid && a.iaid != c.iaid)
        #expect(V6Lab.client { $0.iaid = .fixed(42) }.iaid == 42)
    }

    /// A full life (delayed Solicit, two Advertises, Request, Renew, Rebind, Release) as bytes with when.
    func transcript(seed: UInt64) throws -> [String] {
        var configuration = DHCPv6Client.Configuration()
        configuration.rapidCommit = true
        var client = DHCPv6Client(mac: V6Lab.clientMAC, configuration: configuration, random: SeededGenerator(seed: seed))
        var lines: [String] = []
        func record(_ sent: [(at: Instant, outgoing: DHCPv6Client.Outgoing)]) throws {
            for (at, outgoing) in sent { lines.append("\(at) \(outgoing.destination) \(try encoded(outgoing.message))") }
        }
        client.start(.stateful, now: .boot)
        let solicits = client.run(from: .boot, until: .boot + .seconds(5))
        try record(solicits)
        let solicit = try #require(solicits.last?.outgoing.message)
        var other = V6Server(duid: V6Lab.otherServerDUID)
        other.addresses = [V6Lab.second]
        client.handle(other.advertise(solicit), from: V6Lab.serverAddress, now: .boot + .seconds(5))
        client.handle(V6Server().advertise(solicit), from: V6Lab.serverAddress, now: .boot + .seconds(5))
        let requests = client.run(from: .boot + .seconds(5), until: .boot + .seconds(6))
        try record(requests)
        let request = try #require(requests.first?.outgoing.message)
        client.handle(V6Server().reply(request), from: V6Lab.serverAddress, now: .boot + .seconds(6))
        try record(client.run(from: .boot + .seconds(6), until: .boot + .seconds(2000)))
        client.release(now: .boot + .seconds(2000))
        try record(client.run(from: .boot + .seconds(2000), until: .boot + .seconds(2100)))
        return lines
    }

    @Test func theSameSeedGivesTheSameBytes() throws {
        let first = try transcript(seed: 11)
        #expect(first.count > 10)
        #expect(try transcript(seed: 11) == first)
        #expect(try transcript(seed: 12) != first)
    }

    @Test func twoThousandRandomAndMutatedRepliesNeverTrap() throws {
        var generator = SeededGenerator(seed: 99)
        var accepted = 0
        for round in 0 ..< 2000 {
            var client = V6Lab.client(seed: UInt64(round))
            // Reach a state that takes replies: soliciting, requesting, renewing or informing.
            let phase = round % 4
            var last: DHCPv6Message
            if phase == 3 {
                client.start(.stateless, now: .boot)
                last = client.poll(now: .boot)[0].message
            } else {
                client.start(.stateful, now: .boot)
                last = client.poll(now: .boot)[0].message
                if phase >= 1 {
                    var server = V6Server()
                    server.preference = 255
                    client.handle(server.advertise(last), from: V6Lab.serverAddress, now: .boot)
                    last = client.poll(now: .boot)[0].message
                }
                if phase == 2 {
                    client.handle(V6Server().reply(last), from: V6Lab.serverAddress, now: .boot)
                    let t1 = try #require(client.lease?.renewAt)
                    last = client.poll(now: t1)[0].message
                }
            }
            var server = V6Server(extra: [.dnsServers([V6Lab.dns]), .solMaxRT(UInt32.random(in: 0 ... 100_000, using: &generator)),
                                          .informationRefreshTime(UInt32.random(in: .min ... .max, using: &generator))])
            server.t1 = UInt32.random(in: .min ... .max, using: &generator)
            server.t2 = UInt32.random(in: .min ... .max, using: &generator)
            server.preferred = UInt32.random(in: .min ... .max, using: &generator)
            server.valid = UInt32.random(in: .min ... .max, using: &generator)
            var bytes = try encoded(Bool.random(using: &generator) ? server.advertise(last) : server.reply(last))
            // Mutate: flip bytes, truncate, or append garbage; sometimes replace everything with noise.
            switch Int.random(in: 0 ..< 4, using: &generator) {
            case 0:
                for _ in 0 ..< Int.random(in: 1 ... 8, using: &generator) {
                    bytes[Int.random(in: 0 ..< bytes.count, using: &generator)] = UInt8.random(in: .min ... .max, using: &generator)
                }
            case 1: bytes.removeLast(Int.random(in: 0 ..< bytes.count, using: &generator))
            case 2: bytes += (0 ..< Int.random(in: 1 ... 40, using: &generator)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            default: bytes = (0 ..< Int.random(in: 0 ... 120, using: &generator)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            }
            let now = Instant.boot + .seconds(Int64(round % 7))
            let disposition = bytes.withUnsafeBytes { client.handle(payload: $0, from: V6Lab.serverAddress, now: now) }
            if disposition == .accepted { accepted += 1 }
            // Whatever happened, the client keeps its invariants and can go on.
            _ = client.poll(now: now + .seconds(1))
            #expect(client.transactionID <= 0x00FF_FFFF)
            if let lease = client.lease, client.state == .bound {
                #expect(!lease.addresses.isEmpty)
                #expect(lease.addresses.allSatisfy { $0.preferredLifetime <= $0.validLifetime && $0.validLifetime > 0 })
            }
            _ = client.drainEvents()
        }
        #expect(accepted > 0)
    }
}
