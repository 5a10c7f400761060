import Foundation
import HostTap
import Testing
@testable import TapVM

/// The command-line contract, run against the built `tapvm` binary (tools/test builds it first).
@Suite(.serialized)
struct CommandLineTests {
    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/tapvm").path
    }

    static func tapvm(_ arguments: [String], timeout: Double = 60) throws -> CommandResult {
        try SystemCommand.run([binary] + arguments, timeout: timeout)
    }

    static func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "needs root"), .timeLimit(.minutes(2)))
    func demoJSONFollowsTheContract() throws {
        let name = "tc\(getpid() % 100_000)"
        let result = try Self.tapvm(["demo", "--json", "--name", name, "--seed", "7"])
        let events = try Self.jsonLines(result.standardOutput)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(events.allSatisfy { $0["event"] is String })

        let lease = try #require(events.first { $0["event"] as? String == "lease" })
        #expect((lease["address"] as? String)?.hasPrefix("198.51.100.") == true)
        #expect(lease["prefix_length"] as? Int == 24)
        #expect(lease["router"] as? String == "198.51.100.1")
        #expect(lease["server"] as? String == "198.51.100.1")
        #expect((lease["lease_seconds"] as? Int ?? 0) > 0)
        let phases = try #require(lease["phases_ms"] as? [String: Double])
        let order = ["discover", "offer", "request", "ack", "bound"].compactMap { phases[$0] }
        #expect(order.count == 5 && order == order.sorted())
        #expect((lease["elapsed_ms"] as? Double ?? 0) > (phases["bound"] ?? .infinity) - 1)

        let pings = events.filter { $0["event"] as? String == "ping" }
        #expect(Set(pings.compactMap { $0["direction"] as? String }) == ["guest-to-lan", "lan-to-guest"])
        #expect(pings.allSatisfy { $0["ok"] as? Bool == true && $0["rtt_ms"] is Double })

        let summary = try #require(events.last)
        #expect(summary["event"] as? String == "summary" && summary["ok"] as? Bool == true)
        #expect(!(try SystemCommand.run(["ip", "netns", "list"]).standardOutput.contains(name)))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func errorsAreOneLineAndNonZero() throws {
        let cases: [([String], String)] = [
            (["run", "--interface", "nosuch0", "--netns", "tvm-no-such-ns", "--exit-after", "lease", "--json"], "tvm-no-such-ns"),
            (["run", "--lab", "nolab-x", "--exit-after", "lease", "--json"], "nolab-x"),
        ]
        for (arguments, mention) in cases {
            let result = try Self.tapvm(arguments, timeout: 20)
            #expect(result.status != 0)
            let summary = try #require(try Self.jsonLines(result.standardOutput).last)
            #expect(summary["event"] as? String == "summary" && summary["ok"] as? Bool == false)
            let error = try #require(summary["error"] as? String)
            #expect(error.contains(mention) && !error.contains("\n"), "\(error)")
        }
    }

    @Test func usageErrorsSayWhatToDo() throws {
        let result = try Self.tapvm(["run", "--exit-after", "lease"], timeout: 20)
        #expect(result.status != 0)
        #expect(result.standardError.contains("exactly one of --interface"))
        let bad = try Self.tapvm(["run", "--lab", "x", "--exit-after", "soon"], timeout: 20)
        #expect(bad.status != 0 && bad.standardError.contains("--exit-after"))
    }
}
