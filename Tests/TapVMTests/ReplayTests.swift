import Capture
import Foundation
import Guest
import Testing
import Wire
@testable import TapVM

/// The replays of `pcaps/` against their golden files, and what replay says about differences and frames.
struct ReplayTests {
    static let pcaps = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pcaps").path

    static func path(_ name: String) -> String { pcaps + "/" + name }

    static func replay(_ name: String, explain: Bool = false, seed: UInt64? = nil) throws -> (ReplayResult, [ReplayStep]) {
        var options = ReplayOptions(input: path(name))
        options.explain = explain
        options.seed = seed
        var steps: [ReplayStep] = []
        let guest = try Replay.guest(for: options)
        let result = try Replay.replay(options, guest: guest) { steps.append($0) }
        return (result, steps)
    }

    @Test(arguments: ["lease-ping", "nak", "renewal", "slaac-ping6", "dhcpv6"])
    func eachCaptureReplaysToItsGoldenFile(name: String) throws {
        let (result, _) = try Self.replay("\(name).pcap")
        let golden = try PcapReader(path: Self.path("\(name).golden.pcap")).readAll().map(\.bytes)
        #expect(!golden.isEmpty)
        let difference = Replay.firstDifference(result.output.map(\.bytes), golden)
        #expect(difference == nil, "\(name): frame \(difference?.frame ?? 0): \(difference?.text ?? "")")
        #expect(result.delivered + result.skipped == result.framesIn)
    }

    /// The acceptance test of determinism: replaying a real run's capture gives the frames the guest sent in that
    /// run, byte for byte and in order.
    @Test func replayingARealRunReproducesWhatTheGuestSent() throws {
        let records = try PcapReader(path: Self.path("lease-ping.pcap")).readAll()
        let mac = try #require(MACAddress("02:00:00:00:00:61"))
        let sentByGuest = records.map(\.bytes).filter { $0.count >= 12 && MACAddress(bytes: $0[6..<12]) == mac }
        #expect(sentByGuest.count == 6)
        let (result, _) = try Self.replay("lease-ping.pcap")
        #expect(result.output.map(\.bytes) == sentByGuest)
        // Delivered: OFFER, ACK, the router's ARP reply and two echo replies; everything else is skipped (the
        // guest's own frames, and a router advertisement to a group the IPv4-only guest has not joined).
        #expect(result.delivered == 5 && result.skipped == records.count - 5)
    }

    /// The same with IPv6 on: link-local and SLAAC addresses with DAD, MLDv2 reports, router solicitation, NDP and
    /// ping6 replay byte for byte (the sidecar records the IPv6 setting); the guest's multicast groups are delivered.
    @Test func replayingARealIPv6RunReproducesWhatTheGuestSent() throws {
        let records = try PcapReader(path: Self.path("slaac-ping6.pcap")).readAll()
        let mac = try #require(MACAddress("02:00:00:00:00:62"))
        let sentByGuest = records.map(\.bytes).filter { $0.count >= 12 && MACAddress(bytes: $0[6..<12]) == mac }
        let kinds = sentByGuest.map { FrameFields($0).kind }
        #expect(kinds.contains("ICMPv6 echo request") && kinds.contains("MLDv2 report") && kinds.contains("ICMPv6 neighbor solicitation"))
        let sidecar = try #require(try CaptureSidecar.load(for: Self.path("slaac-ping6.pcap")))
        #expect(sidecar.ipv6?.enabled == true)
        let (result, _) = try Self.replay("slaac-ping6.pcap")
        #expect(result.output.map(\.bytes) == sentByGuest)
        // The router advertisement to ff02::1 and the echo replies are delivered.
        let delivered = records.map(\.bytes).filter { $0.count >= 12 && MACAddress(bytes: $0[6..<12]) != mac }
        #expect(result.delivered == delivered.count)
    }

    @Test func theRunSeedDerivesTheSidecarsStackSeed() throws {
        let sidecar = try #require(try CaptureSidecar.load(for: Self.path("lease-ping.pcap")))
        let mac = try #require(MACAddress(sidecar.mac))
        // That run was given --mac, so its generator's first draw became the stack seed.
        #expect(sidecar.seed == "61")
        #expect("\(Replay.derivedStackSeed(runSeed: 61, mac: mac))" == sidecar.stackSeed)
        // Without --mac the first draw is the MAC and the second the stack seed.
        var generator = SeededGenerator(seed: 61)
        let randomMAC = GuestSession.randomMAC(using: &generator)
        #expect(Replay.derivedStackSeed(runSeed: 61, mac: randomMAC) == generator.next())
        // --seed on the command line gives the same replay as the sidecar's stack seed.
        let (bySeed, _) = try Self.replay("lease-ping.pcap", seed: 61)
        let (bySidecar, _) = try Self.replay("lease-ping.pcap")
        #expect(bySeed.output.map(\.bytes) == bySidecar.output.map(\.bytes))
    }

    @Test func theFirstDifferenceNamesTheFrameAndTheField() throws {
        let (result, _) = try Self.replay("lease-ping.pcap")
        var expected = result.output.map(\.bytes)
        // Frame 2 is the DHCPREQUEST: change the address in its option 50 (the checksum changes too, later).
        let request = expected[1]
        let fields = FrameFields(request)
        #expect(fields.kind == "DHCPREQUEST")
        let requested = try #require(fields.fields.first { $0.name == "option 50" }?.value)
        let address = try #require(IPv4Address(requested))
        let needle = address.octets
        func isOption50(at index: Int) -> Bool {
            guard request[index] == 50, request[index + 1] == 4 else { return false }
            return Array(request[(index + 2)..<(index + 6)]) == needle
        }
        let found = (0..<(request.count - 6)).first(where: isOption50)
        let offset = try #require(found)
        expected[1][offset + 5] &+= 1
        let other = IPv4Address(needle[0], needle[1], needle[2], needle[3] &+ 1)
        let difference = try #require(Replay.firstDifference(result.output.map(\.bytes), expected))
        #expect(difference.frame == 2)
        #expect(difference.text == "DHCPREQUEST option 50 \(address), expected \(other)")
        // A missing and an extra frame.
        #expect(Replay.firstDifference(Array(result.output.map(\.bytes).prefix(5)), result.output.map(\.bytes))?.frame == 6)
        #expect(Replay.firstDifference(result.output.map(\.bytes), [])?.text.hasSuffix("expected no more frames") == true)
    }

    @Test func explainSaysWhatTheStackDidWithEachFrame() throws {
        let (_, steps) = try Self.replay("nak.pcap", explain: true)
        let lines = steps.map { ReplayExplainer.line(for: $0).human }
        #expect(lines.contains { $0.hasPrefix("frame 1 ") && $0.hasSuffix("skipped, sent by the guest") })
        #expect(lines.contains { $0.hasPrefix("frame ") && $0.contains("DHCPNAK") && $0.contains("REQUESTING → INIT")
                && $0.contains("sent DHCPDISCOVER") })

        // The same capture replayed with another seed: the guest's xid differs, every OFFER is someone else's.
        let (_, foreign) = try Self.replay("lease-ping.pcap", explain: true, seed: 1)
        let offer = try #require(foreign.first { $0.input?.kind == "DHCPOFFER" })
        #expect(ReplayExplainer.outcome(of: offer) == "ignored, not ours (wrong xid)")
        #expect(ReplayExplainer.line(for: offer).json.contains("\"event\":\"explain\""))
    }

    @Test func aServersNAKMessageIsEscapedInExplanations() {
        let line = ReplayExplainer.describe(.dhcpNAK(state: .requesting, server: IPv4Address(198, 51, 100, 1),
                                                     message: "no\u{1b}[31m\nforged"))
        #expect(line.hasSuffix(#"from 198.51.100.1: no\u{1b}[31m\nforged"#), "\(line)")
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test func badFilesAreOneLineNamingTheFileAndFrame() throws {
        let directory = NSTemporaryDirectory() + "tvmt-replay-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.path("lease-ping.pcap")))
        let cut = directory + "/cut.pcap"
        try whole.prefix(1000).write(to: URL(fileURLWithPath: cut))
        let empty = directory + "/empty.pcap"
        try Data().write(to: URL(fileURLWithPath: empty))
        let raw = directory + "/raw.pcap"
        try Data([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0])
            .write(to: URL(fileURLWithPath: raw))
        // The record that byte 1000 falls into (a 24-byte file header, then 16 bytes of header per record).
        var offset = 24, cutFrame = 0
        for (index, record) in try PcapReader(path: Self.path("lease-ping.pcap")).readAll().enumerated() where offset < 1000 {
            offset += 16 + record.bytes.count
            cutFrame = index + 1
        }
        let cases: [(String, String)] = [(cut, "frame \(cutFrame)"), (empty, "cannot read"), (raw, "not Ethernet")]
        for (path, words) in cases {
            var options = ReplayOptions(input: path)
            options.mac = MACAddress("02:00:00:00:00:61")
            do {
                _ = try Replay.replay(options, guest: Replay.guest(for: options))
                Issue.record("\(path) replayed")
            } catch {
                #expect(error.description.contains(path) && error.description.contains(words), "\(error)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func hostileSidecarFieldsAreOneLineNeverATrap() throws {
        let directory = NSTemporaryDirectory() + "tvmt-replay-hostile-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = directory + "/hostile.pcap"
        try FileManager.default.copyItem(atPath: Self.path("lease-ping.pcap"), toPath: copy)
        let good = try #require(try CaptureSidecar.load(for: Self.path("lease-ping.pcap")))
        let edits: [(String, (inout CaptureSidecar) -> Void)] = [
            ("boot_time", { $0.bootTime = "9223372036854775807.000000000" }),
            ("boot_time", { $0.bootTime = "-9223372036854775808.000000000" }),
            ("start_ns", { $0.startNanoseconds = .max }),
            ("release_ns", { $0.releaseNanoseconds = -1 }),
            ("stop_ns", { $0.stopNanoseconds = .min }),
            ("ping_count", { $0.pingCount = .max }),
            ("ping_interval_ns", { $0.pingIntervalNanoseconds = 0 }),
            ("ping_timeout_ns", { $0.pingTimeoutNanoseconds = .min }),
        ]
        for (field, edit) in edits {
            var sidecar = good
            edit(&sidecar)
            try sidecar.write(for: copy)
            var options = ReplayOptions(input: copy)
            options.explain = true
            do {
                _ = try Replay.replay(options, guest: Replay.guest(for: options))
                Issue.record("a sidecar with a bad \(field) replayed")
            } catch {
                #expect(error.description.contains(CaptureSidecar.path(for: copy)) && error.description.contains(field), "\(error)")
                #expect(!error.description.contains("\n"))
            }
        }
        // The good sidecar still replays.
        try good.write(for: copy)
        _ = try Replay.replay(ReplayOptions(input: copy), guest: Replay.guest(for: ReplayOptions(input: copy)))
        // Timestamp and instant arithmetic saturate instead of trapping or wrapping.
        let far = PcapTimestamp(seconds: .max, nanoseconds: 999_999_999)
        #expect(far.nanoseconds(since: PcapTimestamp(seconds: .min, nanoseconds: 0)) == .max)
        #expect(far.adding(nanoseconds: .max) == far)
        #expect(PcapTimestamp(seconds: .min, nanoseconds: 0).adding(nanoseconds: -1).seconds == .min)
        #expect(Instant(nanoseconds: .max - 1) + .seconds(10) == Instant(nanoseconds: .max))
        #expect(Instant(nanoseconds: .min + 1) - .seconds(10) == Instant(nanoseconds: .min))
        #expect(Instant(nanoseconds: .max) - Instant(nanoseconds: -1) == .nanoseconds(Int64.max))
    }

    @Test func aCaptureWithoutSidecarTakesTheMACFromTheFirstDiscover() throws {
        let directory = NSTemporaryDirectory() + "tvmt-replay-nosidecar-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = directory + "/foreign.pcap"
        try FileManager.default.copyItem(atPath: Self.path("lease-ping.pcap"), toPath: copy)
        let guest = try Replay.guest(for: ReplayOptions(input: copy))
        #expect(guest.mac == MACAddress("02:00:00:00:00:61"))
        #expect(guest.bootTime == nil)
    }

    @Test func sidecarsRoundTripAndTimestampsAdd() throws {
        let sidecar = try #require(try CaptureSidecar.load(for: Self.path("lease-ping.pcap")))
        let data = try JSONEncoder().encode(sidecar)
        #expect(try JSONDecoder().decode(CaptureSidecar.self, from: data) == sidecar)
        let stamp = PcapTimestamp(seconds: 10, nanoseconds: 999_999_999)
        #expect(stamp.adding(nanoseconds: 1) == PcapTimestamp(seconds: 11, nanoseconds: 0))
        #expect(stamp.adding(nanoseconds: -1_000_000_000) == PcapTimestamp(seconds: 9, nanoseconds: 999_999_999))
        #expect(PcapTimestamp(seconds: 11, nanoseconds: 0).nanoseconds(since: stamp) == 1)
        #expect(PcapTimestamp(text: stamp.description) == stamp)
        #expect(CapturePoint.guestPath(for: "/tmp/run.pcap") == "/tmp/run.guest.pcap")
        #expect(CapturePoint.guestPath(for: "run") == "run.guest")
    }
}

struct ReplayBenchmarkTests {
    /// The benchmark's capture is what it claims: the guest leases from it, answers the ARP requests for its
    /// address (1 in 100) and drops the rest as not for it.
    @Test func theSyntheticCaptureLeasesAndIsMostlyDropped() throws {
        let path = NSTemporaryDirectory() + "tvmt-bench-\(getpid()).pcap"
        defer { unlink(path) }
        try ReplayBenchmark.writeCapture(to: path, frames: 1002, seed: 5)
        var guest = ReplayGuest(mac: ReplayBenchmark.guestMAC, stackSeed: 5,
                                configuration: StackConfiguration(mac: ReplayBenchmark.guestMAC))
        guest.bootTime = ReplayBenchmark.bootTime
        var sent: [String] = []
        let replayer = Replayer(guest: guest, onTransmit: { _, frame in sent.append(FrameFields(frame).kind) })
        let reader = try PcapReader(path: path)
        while try reader.withNextFrame({ stamp, frame, _ in replayer.feed(timestamp: stamp, frame: frame) }) {}
        replayer.finish()
        #expect(replayer.framesIn == 1002 && replayer.delivered == 1002)
        #expect(replayer.stack.lease?.address == ReplayBenchmark.leased)
        #expect(sent.filter { $0 == "ARP reply" }.count == 10)
        #expect(Array(sent.prefix(2)) == ["DHCPDISCOVER", "DHCPREQUEST"])
        let result = try ReplayBenchmark.replay(path: path, seed: 5)
        #expect(result.frames == 1002 && result.framesOut == sent.count)
    }
}
