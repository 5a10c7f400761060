import Testing
@testable import Guest
import Wire

/// RFC 5227 through the stack: PROBING after the ACK, DHCPDECLINE on a conflict, restart after the delay, declined
/// addresses not taken again, defence while bound (RFC 2131 §4.4.1, RFC 5227 §2.1–2.4).
@Suite struct AddressConflictDetectionDHCPTests {
    typealias ACD = AddressConflictDetection

    func harness(seed: UInt64 = 7, restartDelay: Duration? = nil) -> StackHarness {
        StackHarness(seed: seed) { configuration in
            configuration.dhcp.acd = true
            if let restartDelay { configuration.dhcp.conflictRestartDelay = restartDelay }
        }
    }

    /// DISCOVER, OFFER, REQUEST, ACK; returns the REQUEST. The stack is then PROBING.
    func exchange(_ harness: StackHarness) throws -> DHCPMessage {
        harness.start()
        let discover = try parseDHCP(try #require(harness.sent().first(where: isDHCP)))
        harness.advance(by: .milliseconds(10))
        harness.receive(try harness.server.reply(.offer, to: discover))
        let request = try parseDHCP(try #require(harness.sent().first(where: isDHCP)))
        harness.advance(by: .milliseconds(10))
        harness.receive(try harness.server.reply(.ack, to: request))
        return request
    }

    func peerARP(_ operation: ARPOperation, senderIP: IPv4Address, targetIP: IPv4Address, mac: MACAddress = Lab.peerMAC) throws -> [UInt8] {
        try arpFrame(ARPMessage(operation: operation, senderHardwareAddress: mac, senderProtocolAddress: senderIP,
                                targetHardwareAddress: .zero, targetProtocolAddress: targetIP), to: .broadcast)
    }

    @Test func theAddressIsBoundOnlyAfterProbesAndAnnounceWaitWithPhaseTimes() throws {
        let harness = harness()
        _ = try exchange(harness)
        let ack = harness.now
        #expect(harness.stack.dhcpState == .probing)
        #expect(harness.stack.lease == nil && harness.stack.interface == nil)
        let log = harness.run(until: ack + .seconds(20))
        let arps = try log.map { ($0.at, try parseARP($0.frame), try parseEthernet($0.frame).header.destination) }
        #expect(arps.count == 5)
        #expect(arps.allSatisfy { $0.2 == .broadcast && $0.1.operation == .request && $0.1.targetProtocolAddress == Lab.offered })
        #expect(arps.prefix(3).allSatisfy { $0.1.senderProtocolAddress == .any })
        #expect(arps.suffix(2).allSatisfy { $0.1.senderProtocolAddress == Lab.offered })
        #expect(harness.stack.dhcpState == .bound && harness.stack.interface?.address == Lab.offered)

        let events = harness.drainEvents()
        let steps = events.compactMap(\.transition).map { "\($0.from)→\($0.to)" }
        #expect(steps.suffix(2) == ["REQUESTING→PROBING", "PROBING→BOUND"])
        let times = try #require(events.compactMap { event -> DHCPPhaseTimes? in
            if case let .leaseBound(_, times) = event { return times }
            return nil
        }.first)
        #expect(times.ackReceived == ack)
        #expect(times.probeStart == arps[0].0 && times.probeEnd == arps[2].0)
        #expect(times.announce == arps[3].0 && times.bound == arps[3].0)
        #expect(arps[3].0 - arps[2].0 == ACD.ANNOUNCE_WAIT)
        #expect(times.probeStart! - ack <= ACD.PROBE_WAIT)
    }

    @Test func withoutACDTheProbeTimesAreNilAndNoARPIsSent() throws {
        let plain = StackHarness()
        try plain.bind()
        let times = plain.drainEvents().compactMap { event -> DHCPPhaseTimes? in
            if case let .leaseBound(_, times) = event { return times }
            return nil
        }
        #expect(times.count == 1 && times[0].probeStart == nil && times[0].probeEnd == nil && times[0].announce == nil)
        #expect(times[0].bound == times[0].ackReceived)
        #expect(plain.sent().filter(isARP).isEmpty)
    }

    @Test func aConflictWhileProbingSendsDHCPDECLINEAndRestartsAfterTenSeconds() throws {
        let harness = harness()
        let request = try exchange(harness)
        let first = harness.run(until: harness.now + .seconds(1))   // PROBE_WAIT ≤ 1 s: the first probe is out
        #expect(first.count == 1 && isARP(first[0].frame))
        _ = harness.drainEvents()
        let conflictAt = harness.now
        harness.receive(try peerARP(.reply, senderIP: Lab.offered, targetIP: .any))

        let frames = harness.sent()
        #expect(frames.count == 1)
        let udp = try parseUDP(frames[0])
        #expect(udp.ip.ethernet.destination == .broadcast)
        #expect(udp.ip.header.source == .any && udp.ip.header.destination == .broadcast)
        let decline = try parseDHCP(frames[0])
        #expect(decline.messageType == .decline)
        #expect(decline.op == .bootRequest && decline.transactionID == request.transactionID)
        #expect(decline.clientAddress == .any && decline.yourAddress == .any && decline.seconds == 0 && decline.flags == 0)
        #expect(decline.clientHardwareAddress == Lab.clientMAC)
        #expect(decline.requestedIPAddress == Lab.offered && decline.serverIdentifier == Lab.server)
        #expect(decline.clientIdentifier == [1] + Lab.clientMAC.array)
        #expect(decline.message == "address in use: ARP from \(Lab.peerMAC) while probing")
        // RFC 2131 Table 5: no parameter request list, maximum message size or lease time in a DECLINE.
        #expect(decline.options.map(\.code.rawValue) == [53, 50, 54, 61, 56])

        let events = harness.drainEvents()
        #expect(events.contains(.addressDeclined(Lab.offered, reason: "address in use: ARP from \(Lab.peerMAC) while probing")))
        #expect(events.compactMap(\.transition).map(\.to) == [.initial])
        #expect(harness.stack.dhcpCounters.declines == 1)
        #expect(harness.stack.lease == nil && harness.stack.interface == nil)

        // Nothing for 10 s (RFC 2131 §3.1 item 5), then a fresh DISCOVER.
        #expect(harness.run(until: conflictAt + .seconds(10) - .milliseconds(1)).isEmpty)
        let restart = harness.run(until: conflictAt + .seconds(10))
        #expect(restart.count == 1 && restart[0].at == conflictAt + .seconds(10))
        let discover = try parseDHCP(restart[0].frame)
        #expect(discover.messageType == .discover && discover.transactionID != request.transactionID)
    }

    @Test func aProbeFromAnotherMACIsAConflictButOurOwnLoopedBackIsNot() throws {
        let harness = harness(restartDelay: .seconds(3))
        _ = try exchange(harness)
        let probe = try #require(harness.run(until: harness.now + .seconds(1)).first?.frame)
        // Our own probe, reflected by the segment: still probing.
        harness.receive(probe)
        #expect(harness.stack.dhcpState == .probing && harness.sent().isEmpty)
        // Another host probing for the same address (RFC 5227 §2.1.1).
        harness.receive(try peerARP(.request, senderIP: .any, targetIP: Lab.offered))
        #expect(try parseDHCP(try #require(harness.sent().first)).messageType == .decline)
        // The shortened restart delay is honoured.
        let declinedAt = harness.now
        let next = harness.run(until: declinedAt + .seconds(3))
        #expect(next.count == 1 && next[0].at == declinedAt + .seconds(3))
    }

    @Test func aDeclinedAddressIsNotTakenOrRequestedAgain() throws {
        let harness = StackHarness { configuration in
            configuration.dhcp.acd = true
            configuration.dhcp.conflictRestartDelay = .seconds(1)
            configuration.dhcp.requestedAddress = Lab.offered
        }
        _ = try exchange(harness)
        _ = harness.run(until: harness.now + .seconds(1))
        harness.receive(try peerARP(.request, senderIP: Lab.offered, targetIP: Lab.server))
        #expect(harness.stack.dhcpCounters.declines == 1)
        _ = harness.sent()
        let discover = try parseDHCP(try #require(harness.run(until: harness.now + .seconds(1)).first?.frame))
        // The requested address was declined: no option 50 any more.
        #expect(discover.messageType == .discover && discover.requestedIPAddress == nil)
        // The server offers the same address again: ignored and counted.
        harness.receive(try harness.server.reply(.offer, to: discover))
        #expect(harness.stack.dhcpState == .selecting && harness.sent().isEmpty)
        #expect(harness.stack.counters.drops(.dhcpDeclinedAddress) == 1)
        // Another address is taken.
        harness.server.offered = IPv4Address(198, 51, 100, 24)
        harness.receive(try harness.server.reply(.offer, to: discover))
        let request = try parseDHCP(try #require(harness.sent().first))
        #expect(request.requestedIPAddress == IPv4Address(198, 51, 100, 24))
    }

    @Test func boundDefendsOnceThenGivesTheAddressUpWithARelease() throws {
        let harness = harness()
        _ = try exchange(harness)
        _ = harness.run(until: harness.now + .seconds(20))
        #expect(harness.stack.dhcpState == .bound)
        // Learn the server's MAC so the RELEASE can leave.
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.serverMAC,
                                                senderProtocolAddress: Lab.server, targetHardwareAddress: .zero,
                                                targetProtocolAddress: Lab.offered), to: .broadcast))
        _ = harness.sent()
        _ = harness.drainEvents()

        harness.receive(try peerARP(.request, senderIP: Lab.offered, targetIP: Lab.offered))
        let defence = harness.sent().filter(isARP).map { try? parseARP($0) }
        #expect(defence.contains(ARPMessage(operation: .request, senderHardwareAddress: Lab.clientMAC,
                                            senderProtocolAddress: Lab.offered, targetHardwareAddress: .zero,
                                            targetProtocolAddress: Lab.offered)))
        #expect(harness.drainEvents().contains(.conflictDefended(Lab.offered, by: Lab.peerMAC)))
        #expect(harness.stack.dhcpState == .bound && harness.stack.dhcpCounters.conflictsDefended == 1)

        harness.advance(by: .seconds(9))
        harness.receive(try peerARP(.reply, senderIP: Lab.offered, targetIP: Lab.server))
        let frames = harness.sent().filter(isDHCP)
        #expect(frames.count == 1)
        let release = try parseDHCP(frames[0])
        #expect(release.messageType == .release && release.clientAddress == Lab.offered)
        #expect(try parseUDP(frames[0]).ip.ethernet.destination == Lab.serverMAC)
        let events = harness.drainEvents()
        #expect(events.contains { if case .leaseLost = $0 { true } else { false } })
        #expect(!events.contains { if case .addressDeclined = $0 { true } else { false } })
        #expect(harness.stack.lease == nil && harness.stack.interface == nil && harness.stack.dhcpState == .initial)
        #expect(harness.stack.dhcpCounters.addressesAbandoned == 1 && harness.stack.dhcpCounters.declines == 0)
        #expect(harness.stack.dhcpClient.declinedAddresses == [Lab.offered])
        let restart = harness.run(until: harness.now + .seconds(10))
        #expect(restart.count == 1)
        #expect(try parseDHCP(restart[0].frame).messageType == .discover)
    }

    @Test func sameSeedSameBytesWithConflictDetection() throws {
        func scenario() throws -> [[UInt8]] {
            let harness = harness(seed: 21)
            _ = try exchange(harness)
            return harness.run(until: harness.now + .seconds(20)).map(\.frame)
        }
        let first = try scenario()
        #expect(first.count == 5)
        #expect(try scenario() == first)
    }
}
