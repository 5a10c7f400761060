import Testing
@testable import Guest
import Wire

/// The full DISCOVER/OFFER/REQUEST/ACK through NetworkStack frames, and the lease's later life (RFC 2131 §4.4).
@Suite struct DHCPExchangeTests {
    @Test func discoverFrameHasEveryFieldRFC2131Asks() throws {
        let harness = StackHarness()
        harness.start()
        let frames = harness.sent()
        #expect(frames.count == 1)
        let udp = try parseUDP(frames[0])
        #expect(udp.ip.ethernet.destination == .broadcast)
        #expect(udp.ip.ethernet.source == Lab.clientMAC)
        #expect(udp.ip.ethernet.etherType == .ipv4)
        #expect(udp.ip.header.source == .any)
        #expect(udp.ip.header.destination == .broadcast)
        #expect(udp.ip.header.timeToLive == 64)
        #expect(udp.ip.headerChecksumValid)
        #expect(udp.header.sourcePort == 68)
        #expect(udp.header.destinationPort == 67)
        #expect(udp.checksum != 0 && udp.checksumValid)
        let discover = try parseDHCP(frames[0])
        #expect(discover.op == .bootRequest)
        #expect(discover.messageType == .discover)
        #expect(discover.flags == 0)
        #expect(discover.seconds == 0)
        #expect(discover.clientAddress == .any)
        #expect(discover.clientHardwareAddress == Lab.clientMAC)
        #expect(discover.clientIdentifier == [1] + Lab.clientMAC.array)
        #expect(discover.parameterRequestList.map(\.rawValue) == [1, 3, 6, 15, 26, 28, 42, 119, 121, 51, 54, 58, 59])
        #expect(discover.maximumMessageSize == 1500)
        #expect(discover.hostName == "tapvm-guest")
        #expect(discover.requestedIPAddress == nil)
        #expect(discover.serverIdentifier == nil)
        #expect(harness.stack.dhcpState == .selecting)
    }

    @Test func fullExchangeBindsWithPhaseTimes() throws {
        let harness = StackHarness()
        harness.start()
        let discover = try parseDHCP(harness.sent()[0])
        harness.advance(by: .milliseconds(30))
        harness.receive(try harness.server.reply(.offer, to: discover))

        let requestFrames = harness.sent()
        #expect(requestFrames.count == 1)
        let requestUDP = try parseUDP(requestFrames[0])
        #expect(requestUDP.ip.ethernet.destination == .broadcast)
        #expect(requestUDP.ip.header.source == .any && requestUDP.ip.header.destination == .broadcast)
        #expect(requestUDP.header.sourcePort == 68 && requestUDP.header.destinationPort == 67 && requestUDP.checksumValid)
        let request = try parseDHCP(requestFrames[0])
        #expect(request.messageType == .request)
        #expect(request.transactionID == discover.transactionID)
        #expect(request.requestedIPAddress == Lab.offered)
        #expect(request.serverIdentifier == Lab.server)
        #expect(request.clientAddress == .any)
        #expect(request.seconds == discover.seconds)
        #expect(request.clientIdentifier == [1] + Lab.clientMAC.array)
        #expect(harness.stack.dhcpState == .requesting)

        harness.advance(by: .milliseconds(20))
        harness.receive(try harness.server.reply(.ack, to: request))
        #expect(harness.stack.dhcpState == .bound)
        let lease = try #require(harness.stack.lease)
        #expect(lease.address == Lab.offered)
        #expect(lease.subnetMask == IPv4Address(255, 255, 255, 0) && lease.prefixLength == 24)
        #expect(lease.router == Lab.server)
        #expect(lease.dnsServers == [Lab.dns])
        #expect(lease.server == Lab.server)
        #expect(lease.leaseTime == .seconds(3600))
        #expect(lease.renewalTime == .seconds(1800))
        #expect(lease.rebindingTime == .seconds(3150))
        #expect(lease.acquiredAt == Instant(nanoseconds: 30_000_000))
        #expect(harness.stack.interface?.address == Lab.offered)

        let events = harness.drainEvents()
        let transitions = events.compactMap(\.transition).map { "\($0.from)→\($0.to)" }
        #expect(transitions == ["INIT→SELECTING", "SELECTING→REQUESTING", "REQUESTING→BOUND"])
        let bound = events.compactMap { event -> DHCPPhaseTimes? in
            if case let .leaseBound(_, times) = event { return times }
            return nil
        }
        #expect(bound == [DHCPPhaseTimes(discoverSent: .boot, offerReceived: Instant(nanoseconds: 30_000_000),
                                         requestSent: Instant(nanoseconds: 30_000_000),
                                         ackReceived: Instant(nanoseconds: 50_000_000),
                                         bound: Instant(nanoseconds: 50_000_000))])
        #expect(harness.stack.counters.dhcp.transmitted == 2 && harness.stack.counters.dhcp.received == 2)
        #expect(harness.stack.counters.totalDrops == 0)
    }

    @Test func discoverRetransmitsAt4_8_16_32_64_64SecondsWithinOneSecond() throws {
        let harness = StackHarness(seed: 99)
        harness.start()
        let first = try parseDHCP(harness.sent()[0])
        let log = harness.run(until: Instant.boot + .seconds(200)).filter { isDHCP($0.frame) }
        #expect(log.count == 6)
        var previous = Instant.boot
        var gaps: [Duration] = []
        for (at, frame) in log {
            let message = try parseDHCP(frame)
            #expect(message.messageType == .discover)
            #expect(message.transactionID == first.transactionID)
            #expect(Int(message.seconds) == Int((at - .boot).components.seconds))
            gaps.append(at - previous)
            previous = at
        }
        for (gap, nominal) in zip(gaps, [4, 8, 16, 32, 64, 64]) {
            #expect(gap >= .seconds(nominal - 1) && gap <= .seconds(nominal + 1), "gap \(gap), nominal \(nominal) s")
        }
        // The jitter is drawn, not constant.
        #expect(Set(gaps.map { $0 - .seconds(Int64($0.components.seconds)) }).count > 1)
    }

    @Test func wrongTransactionIDAndWrongChaddrAreIgnoredAndCounted() throws {
        let harness = StackHarness()
        harness.start()
        let discover = try parseDHCP(harness.sent()[0])
        harness.receive(try harness.server.reply(.offer, to: discover, transactionID: discover.transactionID &+ 1))
        harness.receive(try harness.server.reply(.offer, to: discover, clientHardwareAddress: Lab.peerMAC))
        #expect(harness.stack.dhcpState == .selecting)
        #expect(harness.sent().isEmpty)
        #expect(harness.stack.counters.drops(.dhcpWrongTransaction) == 1)
        #expect(harness.stack.counters.drops(.dhcpWrongHardwareAddress) == 1)
        // The right one still works.
        harness.receive(try harness.server.reply(.offer, to: discover))
        #expect(harness.stack.dhcpState == .requesting)
    }

    @Test func nakInRequestingGoesBackToInitAndRediscoversWithANewXid() throws {
        let harness = StackHarness()
        harness.start()
        let discover = try parseDHCP(harness.sent()[0])
        harness.receive(try harness.server.reply(.offer, to: discover))
        let request = try parseDHCP(harness.sent()[0])
        harness.advance(by: .milliseconds(5))
        harness.receive(try harness.server.reply(.nak, to: request))
        let transitions = harness.drainEvents().compactMap(\.transition).map { "\($0.from)→\($0.to)" }
        #expect(transitions.suffix(2) == ["REQUESTING→INIT", "INIT→SELECTING"])
        let again = try parseDHCP(try #require(harness.sent().first))
        #expect(again.messageType == .discover)
        #expect(again.transactionID != discover.transactionID)
        #expect(harness.stack.lease == nil)
    }

    @Test func renewAtT1IsUnicastToTheServersMACAfterARP() throws {
        let harness = StackHarness()
        harness.server.leaseSeconds = 1000
        let lease = try harness.bind()
        _ = harness.sent()
        #expect(lease.renewAt == lease.acquiredAt + .seconds(500))

        // Nothing before T1.
        let quiet = harness.run(until: lease.renewAt - .milliseconds(1))
        #expect(quiet.isEmpty)
        let atT1 = harness.run(until: lease.renewAt)
        #expect(atT1.count == 1)
        let arp = try parseARP(atT1[0].frame)
        #expect(arp.operation == .request)
        #expect(arp.targetProtocolAddress == Lab.server)
        #expect(arp.senderProtocolAddress == Lab.offered && arp.senderHardwareAddress == Lab.clientMAC)
        #expect(try parseEthernet(atT1[0].frame).header.destination == .broadcast)
        #expect(harness.stack.dhcpState == .renewing)

        harness.advance(by: .milliseconds(2))
        harness.receive(try harness.server.arpReply(to: arp))
        let renewFrame = try #require(harness.sent().first)
        let udp = try parseUDP(renewFrame)
        #expect(udp.ip.ethernet.destination == Lab.serverMAC)
        #expect(udp.ip.header.source == Lab.offered && udp.ip.header.destination == Lab.server)
        #expect(udp.header.sourcePort == 68 && udp.header.destinationPort == 67 && udp.checksumValid)
        let renew = try parseDHCP(renewFrame)
        #expect(renew.messageType == .request)
        #expect(renew.clientAddress == Lab.offered)
        #expect(renew.requestedIPAddress == nil && renew.serverIdentifier == nil)

        // ACK → BOUND with new timers, leaseRenewed.
        harness.advance(by: .milliseconds(3))
        harness.receive(try harness.server.reply(.ack, to: renew))
        #expect(harness.stack.dhcpState == .bound)
        let renewed = try #require(harness.stack.lease)
        #expect(renewed.acquiredAt == lease.renewAt)
        #expect(renewed.renewAt == lease.renewAt + .seconds(500))
        #expect(harness.drainEvents().contains(.leaseRenewed(renewed)))
    }

    @Test func unansweredRenewRebindsAtT2ThenExpiresToInit() throws {
        let harness = StackHarness()
        harness.server.leaseSeconds = 1000   // T1 500 s, T2 875 s
        let lease = try harness.bind()
        _ = harness.sent()
        _ = harness.drainEvents()
        let server = harness.server
        let log = try harness.run(until: lease.expiresAt, respond: server.answerARP)
        let dhcp = try log.filter { isDHCP($0.frame) }.compactMap { entry -> (Instant, ParsedUDP, DHCPMessage)? in
            let message = try parseDHCP(entry.frame)
            return message.messageType == .request ? (entry.at, try parseUDP(entry.frame), message) : nil
        }
        // RENEWING retransmits at half the time left to T2, not below 60 s (500, 687.5, 781.25, 841.25), REBINDING
        // at half the time left to expiry, not below 60 s (875, 937.5, 997.5). RFC 2131 §4.4.5.
        let offsets = dhcp.map { $0.0 - lease.acquiredAt }
        #expect(offsets == [.seconds(500), .milliseconds(687_500), .milliseconds(781_250), .milliseconds(841_250),
                            .seconds(875), .milliseconds(937_500), .milliseconds(997_500)])
        for renew in dhcp.prefix(4) {
            #expect(renew.1.ip.ethernet.destination == Lab.serverMAC && renew.1.ip.header.destination == Lab.server)
        }
        for rebind in dhcp.suffix(3) {
            #expect(rebind.1.ip.ethernet.destination == .broadcast && rebind.1.ip.header.destination == .broadcast)
            #expect(rebind.1.ip.header.source == Lab.offered)
            #expect(rebind.2.clientAddress == Lab.offered && rebind.2.serverIdentifier == nil)
        }
        #expect(Set(dhcp.map(\.2.transactionID)).count == 1)

        // At expiry: lease lost, INIT, and a fresh DISCOVER.
        let events = harness.drainEvents()
        #expect(events.contains(.leaseLost(reason: "lease expired")))
        let transitions = events.compactMap(\.transition).map { "\($0.from)→\($0.to)" }
        #expect(transitions == ["BOUND→RENEWING", "RENEWING→REBINDING", "REBINDING→INIT", "INIT→SELECTING"])
        #expect(harness.stack.lease == nil && harness.stack.interface == nil)
        let discover = try parseDHCP(try #require(log.last?.frame))
        #expect(discover.messageType == .discover && log.last?.at == lease.expiresAt)
    }

    @Test func nakWhileRenewingLosesTheLease() throws {
        let harness = StackHarness()
        harness.server.leaseSeconds = 100
        let lease = try harness.bind()
        _ = harness.sent()
        let arp = try parseARP(try #require(harness.run(until: lease.renewAt).first?.frame))
        harness.receive(try harness.server.arpReply(to: arp))
        let renew = try parseDHCP(try #require(harness.sent().first))
        _ = harness.drainEvents()
        harness.receive(try harness.server.reply(.nak, to: renew))
        let events = harness.drainEvents()
        #expect(events.contains(.leaseLost(reason: "DHCPNAK from \(Lab.server)")))
        #expect(events.compactMap(\.transition).map(\.to) == [.initial, .selecting])
        #expect(harness.stack.lease == nil && harness.stack.interface == nil)
    }

    @Test func serverTimersAreUsedWhenConsistent() throws {
        let harness = StackHarness()
        harness.server.renewalSeconds = 600
        harness.server.rebindingSeconds = 1200
        let lease = try harness.bind()
        #expect(lease.renewalTime == .seconds(600) && lease.rebindingTime == .seconds(1200))
    }

    @Test func releaseIsUnicastToTheServer() throws {
        let harness = StackHarness()
        let lease = try harness.bind()
        _ = harness.sent()
        // Learn the server's MAC first (it asks who we are).
        harness.receive(try arpFrame(ARPMessage(operation: .request, senderHardwareAddress: Lab.serverMAC,
                                                senderProtocolAddress: Lab.server, targetHardwareAddress: .zero,
                                                targetProtocolAddress: lease.address), to: .broadcast))
        _ = harness.sent()
        harness.stack.release(now: harness.now)
        let frame = try #require(harness.sent().first)
        let udp = try parseUDP(frame)
        #expect(udp.ip.ethernet.destination == Lab.serverMAC)
        #expect(udp.ip.header.source == lease.address && udp.ip.header.destination == Lab.server)
        let release = try parseDHCP(frame)
        #expect(release.messageType == .release)
        #expect(release.clientAddress == lease.address && release.serverIdentifier == Lab.server)
        #expect(harness.stack.lease == nil && harness.stack.dhcpState == .released)
        #expect(harness.stack.dhcpClient.nextDeadline == nil)
    }
}
