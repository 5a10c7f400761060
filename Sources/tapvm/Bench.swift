import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: tapvm side by side with the tools a user would otherwise pick, as ratios.",
        subcommands: [BenchLease.self])
}
