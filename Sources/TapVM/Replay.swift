import Capture
import Foundation
import Guest
import Virtio
import Wire

/// `tapvm replay IN.pcap [--out OUT.pcap] [--expect GOLDEN.pcap] [--explain] [--speed max|captured]`.
public struct ReplayOptions: Sendable {
    public enum Speed: String, Sendable, CaseIterable {
        /// As fast as the stack goes (the virtual clock jumps).
        case max
        /// Frames are delivered at their captured pace in real time (the virtual clock still decides).
        case captured
    }

    public var input: String
    public var output: String?
    public var expect: String?
    public var explain = false
    public var speed: Speed = .max
    /// Overrides the sidecar's MAC (and the first DHCPDISCOVER's chaddr).
    public var mac: MACAddress?
    /// The captured run's `--seed`; overrides the sidecar.
    public var seed: UInt64?

    public init(input: String) { self.input = input }
}

/// What a replay found.
public struct ReplayResult: Sendable {
    public var framesIn = 0
    public var delivered = 0
    public var skipped = 0
    public var output: [(instant: Instant, bytes: [UInt8])] = []
    /// nil without `--expect`.
    public var matchesExpected: Bool?
    /// The first difference with the golden file: frame index (from 1) and the sentence.
    public var difference: (frame: Int, text: String)?
}

/// The replay command: sets the guest up from the sidecar and the options, replays, writes and compares.
public enum Replay {
    /// Exit status: 0, 1 when `--expect` differs, 2 when an input is bad (one line naming file and frame).
    public static func run(_ options: ReplayOptions, printer: EventPrinter) -> Int32 {
        var result = ReplayResult()
        do {
            let guest = try guest(for: options)
            printer.note("tapvm replay: guest \(guest.mac), stack seed \(guest.stackSeed)" +
                         (guest.bootTime == nil ? ", no sidecar: times from the first frame" : ""))
            result = try replay(options, guest: guest) { step in printer.print(ReplayExplainer.line(for: step)) }
            if let path = options.output { try write(result.output, to: path, bootTime: guest.bootTime) }
            if let golden = options.expect {
                let expected = try readFrames(golden)
                result.difference = firstDifference(result.output.map(\.bytes), expected)
                result.matchesExpected = result.difference == nil
            }
        } catch {
            printer.print(EventLine("error", [("error", .string(error.description))], human: "tapvm replay: \(error)"))
            printer.print(summary(result))
            return 2
        }
        if let difference = result.difference {
            printer.print(EventLine("replay-difference", [("frame", .integer(Int64(difference.frame))),
                                                          ("difference", .string(difference.text))],
                                    human: "frame \(difference.frame): \(difference.text)"))
        }
        printer.print(summary(result))
        return result.matchesExpected == false ? 1 : 0
    }

    static func summary(_ result: ReplayResult) -> EventLine {
        let matches: JSONValue = result.matchesExpected.map { .bool($0) } ?? .null
        let human = "replayed \(result.framesIn) frames: \(result.delivered) delivered, \(result.skipped) skipped; " +
            "the guest sent \(result.output.count)" +
            (result.matchesExpected.map { $0 ? "; matches the expected output" : "; differs from the expected output" } ?? "")
        return EventLine("replay-summary", [("frames_in", .integer(Int64(result.framesIn))),
                                            ("delivered", .integer(Int64(result.delivered))),
                                            ("skipped", .integer(Int64(result.skipped))),
                                            ("frames_out", .integer(Int64(result.output.count))),
                                            ("matches_expected", matches)], human: human)
    }

    /// The capture files to read: IN, then the rotated ones the sidecar lists (beside IN).
    static func files(for input: String, sidecar: CaptureSidecar?) -> [String] {
        guard let listed = sidecar?.files, listed.count > 1 else { return [input] }
        let directory = URL(fileURLWithPath: input).deletingLastPathComponent()
        return [input] + listed.dropFirst().map { directory.appendingPathComponent(URL(fileURLWithPath: $0).lastPathComponent).path }
    }

    /// The guest of the capture: MAC from `--mac`, the sidecar, or the first DHCPDISCOVER's chaddr; seed from
    /// `--seed` (derived as `tapvm run` derives it) or the sidecar's stack seed.
    public static func guest(for options: ReplayOptions) throws(ReplayError) -> ReplayGuest {
        let sidecar: CaptureSidecar?
        do {
            sidecar = try CaptureSidecar.load(for: options.input)
            let firstFrame = try? PcapReader(path: options.input).next()?.timestamp
            try sidecar?.validate(path: CaptureSidecar.path(for: options.input), firstFrame: firstFrame)
        } catch {
            throw .sidecar(error.description)
        }
        var mac = options.mac ?? sidecar.flatMap { MACAddress($0.mac) }
        if mac == nil { mac = try firstDiscoverClient(in: options.input) }
        guard let mac else {
            throw .noGuest(options.input)
        }
        var stackSeed: UInt64 = 0
        if let seed = options.seed {
            stackSeed = derivedStackSeed(runSeed: seed, mac: mac)
        } else if let text = sidecar?.stackSeed {
            guard let value = UInt64(text) else { throw .sidecar("stack_seed '\(text)' is not a 64-bit number") }
            stackSeed = value
        }
        let configuration = sidecar?.stackConfiguration(mac: mac) ?? StackConfiguration(mac: mac)
        var guest = ReplayGuest(mac: mac, stackSeed: stackSeed, configuration: configuration)
        if let sidecar {
            guard let boot = PcapTimestamp(text: sidecar.bootTime) else {
                throw .sidecar("boot_time '\(sidecar.bootTime)' is not seconds.nanoseconds")
            }
            guest.bootTime = boot
            guest.start = Instant(nanoseconds: sidecar.startNanoseconds ?? 0)
            guest.release = sidecar.releaseNanoseconds.map(Instant.init(nanoseconds:))
            guest.stop = sidecar.stopNanoseconds.map(Instant.init(nanoseconds:))
        }
        return guest
    }

    /// The stack seed a `tapvm run --seed runSeed` gave its guest (GuestSession): the MAC, when it was not given,
    /// took the generator's first draw.
    public static func derivedStackSeed(runSeed: UInt64, mac: MACAddress) -> UInt64 {
        var generator = SeededGenerator(seed: runSeed)
        if GuestSession.randomMAC(using: &generator) == mac { return generator.next() }
        var fresh = SeededGenerator(seed: runSeed)
        return fresh.next()
    }

    /// The chaddr of the first DHCPDISCOVER in `path`, for captures made by other tools.
    static func firstDiscoverClient(in path: String) throws(ReplayError) -> MACAddress? {
        do {
            let reader = try PcapReader(path: path)
            while let record = try reader.next() {
                let fields = FrameFields(record.bytes)
                if fields.kind == "DHCPDISCOVER", let chaddr = fields.fields.first(where: { $0.name == "chaddr" }) {
                    return MACAddress(chaddr.value)
                }
            }
            return nil
        } catch {
            throw .capture(error)
        }
    }

    /// Replays `options.input` (and its rotated files) for `guest`.
    public static func replay(_ options: ReplayOptions, guest: ReplayGuest,
                              explain: ((ReplayStep) -> Void)? = nil) throws(ReplayError) -> ReplayResult {
        var output: [(instant: Instant, bytes: [UInt8])] = []
        let sidecar = try? CaptureSidecar.load(for: options.input)
        let replayer = Replayer(guest: guest, onTransmit: { output.append(($0, $1)) },
                                onStep: options.explain ? explain : nil)
        let wallStart = ContinuousClock.now
        var firstStamp: PcapTimestamp?
        for path in files(for: options.input, sidecar: sidecar ?? nil) {
            do throws(PcapError) {
                let reader = try PcapReader(path: path)
                while try reader.withNextFrame({ stamp, frame, _ in
                    if options.speed == .captured {
                        let first = firstStamp ?? stamp
                        firstStamp = first
                        let due = wallStart + .nanoseconds(max(0, stamp.nanoseconds(since: first)))
                        let wait = due - ContinuousClock.now
                        if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.nanoseconds) / 1e9) }
                    }
                    replayer.feed(timestamp: stamp, frame: frame)
                }) {}
            } catch {
                throw .capture(error)
            }
        }
        replayer.finish()
        var result = ReplayResult()
        result.framesIn = replayer.framesIn
        result.delivered = replayer.delivered
        result.skipped = replayer.skipped
        result.output = output
        return result
    }

    /// Every frame of `path` (a golden file).
    static func readFrames(_ path: String) throws(ReplayError) -> [[UInt8]] {
        do { return try PcapReader(path: path).readAll().map(\.bytes) } catch { throw .capture(error) }
    }

    /// Writes the guest's frames, stamped boot time + instant (nanosecond pcap, 0600).
    static func write(_ frames: [(instant: Instant, bytes: [UInt8])], to path: String, bootTime: PcapTimestamp?) throws(ReplayError) {
        let boot = bootTime ?? PcapTimestamp(seconds: 0, nanoseconds: 0)
        do throws(PcapError) {
            let writer = try PcapWriter(path: path, nanosecond: true)
            for frame in frames {
                let stamp = boot.adding(nanoseconds: frame.instant.nanoseconds)
                var failure: PcapError?
                frame.bytes.withUnsafeBytes { bytes in
                    do throws(PcapError) { try writer.write(frame: bytes, timestamp: stamp) } catch { failure = error }
                }
                if let failure { throw failure }
            }
            try writer.close()
        } catch {
            throw .capture(error)
        }
    }

    /// The first frame (from 1) where `actual` and `expected` differ, and the difference in words.
    public static func firstDifference(_ actual: [[UInt8]], _ expected: [[UInt8]]) -> (frame: Int, text: String)? {
        for index in 0..<max(actual.count, expected.count) {
            switch (index < actual.count ? actual[index] : nil, index < expected.count ? expected[index] : nil) {
            case let (mine?, theirs?):
                if let text = FrameDifference.describe(actual: mine, expected: theirs) { return (index + 1, text) }
            case let (mine?, nil):
                return (index + 1, "\(FrameFields(mine).summary), expected no more frames")
            case let (nil, theirs?):
                return (index + 1, "no frame, expected \(FrameFields(theirs).summary)")
            case (nil, nil):
                break
            }
        }
        return nil
    }
}

/// What makes a replay impossible. One line each, naming the file (and the frame, for a damaged capture).
public enum ReplayError: Error, CustomStringConvertible, Sendable {
    case capture(PcapError)
    case sidecar(String)
    case noGuest(String)

    public var description: String {
        switch self {
        case let .capture(error): "\(error)"
        case let .sidecar(line): line
        case let .noGuest(path):
            "\(path) has no sidecar (\(path).json) and no DHCPDISCOVER to take the guest's MAC from: give --mac"
        }
    }
}
