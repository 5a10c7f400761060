import Testing
@testable import Guest
import Wire

/// Many identities behind one card: dispatch, steering, fair transmit, admission, pacing, release. All on a manual
/// clock against `FakeDHCPServer`.
@Suite struct StackSwitchTests {
    /// N identities with distinct MACs 02:00:5e:77:00:<n>, and a server that offers 198.51.100.(100 + n) to each.
    final class SwitchHarness {
        let clock = ManualClock()
        let stackSwitch: StackSwitch
        var server = FakeDHCPServer()
        let macs: [MACAddress]

        init(count: Int, parallel: Int? = nil, spacing: Duration = .zero, releaseSpacing: Duration = .zero, acd: Bool = false) {
            macs = (0..<count).map { MACAddress(0x02, 0x00, 0x5e, 0x77, 0x00, UInt8($0 + 1)) }
            var random = SeededGenerator(seed: 99)
            let stacks = macs.map { mac in
                var configuration = StackConfiguration(mac: mac)
                configuration.dhcp.acd = acd
                return NetworkStack(configuration: configuration, random: random.split())
            }
            stackSwitch = StackSwitch(stacks: stacks, parallel: parallel, spacing: spacing, releaseSpacing: releaseSpacing)
        }

        var now: Instant { clock.now() }

        func offered(to mac: MACAddress) -> IPv4Address {
            IPv4Address(198, 51, 100, 100 + (macs.firstIndex(of: mac).map { UInt8($0) } ?? 50))
        }

        func sent() -> [[UInt8]] {
            var frames: [[UInt8]] = []
            while let frame = stackSwitch.dequeueTransmit() { frames.append(frame) }
            return frames
        }

        func feed(_ frame: [UInt8]) {
            frame.withUnsafeBytes { stackSwitch.receive(frame: $0, now: now) }
        }

        /// The server's reply to a DISCOVER (OFFER) or a selecting REQUEST (ACK), nil for anything else.
        func reply(to frame: [UInt8]) throws -> [UInt8]? {
            guard isDHCP(frame) else { return nil }
            let request = try parseDHCP(frame)
            var server = self.server
            server.offered = offered(to: request.clientHardwareAddress)
            switch request.messageType {
            case .discover?: return try server.reply(.offer, to: request)
            case .request? where request.clientAddress == .any: return try server.reply(.ack, to: request)
            default: return nil
            }
        }

        /// Answers every DHCP message sent until nothing more is sent.
        func exchange() throws {
            for _ in 0..<10 {
                let replies = try sent().compactMap(reply(to:))
                if replies.isEmpty { return }
                for reply in replies { feed(reply) }
            }
        }
    }

    static func source(_ frame: [UInt8]) -> MACAddress { MACAddress(bytes: frame[6..<12])! }

    /// `frame` with its Ethernet destination set to broadcast.
    static func broadcast(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        for index in 0..<6 { frame[index] = 0xff }
        return frame
    }

    @Test func everyIdentityLeasesItsOwnAddressAndEventsNameIt() throws {
        let harness = SwitchHarness(count: 3)
        harness.stackSwitch.start(now: harness.now)
        try harness.exchange()
        let events = harness.stackSwitch.drainEvents()
        var bound: [Int: IPv4Address] = [:]
        for (identity, event) in events {
            if case let .leaseBound(lease, _) = event { bound[identity] = lease.address }
        }
        #expect(bound == [0: IPv4Address(198, 51, 100, 100), 1: IPv4Address(198, 51, 100, 101), 2: IPv4Address(198, 51, 100, 102)])
        #expect(harness.stackSwitch.stacks.allSatisfy { $0.dhcpState == .bound })
        #expect(harness.stackSwitch.counters.unicastDelivered == 6)
    }

    @Test func unicastGoesOnlyToTheNamedIdentityAndUnknownMACsAreCounted() throws {
        let harness = SwitchHarness(count: 3)
        harness.stackSwitch.start(now: harness.now)
        let discovers = harness.sent()
        #expect(discovers.count == 3)
        let discoverB = try #require(discovers.first { Self.source($0) == harness.macs[1] })
        let offerForB = try #require(try harness.reply(to: discoverB))
        harness.feed(offerForB)
        #expect(harness.stackSwitch.stacks.map(\.dhcpState) == [.selecting, .requesting, .selecting])

        var stranger = offerForB
        stranger.replaceSubrange(0..<6, with: [0x02, 0x99, 0x99, 0x99, 0x99, 0x99])
        harness.feed(stranger)
        harness.feed([0x02, 0x00])  // too short to carry a destination
        #expect(harness.stackSwitch.counters.dropped == 2)
        #expect(harness.stackSwitch.stacks.map { $0.counters.ethernet.received } == [0, 1, 0])
    }

    @Test func broadcastRepliesAreSteeredByChaddrAndOtherBroadcastsFlooded() throws {
        let harness = SwitchHarness(count: 3)
        harness.stackSwitch.start(now: harness.now)
        let discovers = harness.sent()
        let discoverC = try #require(discovers.first { Self.source($0) == harness.macs[2] })
        let offerForC = try #require(try harness.reply(to: discoverC))
        harness.feed(Self.broadcast(offerForC))
        #expect(harness.stackSwitch.counters.dhcpSteered == 1)
        #expect(harness.stackSwitch.stacks.map(\.dhcpState) == [.selecting, .selecting, .requesting])

        let whoHas = ARPMessage(operation: .request, senderHardwareAddress: Lab.serverMAC, senderProtocolAddress: Lab.server,
                                targetHardwareAddress: .zero, targetProtocolAddress: IPv4Address(198, 51, 100, 7))
        harness.feed(try arpFrame(whoHas, to: .broadcast))
        #expect(harness.stackSwitch.counters.flooded == 1)
        #expect(harness.stackSwitch.stacks.map { $0.counters.arp.received } == [1, 1, 1])
    }

    @Test func transmitTakesOneFrameFromEachIdentityInTurnAndARequeuedFrameGoesFirst() throws {
        let harness = SwitchHarness(count: 3)
        harness.stackSwitch.start(now: harness.now)
        let first = try #require(harness.stackSwitch.dequeueTransmit())
        harness.stackSwitch.requeueTransmit(first)
        let frames = harness.sent()
        #expect(frames.first == first)
        #expect(frames.map(Self.source) == harness.macs)
        #expect(harness.stackSwitch.dequeueTransmit() == nil)
    }

    @Test func parallelLimitsIdentitiesBetweenDiscoverAndLease() throws {
        let harness = SwitchHarness(count: 4, parallel: 2)
        harness.stackSwitch.start(now: harness.now)
        let discovers = harness.sent()
        #expect(discovers.map(Self.source) == Array(harness.macs.prefix(2)))
        #expect(!harness.stackSwitch.isStarted(2))
        // Identity 0 gets its lease: its slot goes to identity 2, and identity 3 still waits.
        let offer = try #require(try harness.reply(to: discovers[0]))
        harness.feed(offer)
        let request = try #require(harness.sent().first)
        let ack = try #require(try harness.reply(to: request))
        harness.feed(ack)
        #expect(harness.stackSwitch.stacks[0].dhcpState == .bound)
        #expect(harness.stackSwitch.isStarted(2) && !harness.stackSwitch.isStarted(3))
        #expect(harness.sent().map(Self.source) == [harness.macs[2]])
    }

    @Test func spacingSpreadsTheStarts() throws {
        let harness = SwitchHarness(count: 3, spacing: .milliseconds(10))
        harness.stackSwitch.start(now: harness.now)
        #expect(harness.sent().count == 1)
        #expect(harness.stackSwitch.nextDeadline() == .boot + .milliseconds(10))
        harness.clock.advance(by: .milliseconds(9))
        harness.stackSwitch.poll(now: harness.now)
        #expect(harness.sent().isEmpty)
        harness.clock.advance(by: .milliseconds(1))
        harness.stackSwitch.poll(now: harness.now)
        #expect(harness.sent().map(Self.source) == [harness.macs[1]])
    }

    @Test func releaseAllIsPacedAndGoesStraightToTheServersMAC() throws {
        let harness = SwitchHarness(count: 2, releaseSpacing: .milliseconds(5))
        harness.stackSwitch.start(now: harness.now)
        try harness.exchange()
        #expect(harness.stackSwitch.stacks.allSatisfy { $0.lease != nil })
        let released = harness.stackSwitch.releaseAll(now: harness.now)
        #expect(released.map(\.identity) == [0, 1])
        #expect(harness.stackSwitch.releasesPending(released) == 2)  // one in the stack's queue, one not yet sent
        // The server's MAC was learned from its replies: the RELEASE needs no ARP first.
        let first = harness.sent()
        #expect(first.count == 1)
        #expect(MACAddress(bytes: first[0][0..<6]) == Lab.serverMAC)
        #expect(try parseDHCP(first[0]).messageType == .release)
        #expect(harness.stackSwitch.nextDeadline() == harness.now + .milliseconds(5))
        harness.clock.advance(by: .milliseconds(5))
        harness.stackSwitch.poll(now: harness.now)
        let second = harness.sent()
        #expect(try second.map { try parseDHCP($0).messageType } == [.release])
        #expect(harness.stackSwitch.releasesPending(released) == 0)
    }

    @Test func releaseAllIncludesAnAckedLeaseStillProbing() throws {
        let harness = SwitchHarness(count: 1, acd: true)
        harness.stackSwitch.start(now: harness.now)
        try harness.exchange()
        let stack = harness.stackSwitch.stacks[0]
        #expect(stack.lease == nil && stack.dhcpClient.pendingLease != nil && stack.dhcpState == .probing)
        _ = harness.sent()
        let released = harness.stackSwitch.releaseAll(now: harness.now)
        #expect(released.map(\.identity) == [0])
        #expect(try harness.sent().filter(isDHCP).map { try parseDHCP($0).messageType } == [.release])
    }

    @Test func aForgedReplyWithAnotherXidDoesNotChangeTheLearnedServerMAC() throws {
        let harness = SwitchHarness(count: 1)
        harness.stackSwitch.start(now: harness.now)
        let discover = try #require(harness.sent().first)
        // A forged OFFER from the server's address but another MAC and xid, before any lease: not learned.
        var forged = try #require(try harness.reply(to: discover))
        forged[6..<12] = [0x02, 0xee, 0xee, 0xee, 0xee, 0xee]
        let xidOffset = 14 + 20 + 8 + 4
        forged[xidOffset] ^= 0xff
        harness.feed(forged)
        #expect(harness.stackSwitch.serverMACs.isEmpty)
        harness.feed(try #require(try harness.reply(to: discover)))
        try harness.exchange()
        #expect(harness.stackSwitch.stacks[0].lease != nil)
        #expect(harness.stackSwitch.serverMACs.values.map { $0 } == [Lab.serverMAC])
        // After the lease, the forged reply still changes nothing.
        harness.feed(forged)
        #expect(harness.stackSwitch.serverMACs.values.map { $0 } == [Lab.serverMAC])
    }

    @Test func anIdentityThatGetsNoAnswerGivesUpItsSlot() throws {
        let harness = SwitchHarness(count: 2, parallel: 1)
        harness.stackSwitch.start(now: harness.now)
        #expect(harness.sent().map(Self.source) == [harness.macs[0]])
        // Identity 0 never gets an answer: it retransmits, and after the admission timeout identity 1 starts.
        while harness.now < .boot + harness.stackSwitch.admissionTimeout {
            let next = try #require(harness.stackSwitch.nextDeadline())
            #expect(!harness.stackSwitch.isStarted(1))
            harness.clock.advance(to: next)
            harness.stackSwitch.poll(now: harness.now)
            let frames = harness.sent()
            for frame in frames where Self.source(frame) == harness.macs[1] {
                harness.feed(try #require(try harness.reply(to: frame)))
            }
        }
        #expect(harness.stackSwitch.isStarted(1))
        #expect(harness.stackSwitch.counters.admissionsTimedOut == 1)
        try harness.exchange()
        #expect(harness.stackSwitch.stacks[1].lease != nil)
    }
}
