import Testing
@testable import Guest
import Wire

/// MLDv2 (RFC 3810), neighbour discovery (RFC 4861 §7), ICMPv6 (RFC 4443), robustness and determinism.
@Suite struct IPv6NeighborTests {
    @Test func mldReportBytesAndRobustnessRetransmission() throws {
        let harness = IPv6Harness()
        let log = try harness.bootLinkLocal()
        let reports = log.filter { icmpv6Type($0.frame) == .version2MulticastListenerReport }
        #expect(reports.count == 2)
        // Specified behaviour changed (RFC 4862 §5.4.2): the first report is no longer sent at .boot but delayed
        // like the DAD probe, by the same random 0…MAX_RTR_SOLICITATION_DELAY, and goes just before it.
        let probeIndex = try #require(log.firstIndex { icmpv6Type($0.frame) == .neighborSolicitation })
        let reportIndex = try #require(log.firstIndex { icmpv6Type($0.frame) == .version2MulticastListenerReport })
        #expect(reports[0].at == log[probeIndex].at && reportIndex < probeIndex)
        #expect(reports[0].at > .boot && reports[0].at <= .boot + .seconds(1))
        #expect(reports[1].at <= reports[0].at + .seconds(1))
        let report = try parseICMPv6(reports[0].frame)
        #expect(report.ip.header.destination == .allMLDv2Routers && report.ip.ethernet.destination == IPv6Address.allMLDv2Routers.multicastMAC)
        #expect(report.ip.header.hopLimit == 1 && report.ip.header.source == .unspecified)
        #expect(report.ip.header.nextHeader == .hopByHop && report.ip.hopByHop?.routerAlert == 0)
        #expect(report.ip.upperNextHeader == .icmpv6 && report.checksumValid)
        let records = try report.report().records
        #expect(records == [MLDv2MulticastAddressRecord(recordType: .changeToExcludeMode,
                                                         multicastAddress: Lab6.clientLinkLocal.solicitedNodeMulticast)])
        #expect(!records.contains { $0.multicastAddress == .allNodes })
        #expect(harness.stack.ipv6MulticastGroups == [.allNodes, Lab6.clientLinkLocal.solicitedNodeMulticast].sorted())
        #expect(harness.stack.multicastMACs.contains(Lab6.clientLinkLocal.solicitedNodeMulticast.multicastMAC))
    }

    @Test func generalQueryIsAnsweredWithinTheMaximumResponseDelay() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let query = MLDQuery(maximumResponseCode: 500, version2: MLDv2QueryFields())
        let at = harness.now
        harness.receive(try icmpv6Frame(from: Lab6.routerMAC, source: Lab6.router, destination: .allNodes, hopLimit: 1,
                                        length: query.encodedLength) { try query.emit(into: $0, source: $1, destination: $2) })
        let log = try harness.run(until: at + .seconds(1)).filter { icmpv6Type($0.frame) == .version2MulticastListenerReport }
        #expect(log.count == 1)
        let answer = try #require(log.first)
        #expect(answer.at <= at + .milliseconds(500))
        let parsed = try parseICMPv6(answer.frame)
        #expect(parsed.ip.header.source == Lab6.clientLinkLocal)
        #expect(try parsed.report().records == [MLDv2MulticastAddressRecord(recordType: .modeIsExclude,
                                                                            multicastAddress: Lab6.clientLinkLocal.solicitedNodeMulticast)])
        // A query from a global source or with hop limit 2 is invalid.
        harness.receive(try icmpv6Frame(from: Lab6.routerMAC, source: Lab6.router, destination: .allNodes, hopLimit: 2,
                                        length: query.encodedLength) { try query.emit(into: $0, source: $1, destination: $2) })
        #expect(harness.stack.counters.drops(.mldInvalid) == 1)
    }

    /// Sources of group-and-source queries accumulate only up to a bound; beyond it the answer covers the group.
    @Test func groupAndSourceQuerySourcesAreBounded() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let group = Lab6.clientLinkLocal.solicitedNodeMulticast
        let at = harness.now
        for batch in 0 ..< 50 {
            let sources = (0 ..< 20).map { IPv6Address(prefix: Lab6.prefix, interfaceIdentifier: UInt64(batch * 20 + $0 + 1)) }
            let query = MLDQuery(maximumResponseCode: 10_000, multicastAddress: group, version2: MLDv2QueryFields(sources: sources))
            harness.receive(try icmpv6Frame(from: Lab6.routerMAC, source: Lab6.router, destination: group, hopLimit: 1,
                                            length: query.encodedLength) { try query.emit(into: $0, source: $1, destination: $2) })
            #expect((harness.stack.ipv6.multicast.groupResponses[group]?.sources.count ?? 0) <= harness.stack.ipv6.multicast.maximumQuerySources)
        }
        let log = try harness.run(until: at + .seconds(11)).filter { icmpv6Type($0.frame) == .version2MulticastListenerReport }
        let records = try log.flatMap { try parseICMPv6($0.frame).report().records }
        #expect(records == [MLDv2MulticastAddressRecord(recordType: .modeIsExclude, multicastAddress: group)])
    }

    /// RFC 3810 §8.2: an MLDv1 query starts the Older Version Querier Present timer; while it runs, answers and
    /// state changes are MLDv1 Reports (131) to the group and Dones (132) to ff02::2; afterwards MLDv2 again.
    @Test func mldv1QuerierMakesTheGuestAnswerWithMLDv1ReportsUntilTheTimerRunsOut() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        let group = Lab6.clientLinkLocal.solicitedNodeMulticast
        let query = MLDQuery(maximumResponseCode: 500)
        func sendQuery() throws {
            harness.receive(try icmpv6Frame(from: Lab6.routerMAC, source: Lab6.router, destination: .allNodes, hopLimit: 1,
                                            length: query.encodedLength) { try query.emit(into: $0, source: $1, destination: $2) })
        }
        try sendQuery()
        #expect(harness.stack.counters.drops(.mldVersion1Query) == 0)
        let at = harness.now
        let answers = try harness.run(until: at + .seconds(1)).filter { ![.neighborSolicitation, .routerSolicitation].contains(icmpv6Type($0.frame)) }
        #expect(answers.count == 1)
        let answer = try parseICMPv6(try #require(answers.first?.frame))
        #expect(answer.message.type == .multicastListenerReport && answer.checksumValid)
        #expect(answer.ip.header.destination == group && answer.ip.header.hopLimit == 1 && answer.ip.hopByHop?.routerAlert == 0)
        #expect(answer.message.body == [0, 0, 0, 0] + group.bytes)
        // A new group joined in compatibility mode: MLDv1 Reports; left: a Done to ff02::2.
        let leased = IPv6Address("2001:db8:1::1234")!
        harness.stack.addDHCPv6Address(leased, validLifetime: nil, preferredLifetime: nil, now: harness.now)
        let joined = try harness.run(until: harness.now + .seconds(3)).map { try parseICMPv6($0.frame) }
            .filter { ![.neighborSolicitation, .routerSolicitation].contains($0.message.type) }
        #expect(joined.count == 2 && joined.allSatisfy { $0.message.type == .multicastListenerReport && $0.ip.header.destination == leased.solicitedNodeMulticast })
        harness.stack.removeDHCPv6Address(leased, now: harness.now)
        let left = try harness.run(until: harness.now + .seconds(3)).map { try parseICMPv6($0.frame) }
            .filter { $0.message.type != .routerSolicitation }
        #expect(left.count == 2 && left.allSatisfy { $0.message.type == .multicastListenerDone && $0.ip.header.destination == .allRouters })
        // After Robustness × 125 s + 10 s without an MLDv1 query: MLDv2 again.
        _ = try harness.run(until: at + .seconds(261))
        let v2 = MLDQuery(maximumResponseCode: 500, version2: MLDv2QueryFields())
        harness.receive(try icmpv6Frame(from: Lab6.routerMAC, source: Lab6.router, destination: .allNodes, hopLimit: 1,
                                        length: v2.encodedLength) { try v2.emit(into: $0, source: $1, destination: $2) })
        let later = try harness.run(until: harness.now + .seconds(1)).filter { icmpv6Type($0.frame) != .routerSolicitation }
        #expect(later.map { icmpv6Type($0.frame) } == [.version2MulticastListenerReport])
    }

    @Test func neighborSolicitationIsAnsweredWithSolicitedOverrideAndOurMAC() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Lab6.peer, mac: Lab6.peerMAC))
        let sent = harness.sent6()
        #expect(sent.count == 1)
        let na = try parseICMPv6(try #require(sent.first))
        #expect(na.ip.ethernet.destination == Lab6.peerMAC && na.ip.header.destination == Lab6.peer)
        #expect(na.ip.header.source == Lab6.clientLinkLocal && na.ip.header.hopLimit == 255 && na.checksumValid)
        let advertisement = try na.neighborAdvertisement()
        #expect(advertisement.solicited && advertisement.override && !advertisement.router)
        #expect(advertisement.targetAddress == Lab6.clientLinkLocal && advertisement.options == [.targetLinkLayerAddress(Lab.clientMAC)])
        // Learned STALE from the solicitation, then used for the answer: DELAY (RFC 4861 §7.3.3).
        #expect(harness.stack.ipv6.neighbors.state(of: Lab6.peer) == .delay)
        // Invalid: hop limit below 255, a multicast target, or from :: with a source link-layer option.
        var forwarded = try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Lab6.peer, mac: Lab6.peerMAC)
        forwarded[14 + 7] = 254
        harness.receive(forwarded)
        harness.receive(try neighborSolicitationFrame(target: .allNodes, source: Lab6.peer, mac: Lab6.peerMAC,
                                                      destination: Lab6.clientLinkLocal))
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: .unspecified, mac: Lab6.peerMAC,
                                                      options: [.sourceLinkLayerAddress(Lab6.peerMAC)]))
        #expect(harness.stack.counters.drops(.ndpInvalid) == 3)
        #expect(harness.sent6().isEmpty)
    }

    @Test func neighborCacheStateTransitions() throws {
        var cache = NeighborCacheV6(retransTimer: .seconds(1), reachableTime: .seconds(30))
        let t0 = Instant.boot
        #expect(cache.resolve(Lab6.peer, packet: [1], source: Lab6.clientLinkLocal, now: t0) == .queued(solicit: true, droppedOldest: false))
        #expect(cache.state(of: Lab6.peer) == .incomplete)
        // Two more multicast solicitations, then failure with the queued packet.
        #expect(cache.poll(now: t0 + .seconds(1)).solicitations.count == 1)
        #expect(cache.poll(now: t0 + .seconds(2)).solicitations.count == 1)
        let failed = cache.poll(now: t0 + .seconds(3))
        #expect(failed.failures.map(\.address) == [Lab6.peer] && failed.failures.first?.droppedPackets == 1)
        #expect(cache.state(of: Lab6.peer) == nil)

        _ = cache.resolve(Lab6.peer, packet: [1], source: Lab6.clientLinkLocal, now: t0)
        let answer = cache.advertisement(Lab6.peer, targetLinkLayerAddress: Lab6.peerMAC, solicited: true, override: true,
                                         router: false, now: t0)
        #expect(answer.released == [[1]] && cache.state(of: Lab6.peer) == .reachable)
        _ = cache.poll(now: t0 + .seconds(30))
        #expect(cache.state(of: Lab6.peer) == .stale)
        #expect(cache.resolve(Lab6.peer, packet: [2], source: Lab6.clientLinkLocal, now: t0 + .seconds(31)) == .send(Lab6.peerMAC))
        #expect(cache.state(of: Lab6.peer) == .delay)
        let probe = cache.poll(now: t0 + .seconds(36))
        #expect(cache.state(of: Lab6.peer) == .probe)
        #expect(probe.solicitations == [.init(target: Lab6.peer, source: Lab6.clientLinkLocal, destinationMAC: Lab6.peerMAC)])
        // An unsolicited NA with another MAC and O=0 changes nothing but a REACHABLE entry; with O=1 it updates to STALE.
        _ = cache.advertisement(Lab6.peer, targetLinkLayerAddress: Lab6.router2MAC, solicited: false, override: false, router: false, now: t0 + .seconds(36))
        #expect(cache.linkLayerAddress(of: Lab6.peer) == Lab6.peerMAC && cache.state(of: Lab6.peer) == .probe)
        _ = cache.advertisement(Lab6.peer, targetLinkLayerAddress: Lab6.router2MAC, solicited: false, override: true, router: false, now: t0 + .seconds(36))
        #expect(cache.linkLayerAddress(of: Lab6.peer) == Lab6.router2MAC && cache.state(of: Lab6.peer) == .stale)
        // PROBE without an answer: MAX_UNICAST_SOLICIT then gone.
        _ = cache.resolve(Lab6.peer, packet: [3], source: Lab6.clientLinkLocal, now: t0 + .seconds(40))
        _ = cache.poll(now: t0 + .seconds(45))
        _ = cache.poll(now: t0 + .seconds(46))
        _ = cache.poll(now: t0 + .seconds(47))
        #expect(cache.poll(now: t0 + .seconds(48)).failures.map(\.address) == [Lab6.peer])
        // An NA without an entry is unknown.
        #expect(cache.advertisement(Lab6.router, targetLinkLayerAddress: nil, solicited: true, override: true, router: true, now: t0).unknown)
    }

    @Test func echoRequestIsAnsweredWithAValidChecksum() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Lab6.peer, mac: Lab6.peerMAC))
        _ = harness.sent6()
        let request = ICMPv6Message.echoRequest(identifier: 0x4242, sequenceNumber: 7, data: [1, 2, 3, 4, 5])
        harness.receive(try icmpv6Frame(request, from: Lab6.peerMAC, source: Lab6.peer, destination: Lab6.clientLinkLocal))
        let reply = try parseICMPv6(try #require(harness.sent6().first))
        #expect(reply.message == .echoReply(identifier: 0x4242, sequenceNumber: 7, data: [1, 2, 3, 4, 5]))
        #expect(reply.checksumValid && reply.ip.header.source == Lab6.clientLinkLocal && reply.ip.header.destination == Lab6.peer)
        #expect(reply.ip.ethernet.destination == Lab6.peerMAC)
        // A corrupted checksum is a counted drop, not an answer.
        var bad = try icmpv6Frame(request, from: Lab6.peerMAC, source: Lab6.peer, destination: Lab6.clientLinkLocal)
        bad[14 + 40 + 2] ^= 0xFF
        harness.receive(bad)
        #expect(harness.stack.counters.drops(.icmpv6Checksum) == 1 && harness.sent6().isEmpty)
    }

    @Test func ping6ToTheRouterResolvesItThenReportsRoundTrips() throws {
        let harness = IPv6Harness { $0.ipv6.pingTargets = [.router]; $0.ipv6.pingCount = 2 }
        try harness.bootLinkLocal()
        _ = harness.events6()
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(routerLifetime: 600)))
        // No SLLA in the RA: the echo request waits for address resolution.
        let ns = try parseICMPv6(try #require(harness.sent6().first { icmpv6Type($0) == .neighborSolicitation }))
        #expect(ns.ip.header.destination == Lab6.router.solicitedNodeMulticast && ns.ip.header.source == Lab6.clientLinkLocal)
        #expect(try ns.neighborSolicitation().options == [.sourceLinkLayerAddress(Lab.clientMAC)])
        harness.advance(by: .milliseconds(3))
        harness.receive(try neighborAdvertisementFrame(target: Lab6.router, source: Lab6.router, mac: Lab6.routerMAC,
                                                       destination: Lab6.clientLinkLocal, solicited: true, router: true))
        let echo = try parseICMPv6(try #require(harness.sent6().first))
        #expect(echo.message.type == .echoRequest && echo.ip.ethernet.destination == Lab6.routerMAC && echo.checksumValid)
        harness.advance(by: .milliseconds(2))
        let body = echo.message.body
        harness.receive(try icmpv6Frame(ICMPv6Message(type: .echoReply, body: body), from: Lab6.routerMAC, source: Lab6.router,
                                        destination: Lab6.clientLinkLocal))
        #expect(harness.events6().contains(.pingReply(target: Lab6.router, sequence: 1, roundTrip: .milliseconds(5))))
        _ = try harness.run(until: harness.now + .seconds(3))
        #expect(harness.events6().contains(.pingsFinished(target: Lab6.router, sent: 2, received: 1)))
    }

    @Test func receivedErrorsAreCountedAndNeverAnswered() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        for type: UInt8 in [1, 2, 3, 4] {
            let error = ICMPv6Message(type: ICMPv6Type(type), code: 0, body: [0, 0, 5, 0xDC] + [UInt8](repeating: 0x60, count: 48))
            harness.receive(try icmpv6Frame(error, from: Lab6.peerMAC, source: Lab6.peer, destination: Lab6.clientLinkLocal))
        }
        #expect(harness.stack.counters.icmpv6ErrorsReceived == [1: 1, 2: 1, 3: 1, 4: 1])
        #expect(harness.sent6().isEmpty)
        // A UDP datagram to a closed port gets a port unreachable; one to ff02::1 does not.
        harness.receive(try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Lab6.peer, mac: Lab6.peerMAC))
        _ = harness.sent6()
        let udp = try bytes(12) { buffer in
            try UDPHeader(sourcePort: 4000, destinationPort: 9, payloadLength: 4).emit(into: buffer)
            UDPHeader.fillChecksum(datagram: buffer, source: Lab6.peer, destination: Lab6.clientLinkLocal)
        }
        harness.receive(try ipv6Frame(from: Lab6.peerMAC, to: Lab.clientMAC, source: Lab6.peer, destination: Lab6.clientLinkLocal,
                                      nextHeader: .udp, payload: udp))
        let unreachable = try parseICMPv6(try #require(harness.sent6().first))
        #expect(unreachable.message.type == .destinationUnreachable && unreachable.message.code == 4 && unreachable.checksumValid)
        #expect(harness.stack.counters.drops(.udpNoListener) == 1)
    }

    @Test func udpListenerGetsDatagramsAndSendUsesTheLinkLocalSource() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        var received: [UDPv6Datagram] = []
        harness.stack.listenUDPv6(port: 546) { datagram, _ in received.append(datagram) }
        #expect(harness.stack.sendUDPv6(sourcePort: 546, destinationPort: 547, payload: [1, 2, 3],
                                        destination: .allDHCPRelayAgentsAndServers, now: harness.now))
        let sent = try parseIPv6(try #require(harness.sent6().first))
        #expect(sent.header.source == Lab6.clientLinkLocal && sent.ethernet.destination == MACAddress(0x33, 0x33, 0, 1, 0, 2))
        #expect(sent.upperNextHeader == .udp)
        let reply = try bytes(11) { buffer in
            try UDPHeader(sourcePort: 547, destinationPort: 546, payloadLength: 3).emit(into: buffer)
            buffer[8] = 7
            UDPHeader.fillChecksum(datagram: buffer, source: Lab6.router, destination: Lab6.clientLinkLocal)
        }
        harness.receive(try ipv6Frame(from: Lab6.routerMAC, to: Lab.clientMAC, source: Lab6.router, destination: Lab6.clientLinkLocal,
                                      nextHeader: .udp, payload: reply))
        #expect(received.map(\.payload) == [[7, 0, 0]] && received.first?.sourcePort == 547)
        // A DHCPv6 address goes through DAD like any other.
        let leased = IPv6Address("2001:db8:1::1000")!
        harness.stack.addDHCPv6Address(leased, validLifetime: .seconds(600), preferredLifetime: .seconds(300), now: harness.now)
        let info = try #require(harness.stack.ipv6Addresses.last)
        #expect(info.address == leased && info.origin == .dhcpv6 && info.state == .tentative && info.prefixLength == 128)
        _ = try harness.run(until: harness.now + .seconds(3))
        #expect(harness.stack.ipv6Addresses.last?.state == .preferred)
    }

    @Test func randomAndMutatedFramesNeverTrapAndAreAllCounted() throws {
        let harness = IPv6Harness()
        try harness.bootLinkLocal()
        harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [.sourceLinkLayerAddress(Lab6.routerMAC), prefixOption()])))
        let seeds: [[UInt8]] = [
            try routerAdvertisementFrame(RouterAdvertisement(options: [prefixOption(), .recursiveDNSServer(lifetime: 9, addresses: [Lab6.dns])])),
            try neighborSolicitationFrame(target: Lab6.clientLinkLocal, source: Lab6.peer, mac: Lab6.peerMAC),
            try neighborAdvertisementFrame(target: Lab6.peer, source: Lab6.peer, mac: Lab6.peerMAC, destination: .allNodes, solicited: false),
            try icmpv6Frame(.echoRequest(identifier: 1, sequenceNumber: 1), from: Lab6.peerMAC, source: Lab6.peer, destination: Lab6.clientLinkLocal),
        ]
        let before = harness.stack.counters
        // Drops of outgoing packets (resolution failures, no route) are not about received frames.
        let outgoing: Set<DropReason> = [.ndpResolutionFailed, .ndpQueueOverflow, .noRoute, .transmitQueueOverflow, .encodeFailed,
                                         .arpResolutionFailed, .arpQueueOverflow]
        func accounted(_ counters: StackCounters) -> Int {
            counters.ipv6Consumed + counters.drops.filter { !outgoing.contains($0.key) }.values.reduce(0, +)
        }
        let beforeAccounted = accounted(before)
        var random = SeededGenerator(seed: 99)
        let count = 2000
        for index in 0 ..< count {
            var frame = seeds[index % seeds.count]
            if index % 5 == 0 {
                frame = (0 ..< Int.random(in: 0 ... 120, using: &random)).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
                if frame.count > 14 { frame.replaceSubrange(0 ..< 14, with: Lab.clientMAC.array + Lab6.peerMAC.array + [0x86, 0xDD]) }
            } else {
                for _ in 0 ..< Int.random(in: 1 ... 4, using: &random) {
                    let at = Int.random(in: 14 ..< frame.count, using: &random)
                    frame[at] = UInt8.random(in: 0 ... 255, using: &random)
                }
                if index % 7 == 0 { frame = Array(frame.prefix(Int.random(in: 0 ... frame.count, using: &random))) }
            }
            harness.receive(frame)
            _ = try harness.run(until: harness.now + .milliseconds(10))
        }
        let after = harness.stack.counters
        #expect(after.ethernet.received - before.ethernet.received == count)
        // Every frame is consumed by IPv6 or dropped (at Ethernet or above) exactly once.
        #expect(accounted(after) - beforeAccounted == count)
        #expect(after.ipv6.received - before.ipv6.received > count / 2)
    }

    @Test func sameSeedSameBytes() throws {
        func scenario(_ seed: UInt64) throws -> [[UInt8]] {
            let harness = IPv6Harness(seed: seed) { $0.ipv6.pingTargets = [.router] }
            var frames = try harness.bootLinkLocal().map(\.frame)
            harness.receive(try routerAdvertisementFrame(RouterAdvertisement(options: [.sourceLinkLayerAddress(Lab6.routerMAC), prefixOption()])))
            frames += harness.sent6()
            frames += try harness.run(until: .boot + .seconds(12)).map(\.frame)
            return frames
        }
        let first = try scenario(5)
        #expect(first.count > 8)
        #expect(try scenario(5) == first)
        #expect(try scenario(6) != first)
    }
}
