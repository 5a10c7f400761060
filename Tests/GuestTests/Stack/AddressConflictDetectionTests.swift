import Testing
@testable import Guest
import Wire

/// RFC 5227 on its own: timings with the RFC's constants and jitter ranges, what counts as a conflict, defence.
@Suite struct AddressConflictDetectionTests {
    typealias ACD = AddressConflictDetection
    static let candidate = Lab.offered
    static let otherMAC = Lab.peerMAC

    /// Runs the check from `start` until nothing is scheduled; every packet with when it was sent.
    func runToEnd(_ check: inout ACD, from start: Instant) -> [(at: Instant, packet: ARPMessage)] {
        var log: [(Instant, ARPMessage)] = []
        var now = start
        for _ in 0 ..< 100 {
            guard let deadline = check.nextDeadline else { break }
            now = max(now, deadline)
            log += check.poll(now: now).map { (now, $0) }
        }
        return log
    }

    func arp(_ operation: ARPOperation = .request, from mac: MACAddress, senderIP: IPv4Address, targetIP: IPv4Address) -> ARPMessage {
        ARPMessage(operation: operation, senderHardwareAddress: mac, senderProtocolAddress: senderIP,
                   targetHardwareAddress: .zero, targetProtocolAddress: targetIP)
    }

    @Test func constantsAreTheRFCs() {
        #expect(ACD.PROBE_WAIT == .seconds(1) && ACD.PROBE_NUM == 3)
        #expect(ACD.PROBE_MIN == .seconds(1) && ACD.PROBE_MAX == .seconds(2))
        #expect(ACD.ANNOUNCE_WAIT == .seconds(2) && ACD.ANNOUNCE_NUM == 2 && ACD.ANNOUNCE_INTERVAL == .seconds(2))
        #expect(ACD.MAX_CONFLICTS == 10 && ACD.RATE_LIMIT_INTERVAL == .seconds(60) && ACD.DEFEND_INTERVAL == .seconds(10))
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func probesThenAnnouncementsWithTheRFCTimings(seed: UInt64) throws {
        let start = Instant.boot + .seconds(100)
        var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: start, random: SeededGenerator(seed: seed))
        let log = runToEnd(&check, from: start)
        #expect(log.count == ACD.PROBE_NUM + ACD.ANNOUNCE_NUM)
        let probes = log.prefix(3)
        let announcements = log.suffix(2)
        for (_, probe) in probes {
            #expect(probe == ARPMessage(operation: .request, senderHardwareAddress: Lab.clientMAC, senderProtocolAddress: .any,
                                        targetHardwareAddress: .zero, targetProtocolAddress: Self.candidate))
        }
        for (_, announcement) in announcements {
            #expect(announcement == ARPMessage(operation: .request, senderHardwareAddress: Lab.clientMAC,
                                               senderProtocolAddress: Self.candidate, targetHardwareAddress: .zero,
                                               targetProtocolAddress: Self.candidate))
        }
        let times = log.map(\.at)
        #expect(times[0] - start >= .zero && times[0] - start <= ACD.PROBE_WAIT)
        for gap in [times[1] - times[0], times[2] - times[1]] {
            #expect(gap >= ACD.PROBE_MIN && gap <= ACD.PROBE_MAX)
        }
        #expect(times[3] - times[2] == ACD.ANNOUNCE_WAIT)
        #expect(times[4] - times[3] == ACD.ANNOUNCE_INTERVAL)
        #expect(check.probeStart == times[0] && check.probeEnd == times[2] && check.claimedAt == times[3])
        #expect(check.phase == .claimed && check.nextDeadline == nil)
    }

    @Test func theRandomDelaysAreDrawnNotFixed() {
        var firstDelays = Set<Duration>()
        var gaps = Set<Duration>()
        for seed in 0 ..< 20 as Range<UInt64> {
            var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: .boot, random: SeededGenerator(seed: seed))
            let times = runToEnd(&check, from: .boot).map(\.at)
            firstDelays.insert(times[0] - .boot)
            gaps.insert(times[1] - times[0])
        }
        #expect(firstDelays.count > 10 && gaps.count > 10)
    }

    @Test func whileProbingTheCandidateAsSenderOrAnotherHostsProbeIsAConflict() {
        let conflicts: [ARPMessage] = [
            arp(.reply, from: Self.otherMAC, senderIP: Self.candidate, targetIP: .any),        // someone answers
            arp(.request, from: Self.otherMAC, senderIP: Self.candidate, targetIP: Lab.server), // someone uses it
            arp(.request, from: Self.otherMAC, senderIP: .any, targetIP: Self.candidate),      // someone probes for it
        ]
        for packet in conflicts {
            var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: .boot, random: SeededGenerator(seed: 1))
            _ = check.poll(now: .boot + .seconds(1))   // first probe out
            #expect(check.handle(packet, now: .boot + .seconds(1)) == .conflict(Self.otherMAC), "\(packet)")
            #expect(check.phase == .conflicted && check.nextDeadline == nil)
            #expect(check.poll(now: .boot + .seconds(10)).isEmpty)
        }
    }

    @Test func ourOwnMACAndUnrelatedPacketsAreNotConflicts() {
        var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: .boot, random: SeededGenerator(seed: 2))
        let harmless: [ARPMessage] = [
            check.probe,                                                                       // our probe looped back
            check.announcement,                                                                // our announcement
            arp(.reply, from: Lab.clientMAC, senderIP: Self.candidate, targetIP: .any),
            arp(.request, from: Self.otherMAC, senderIP: Lab.peer, targetIP: Lab.server),      // unrelated
            arp(.request, from: Self.otherMAC, senderIP: .any, targetIP: Lab.peer),           // a probe for another address
            arp(.reply, from: Self.otherMAC, senderIP: Lab.peer, targetIP: Self.candidate),    // a reply sent to the candidate
        ]
        for packet in harmless { #expect(check.handle(packet, now: .boot) == .none, "\(packet)") }
        #expect(runToEnd(&check, from: .boot).count == 5)
        #expect(check.phase == .claimed)
    }

    @Test func aConflictDuringAnnounceWaitStillCounts() {
        var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: .boot, random: SeededGenerator(seed: 3))
        var now = Instant.boot
        while check.probesSent < ACD.PROBE_NUM, let deadline = check.nextDeadline {
            now = deadline
            _ = check.poll(now: now)
        }
        #expect(check.phase == .probing && check.claimedAt == nil)
        let late = now + ACD.ANNOUNCE_WAIT - .milliseconds(1)
        #expect(check.poll(now: late).isEmpty)
        #expect(check.handle(arp(.reply, from: Self.otherMAC, senderIP: Self.candidate, targetIP: .any), now: late)
                == .conflict(Self.otherMAC))
    }

    @Test func boundDefendsOnceThenAbandonsWithinDefendInterval() {
        var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: .boot, random: SeededGenerator(seed: 4))
        _ = runToEnd(&check, from: .boot)
        let claimed = check.claimedAt!
        let conflict = arp(.request, from: Self.otherMAC, senderIP: Self.candidate, targetIP: Self.candidate)
        // A probe for our address is not a conflict once claimed (ordinary ARP answers it, §2.4).
        #expect(check.handle(arp(from: Self.otherMAC, senderIP: .any, targetIP: Self.candidate), now: claimed) == .none)

        let first = claimed + .seconds(30)
        #expect(check.handle(conflict, now: first) == .defended(Self.otherMAC))
        #expect(check.nextDeadline == .boot)
        #expect(check.poll(now: first) == [check.announcement])
        #expect(check.nextDeadline == nil)
        // Our own announcement is not a conflict.
        #expect(check.handle(check.announcement, now: first + .seconds(1)) == .none)
        #expect(check.handle(conflict, now: first + ACD.DEFEND_INTERVAL - .milliseconds(1)) == .abandon(Self.otherMAC))
        #expect(check.phase == .abandoned && check.poll(now: first + .seconds(20)).isEmpty)
    }

    @Test func conflictsMoreThanDefendIntervalApartAreEachDefended() {
        var check = ACD(mac: Lab.clientMAC, address: Self.candidate, now: .boot, random: SeededGenerator(seed: 5))
        _ = runToEnd(&check, from: .boot)
        let conflict = arp(.reply, from: Self.otherMAC, senderIP: Self.candidate, targetIP: Lab.server)
        let first = check.claimedAt! + .seconds(5)
        #expect(check.handle(conflict, now: first) == .defended(Self.otherMAC))
        _ = check.poll(now: first)
        #expect(check.handle(conflict, now: first + ACD.DEFEND_INTERVAL) == .defended(Self.otherMAC))
        #expect(check.lastDefended == first + ACD.DEFEND_INTERVAL)
        #expect(check.poll(now: first + ACD.DEFEND_INTERVAL) == [check.announcement])
    }
}
