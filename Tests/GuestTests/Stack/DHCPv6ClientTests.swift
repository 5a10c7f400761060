import Testing
@testable import Guest
import Wire

/// The DHCPv6 client's stateful exchanges on a manual clock (RFC 8415 §15, §18.2).
@Suite struct DHCPv6SolicitTests {
    @Test func solicitRetransmissionsFollowSection15UpToSolMaxRT() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let sent = client.run(from: .boot, until: .boot + .seconds(20_000))
        #expect(sent.allSatisfy { $0.outgoing.message.messageType == .solicit && $0.outgoing.destination == DHCPv6Client.allServers })
        #expect(Set(sent.map(\.outgoing.message.transactionID)).count == 1)
        #expect(sent.count > 14)
        let gaps = zip(sent.dropFirst(), sent).map { ($0.at - $1.at).seconds }
        // First RT: IRT + RAND·IRT with RAND in (0, 0.1] (§18.2.1: strictly greater than IRT).
        #expect(gaps[0] > 1.0 && gaps[0] <= 1.1)
        var capped = 0
        for (gap, previous) in zip(gaps.dropFirst(), gaps) {
            let doubled = gap >= 1.9 * previous - 1e-3 && gap <= 2.1 * previous + 1e-3 && gap <= 3600
            let atCap = gap >= 3240 - 1e-3 && gap <= 3960 + 1e-3
            #expect(doubled || atCap, "gap \(gap) after \(previous)")
            if atCap && !doubled { capped += 1 }
        }
        #expect(capped >= 2)
        #expect(gaps.allSatisfy { $0 <= 3960 + 1e-3 })
        // Elapsed Time: 0 in the first, then hundredths since it, saturating at 0xFFFF (§21.9).
        for (at, outgoing) in sent {
            let expected = min(Int((at - sent[0].at).nanoseconds / 10_000_000), 0xFFFF)
            #expect(outgoing.message.elapsedTime.map(Int.init) == expected)
        }
        #expect(sent[0].outgoing.message.elapsedTime == 0)
        #expect(sent.last?.outgoing.message.elapsedTime == 0xFFFF)
    }

    @Test func onlySolicitDrawsAStrictlyPositiveFirstRAND() {
        var solicitFirst: [Double] = []
        var informationFirst: [Double] = []
        for seed in 0 ..< 200 as Range<UInt64> {
            var stateful = V6Lab.client(seed: seed)
            stateful.start(.stateful, now: .boot)
            _ = stateful.poll(now: .boot)
            solicitFirst.append((stateful.nextDeadline! - .boot).seconds)
            var stateless = V6Lab.client(seed: seed)
            stateless.start(.stateless, now: .boot)
            _ = stateless.poll(now: .boot)
            informationFirst.append((stateless.nextDeadline! - .boot).seconds)
        }
        #expect(solicitFirst.allSatisfy { $0 > 1.0 && $0 <= 1.1 })
        #expect(informationFirst.allSatisfy { $0 >= 0.9 && $0 <= 1.1 })
        #expect(informationFirst.contains { $0 < 1.0 })
    }

    @Test func theFirstSolicitWaitsARandomDelayOfAtMostSolMaxDelay() {
        var delays: Set<Instant> = []
        for seed in 0 ..< 20 as Range<UInt64> {
            var client = DHCPv6Client(mac: V6Lab.clientMAC, random: SeededGenerator(seed: seed))
            client.start(.stateful, now: .boot)
            let deadline = client.nextDeadline!
            #expect(deadline >= .boot && deadline <= .boot + .seconds(1))
            if deadline > .boot { #expect(client.poll(now: deadline - .milliseconds(1)).isEmpty) }
            #expect(client.sentTypes(now: deadline) == [.solicit])
            delays.insert(deadline)
        }
        #expect(delays.count > 10)
    }

    @Test func advertisesAreCollectedForTheFirstRTAndTheMostPreferredWins() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        let firstRT = try #require(client.nextDeadline)
        var low = V6Server(duid: V6Lab.otherServerDUID)
        low.preference = 10
        var high = V6Server()
        high.preference = 50
        high.addresses = [V6Lab.second]
        #expect(client.handle(low.advertise(solicit), from: V6Lab.serverAddress, now: .boot + .milliseconds(300)) == .accepted)
        #expect(client.handle(high.advertise(solicit), from: V6Lab.serverAddress, now: .boot + .milliseconds(500)) == .accepted)
        #expect(client.poll(now: .boot + .milliseconds(600)).isEmpty)
        #expect(client.poll(now: firstRT - .milliseconds(1)).isEmpty)
        let request = try #require(client.poll(now: firstRT).first?.message)
        #expect(request.messageType == .request)
        #expect(request.serverIdentifier == V6Lab.serverDUID)
        #expect(request.identityAssociations.first?.addresses.map(\.address) == [V6Lab.second])
        #expect(request.transactionID != solicit.transactionID)
        #expect(request.elapsedTime == 0)
        #expect(client.transitionNames() == ["IDLE→SOLICITING", "SOLICITING→REQUESTING"])
    }

    @Test func preference255IsRequestedAtOnce() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        var server = V6Server()
        server.preference = 255
        #expect(client.handle(server.advertise(solicit), from: V6Lab.serverAddress, now: .boot + .milliseconds(200)) == .accepted)
        #expect(client.state == .requesting)
        #expect(client.sentTypes(now: .boot + .milliseconds(200)) == [.request])
    }

    @Test func afterTheFirstRTTheFirstAdvertiseIsRequestedAtOnce() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        _ = client.poll(now: .boot)
        let firstRT = try #require(client.nextDeadline)
        let retransmitted = try #require(client.poll(now: firstRT).first?.message)
        #expect(retransmitted.messageType == .solicit)
        let later = firstRT + .milliseconds(100)
        #expect(client.handle(V6Server().advertise(retransmitted), from: V6Lab.serverAddress, now: later) == .accepted)
        #expect(client.sentTypes(now: later) == [.request])
    }

    @Test func advertisesWithNoAddrsAvailAreIgnoredButTheirSolMaxRTCounts() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        var topLevel = V6Server(extra: [.solMaxRT(120)]).answer(.advertise, to: solicit, status: .noAddressesAvailable, withIA: false)
        topLevel.options.removeAll { $0.code == .iaNA }
        let inIA = V6Server(duid: V6Lab.otherServerDUID).answer(.advertise, to: solicit, iaStatus: .noAddressesAvailable)
        var empty = V6Server()
        empty.addresses = []
        #expect(client.handle(topLevel, from: V6Lab.serverAddress, now: .boot) == .ignored(.noAddressesAvailable))
        #expect(client.handle(inIA, from: V6Lab.serverAddress, now: .boot) == .ignored(.noAddressesAvailable))
        #expect(client.handle(empty.advertise(solicit), from: V6Lab.serverAddress, now: .boot) == .ignored(.noAddressesAvailable))
        #expect(client.ignoredMessages[.noAddressesAvailable] == 3)
        #expect(client.solicitMaximum == .seconds(120))
        // Nothing was collected: the Solicit goes on, now capped at 120 s ± 10 %.
        let sent = client.run(from: .boot, until: .boot + .seconds(1000))
        #expect(sent.allSatisfy { $0.outgoing.message.messageType == .solicit })
        let gaps = zip(sent.dropFirst(), sent).map { ($0.at - $1.at).seconds }
        #expect(gaps.allSatisfy { $0 <= 132 + 1e-3 })
        #expect(gaps.suffix(2).allSatisfy { $0 >= 108 - 1e-3 })
        // An out-of-range SOL_MAX_RT (below 60 s) is ignored (§21.24).
        let small = V6Server(extra: [.solMaxRT(30)]).answer(.advertise, to: sent.last!.outgoing.message, iaStatus: .noAddressesAvailable)
        client.handle(small, from: V6Lab.serverAddress, now: .boot + .seconds(1000))
        #expect(client.solicitMaximum == .seconds(120))
    }

    @Test func wrongTransactionClientOrServerIdentifiersAreIgnoredAndCounted() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        var server = V6Server()
        server.preference = 255
        var wrongXID = server.advertise(solicit)
        wrongXID.transactionID ^= 1
        var otherClient = server.advertise(solicit)
        otherClient.options.removeAll { $0.code == .clientIdentifier }
        otherClient.options.append(.clientIdentifier(.linkLayer(MACAddress(2, 0, 0, 0, 0, 9))))
        var noClient = server.advertise(solicit)
        noClient.options.removeAll { $0.code == .clientIdentifier }
        var noServer = server.advertise(solicit)
        noServer.options.removeAll { $0.code == .serverIdentifier }
        let reply = server.reply(solicit)   // a Reply to a Solicit without Rapid Commit
        var fromClient = server.advertise(solicit)
        fromClient.messageType = .request
        #expect(client.handle(wrongXID, from: V6Lab.serverAddress, now: .boot) == .ignored(.wrongTransaction))
        #expect(client.handle(otherClient, from: V6Lab.serverAddress, now: .boot) == .ignored(.wrongClientIdentifier))
        #expect(client.handle(noClient, from: V6Lab.serverAddress, now: .boot) == .ignored(.wrongClientIdentifier))
        #expect(client.handle(noServer, from: V6Lab.serverAddress, now: .boot) == .ignored(.missingServerIdentifier))
        #expect(client.handle(reply, from: V6Lab.serverAddress, now: .boot) == .ignored(.unexpectedMessage))
        #expect(client.handle(fromClient, from: V6Lab.serverAddress, now: .boot) == .ignored(.unexpectedMessage))
        #expect(client.handle(payload: UnsafeRawBufferPointer(start: nil, count: 0), from: V6Lab.serverAddress, now: .boot)
                == .ignored(.malformed))
        #expect(client.state == .soliciting && client.lease == nil)
        #expect(client.ignoredMessages.values.reduce(0, +) == 7)
        #expect(client.poll(now: .boot).isEmpty)
        // The same Advertise with everything right is taken.
        #expect(client.handle(server.advertise(solicit), from: V6Lab.serverAddress, now: .boot) == .accepted)
    }

    @Test func rapidCommitBindsOnAReplyToTheSolicit() throws {
        var client = V6Lab.client { $0.rapidCommit = true }
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        #expect(solicit.rapidCommit)
        var server = V6Server()
        let plainReply = server.reply(solicit)
        #expect(client.handle(plainReply, from: V6Lab.serverAddress, now: .boot) == .ignored(.unexpectedMessage))
        server.extra = [.rapidCommit]
        #expect(client.handle(server.reply(solicit), from: V6Lab.serverAddress, now: .boot + .milliseconds(20)) == .accepted)
        #expect(client.state == .bound)
        #expect(client.lease?.addresses.map(\.address) == [V6Lab.leased])
        #expect(client.transitionNames() == ["IDLE→SOLICITING", "SOLICITING→BOUND"])

        // Without the opt-in, neither the option nor a rapid Reply is used.
        var plain = V6Lab.client()
        plain.start(.stateful, now: .boot)
        let ordinary = plain.poll(now: .boot)[0].message
        #expect(!ordinary.rapidCommit)
        #expect(plain.handle(server.reply(ordinary), from: V6Lab.serverAddress, now: .boot) == .ignored(.unexpectedMessage))
    }
}

@Suite struct DHCPv6RequestTests {
    @Test func requestIsRetransmittedTenTimesThenTheClientSolicitsAgain() throws {
        var client = V6Lab.client()
        var server = V6Server()
        let solicit = V6Lab.advertise(to: &client, from: &server)
        var requests: [(at: Instant, outgoing: DHCPv6Client.Outgoing)] = []
        var resolicit: DHCPv6Message?
        var now = Instant.boot
        for _ in 0 ..< 30 {
            for outgoing in client.poll(now: now) {
                if outgoing.message.messageType == .request { requests.append((now, outgoing)) } else { resolicit = outgoing.message }
            }
            if resolicit != nil { break }
            now = try #require(client.nextDeadline)
        }
        #expect(requests.count == 10)
        #expect(requests.allSatisfy { $0.outgoing.message.serverIdentifier == V6Lab.serverDUID })
        let gaps = zip(requests.dropFirst(), requests).map { ($0.at - $1.at).seconds }
        #expect(gaps[0] >= 0.9 && gaps[0] <= 1.1)
        for (gap, previous) in zip(gaps.dropFirst(), gaps) {
            let doubled = gap >= 1.9 * previous - 1e-3 && gap <= min(2.1 * previous, 30) + 1e-3
            let atCap = gap >= 27 - 1e-3 && gap <= 33 + 1e-3
            #expect(doubled || atCap, "gap \(gap) after \(previous)")
        }
        #expect(requests.map { Int($0.outgoing.message.elapsedTime ?? 0xFFFF) }
                == requests.map { Int(($0.at - requests[0].at).nanoseconds / 10_000_000) })
        // After the tenth, one more RT passes, then a new Solicit exchange (§18.2.2: the exchange fails).
        let restart = try #require(resolicit)
        #expect(restart.messageType == .solicit && restart.elapsedTime == 0)
        #expect(restart.transactionID != solicit.transactionID)
        #expect(now > requests.last!.at)
        #expect(client.transitionNames() == ["IDLE→SOLICITING", "SOLICITING→REQUESTING", "REQUESTING→SOLICITING"])
    }

    @Test func replyWithNoAddrsAvailOrNotOnLinkSendsTheClientBackToSolicit() throws {
        for status in [DHCPv6StatusCode.noAddressesAvailable, .notOnLink] {
            var client = V6Lab.client()
            var server = V6Server()
            V6Lab.advertise(to: &client, from: &server)
            let request = client.poll(now: .boot)[0].message
            #expect(client.handle(server.answer(.reply, to: request, iaStatus: status), from: V6Lab.serverAddress, now: .boot) == .accepted)
            #expect(client.state == .soliciting && client.lease == nil)
            #expect(client.sentTypes(now: .boot) == [.solicit])
        }
    }

    @Test func replyToRequestWithUnspecFailKeepsRetransmitting() throws {
        var client = V6Lab.client()
        var server = V6Server()
        V6Lab.advertise(to: &client, from: &server)
        let request = client.poll(now: .boot)[0].message
        let deadline = client.nextDeadline
        #expect(client.handle(server.answer(.reply, to: request, status: .unspecifiedFailure), from: V6Lab.serverAddress, now: .boot)
                == .ignored(.serverFailure))
        #expect(client.state == .requesting && client.nextDeadline == deadline)
    }
}

@Suite struct DHCPv6BindingTests {
    @Test func replyBindsWithTheServersT1AndT2() throws {
        var client = V6Lab.client()
        let replyTime = Instant.boot + .milliseconds(40)
        var server = V6Server(extra: [.dnsServers([V6Lab.dns]), try .domainList(["lab.example"])])
        V6Lab.advertise(to: &client, from: &server)
        let request = client.poll(now: .boot)[0].message
        _ = client.drainEvents()
        #expect(client.handle(server.reply(request), from: V6Lab.serverAddress, now: replyTime) == .accepted)
        let lease = try #require(client.lease)
        #expect(client.state == .bound)
        #expect(lease.renewAt == replyTime + .seconds(1000) && lease.rebindAt == replyTime + .seconds(1600))
        #expect(lease.expiresAt == replyTime + .seconds(3000))
        #expect(lease.serverIdentifier == V6Lab.serverDUID && lease.serverAddress == V6Lab.serverAddress)
        let leased = DHCPv6LeasedAddress(address: V6Lab.leased, preferredLifetime: 2000, validLifetime: 3000, acquiredAt: replyTime)
        #expect(client.drainEvents() == [
            .addressLeased(leased),
            .configuration(dnsServers: [V6Lab.dns], domainList: ["lab.example"]),
            .transition(.init(from: .requesting, to: .bound, at: replyTime)),
        ])
        #expect(client.nextDeadline == replyTime + .seconds(1000))
        #expect(client.poll(now: replyTime + .seconds(1000) - .milliseconds(1)).isEmpty)
    }

    @Test(arguments: [
        // (T1, T2, preferred, expected T1, expected T2) in seconds; nil = never
        (0, 0, 2000, 1000, 1600),          // §21.4: 0.5 and 0.8 of the shortest preferred lifetime
        (0, 1200, 4000, 1200, 1200),       // client T1 kept at or below the server's T2
        (300, 0, 2000, 300, 1600),
        (0, 0, UInt32.max, nil, nil),      // infinite preferred: never renew
        (UInt32.max, UInt32.max, 2000, nil, nil),
    ] as [(UInt32, UInt32, UInt32, Int64?, Int64?)])
    func clientChosenTimers(t1: UInt32, t2: UInt32, preferred: UInt32, expected1: Int64?, expected2: Int64?) throws {
        var client = V6Lab.client()
        var server = V6Server()
        (server.t1, server.t2, server.preferred) = (t1, t2, preferred)
        server.valid = preferred
        client.bindQuickly(server: server)
        let lease = try #require(client.lease)
        #expect(lease.renewalTime == expected1.map { .seconds($0) })
        #expect(lease.rebindingTime == expected2.map { .seconds($0) })
    }

    @Test func iaWithT1AboveT2IsDiscarded() throws {
        var client = V6Lab.client()
        client.start(.stateful, now: .boot)
        let solicit = client.poll(now: .boot)[0].message
        var server = V6Server()
        (server.t1, server.t2) = (2000, 1000)
        // §21.4: the invalid IA_NA is discarded, so the Advertise has no addresses and the Reply none either.
        #expect(client.handle(server.advertise(solicit), from: V6Lab.serverAddress, now: .boot) == .ignored(.noAddressesAvailable))
        client.handle(V6Server().advertise(solicit), from: V6Lab.serverAddress, now: .boot)
        let firstRT = try #require(client.nextDeadline)
        let request = try #require(client.poll(now: firstRT).first?.message)
        #expect(client.handle(server.reply(request), from: V6Lab.serverAddress, now: firstRT) == .accepted)
        #expect(client.state == .soliciting && client.lease == nil)
    }

    @Test func renewAtT1GoesToTheServerWithItsIdentifierThenRebindAtT2WithoutIt() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        let lease = try #require(client.lease)
        let t1 = try #require(lease.renewAt), t2 = try #require(lease.rebindAt)
        _ = client.drainEvents()
        let sent = client.run(from: .boot, until: t2)
        let renews = sent.filter { $0.outgoing.message.messageType == .renew }
        let rebinds = sent.filter { $0.outgoing.message.messageType == .rebind }
        #expect(renews.first?.at == t1 && rebinds.count == 1 && rebinds[0].at == t2)
        for (_, renew) in renews {
            #expect(renew.message.serverIdentifier == V6Lab.serverDUID)
            #expect(renew.message.clientIdentifier == DUID.linkLayer(V6Lab.clientMAC))
            #expect(renew.destination == DHCPv6Client.allServers)
            let ia = try #require(renew.message.identityAssociations.first)
            #expect(ia.iaid == client.iaid && ia.t1 == 0 && ia.t2 == 0)
            #expect(ia.addresses == [DHCPv6IAAddress(address: V6Lab.leased, preferredLifetime: 0, validLifetime: 0)])
        }
        // REN_TIMEOUT 10 s doubling (±10 %), REN_MAX_RT 600 s, the last one cut at T2 (MRD).
        let gaps = zip(renews.dropFirst(), renews).map { ($0.at - $1.at).seconds }
        #expect(gaps[0] >= 9 && gaps[0] <= 11)
        for (gap, previous) in zip(gaps.dropFirst(), gaps) {
            #expect((gap >= 1.9 * previous - 1e-3 && gap <= 2.1 * previous + 1e-3) || (gap >= 540 - 1e-3 && gap <= 660 + 1e-3))
        }
        #expect(Set(renews.map(\.outgoing.message.transactionID)).count == 1)
        #expect(renews.first?.outgoing.message.elapsedTime == 0)
        let rebind = rebinds[0].outgoing
        #expect(rebind.message.serverIdentifier == nil && rebind.destination == DHCPv6Client.allServers)
        #expect(rebind.message.identityAssociations.first?.addresses.map(\.address) == [V6Lab.leased])
        #expect(rebind.message.elapsedTime == 0 && rebind.message.transactionID != renews[0].outgoing.message.transactionID)
        #expect(client.transitionNames() == ["BOUND→RENEWING", "RENEWING→REBINDING"])
    }

    @Test func replyToRenewExtendsTheBinding() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        let t1 = try #require(client.lease?.renewAt)
        let renew = try #require(client.poll(now: t1).first?.message)
        _ = client.drainEvents()
        var server = V6Server()
        (server.preferred, server.valid) = (4000, 5000)
        let replyTime = t1 + .seconds(2)
        #expect(client.handle(server.reply(renew), from: V6Lab.serverAddress, now: replyTime) == .accepted)
        let renewed = DHCPv6LeasedAddress(address: V6Lab.leased, preferredLifetime: 4000, validLifetime: 5000, acquiredAt: replyTime)
        #expect(client.drainEvents() == [.addressRenewed(renewed), .transition(.init(from: .renewing, to: .bound, at: replyTime))])
        #expect(client.lease?.renewAt == replyTime + .seconds(1000))
    }

    @Test func noBindingInARenewReplyLeadsToARequest() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        let t1 = try #require(client.lease?.renewAt)
        let renew = try #require(client.poll(now: t1).first?.message)
        #expect(client.handle(V6Server().answer(.reply, to: renew, iaStatus: .noBinding), from: V6Lab.serverAddress, now: t1) == .accepted)
        let request = try #require(client.poll(now: t1).first?.message)
        #expect(request.messageType == .request && request.serverIdentifier == V6Lab.serverDUID)
        #expect(request.identityAssociations.first?.addresses.map(\.address) == [V6Lab.leased])
        #expect(client.state == .requesting && client.lease?.addresses.count == 1)
        #expect(client.handle(V6Server().reply(request), from: V6Lab.serverAddress, now: t1 + .seconds(1)) == .accepted)
        #expect(client.state == .bound)
    }

    @Test func whenTheValidLifetimeEndsTheAddressIsRemovedAndTheClientSolicits() throws {
        var client = V6Lab.client()
        client.bindQuickly()
        let lease = try #require(client.lease)
        let expiry = try #require(lease.expiresAt)
        _ = client.drainEvents()
        let sent = client.run(from: .boot, until: expiry)
        let rebinds = sent.filter { $0.outgoing.message.messageType == .rebind }
        #expect(rebinds.count >= 2 && rebinds.allSatisfy { $0.at < expiry })
        // REB_TIMEOUT 10 s for the first retransmission.
        #expect((rebinds[1].at - rebinds[0].at).seconds >= 9 && (rebinds[1].at - rebinds[0].at).seconds <= 11)
        let solicit = try #require(sent.last)
        #expect(solicit.at == expiry && solicit.outgoing.message.messageType == .solicit)
        #expect(client.lease == nil && client.state == .soliciting)
        let events = client.drainEvents()
        #expect(events.contains(.addressLost(V6Lab.leased, reason: "valid lifetime ended")))
        #expect(events.last == .transition(.init(from: .rebinding, to: .soliciting, at: expiry)))
    }

    @Test func aValidLifetimeOfZeroRemovesTheAddress() throws {
        var client = V6Lab.client()
        var server = V6Server()
        server.addresses = [V6Lab.leased, V6Lab.second]
        client.bindQuickly(server: server)
        let t1 = try #require(client.lease?.renewAt)
        let renew = try #require(client.poll(now: t1).first?.message)
        _ = client.drainEvents()
        var reply = server.reply(renew)
        reply.options.removeAll { $0.code == .iaNA }
        reply.options.append(.iaNA(DHCPv6IANA(iaid: client.iaid, t1: 100, t2: 160, options: [
            .iaAddress(DHCPv6IAAddress(address: V6Lab.leased, preferredLifetime: 0, validLifetime: 0)),
            .iaAddress(DHCPv6IAAddress(address: V6Lab.second, preferredLifetime: 200, validLifetime: 300)),
        ])))
        #expect(client.handle(reply, from: V6Lab.serverAddress, now: t1) == .accepted)
        #expect(client.lease?.addresses.map(\.address) == [V6Lab.second])
        #expect(client.drainEvents().prefix(2) == [
            .addressLost(V6Lab.leased, reason: "valid lifetime 0 from the server"),
            .addressRenewed(DHCPv6LeasedAddress(address: V6Lab.second, preferredLifetime: 200, validLifetime: 300, acquiredAt: t1)),
        ])
    }
}

/// OPTION_UNICAST and UseMulticast (RFC 8415 §18.2.10, §21.12).
@Suite struct DHCPv6UnicastTests {
    static let unicast = IPv6Address("2001:db8:1::1")!

    func requesting(accept: Bool) throws -> (client: DHCPv6Client, request: DHCPv6Client.Outgoing) {
        var client = V6Lab.client { $0.acceptServerUnicast = accept }
        var server = V6Server(extra: [DHCPv6Option(code: DHCPv6OptionCode(12), data: Self.unicast.bytes)])
        V6Lab.advertise(to: &client, from: &server)
        let request = try #require(client.poll(now: .boot).first)
        return (client, request)
    }

    @Test func serverUnicastIsUsedOnlyWhenAcceptedAndUseMulticastRevertsIt() throws {
        #expect(try requesting(accept: false).request.destination == DHCPv6Client.allServers)
        var (client, request) = try requesting(accept: true)
        #expect(request.destination == Self.unicast)
        let useMulticast = V6Server().answer(.reply, to: request.message, status: .useMulticast, withIA: false)
        #expect(client.handle(useMulticast, from: V6Lab.serverAddress, now: .boot + .milliseconds(5)) == .accepted)
        let resent = try #require(client.poll(now: .boot + .milliseconds(5)).first)
        #expect(resent.message.messageType == .request && resent.destination == DHCPv6Client.allServers)
        #expect(resent.message.transactionID == request.message.transactionID)
    }
}
