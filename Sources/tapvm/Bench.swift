import ArgumentParser
import Foundation
import TapVM

/// `tapvm bench`: the benchmarks. This file holds the parent command and `bench replay`; other benchmarks live in
/// their own files and are listed here.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "The benchmarks: tapvm side by side with the tools a user would otherwise pick, as ratios.",
        subcommands: [BenchLease.self, BenchReplay.self])
}

struct BenchReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Frames per second through the pcap parser and the guest stack, replaying a synthetic capture at --speed max.")

    @Option(help: "Frames in the synthetic capture (lab traffic addressed to the guest).")
    var frames = 1_000_000
    @Option(help: "The guest's seed.")
    var seed: UInt64 = 1
    @Flag(help: "One JSON object per line, each with an \"event\" key.")
    var json = false

    func validate() throws {
        guard (1_000...100_000_000).contains(frames) else { throw ValidationError("--frames takes 1000 to 100000000") }
    }

    func run() throws {
        let printer = EventPrinter(json: json)
        let path = NSTemporaryDirectory() + "tapvm-bench-replay-\(getpid()).pcap"
        defer { unlink(path) }
        printer.note("tapvm bench replay: writing \(frames) synthetic frames to \(path)")
        try ReplayBenchmark.writeCapture(to: path, frames: frames, seed: seed)
        let result = try ReplayBenchmark.replay(path: path, seed: seed)
        printer.print(EventLine("bench", [("name", .string("replay")), ("frames", .integer(Int64(result.frames))),
                                          ("delivered", .integer(Int64(result.delivered))),
                                          ("frames_out", .integer(Int64(result.framesOut))),
                                          ("seconds", .number(result.seconds)),
                                          ("frames_per_second", .number(result.framesPerSecond))],
                                human: String(format: "replay: %d frames in %.3f s, %.0f frames/s (%d delivered, guest sent %d)",
                                              result.frames, result.seconds, result.framesPerSecond, result.delivered,
                                              result.framesOut)))
    }
}
