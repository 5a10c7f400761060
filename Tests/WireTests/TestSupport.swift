// Shared helpers for the Wire tests: running views over arrays, emitting into 0xA5-filled buffers, checking
// error cases, and a seeded random generator.
import Testing
@testable import Wire

/// Fixtures live in the per-format files as `extension Fixture { static let ... }`.
enum Fixture {}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator so random tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    mutating func bytes(count: Int) -> [UInt8] {
        (0 ..< count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

/// Runs `body` over the bytes of `array`.
func withBytes<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
    try array.withUnsafeBytes { try body($0) }
}

/// Runs `emit` into a buffer of `length` bytes pre-filled with 0xA5 and returns the buffer, so a byte the emitter
/// forgot shows up as 0xA5 in the comparison.
func emitted(length: Int, _ emit: (UnsafeMutableRawBufferPointer) throws -> Void) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0xA5, count: length)
    try buffer.withUnsafeMutableBytes { try emit($0) }
    return buffer
}

/// Expects `body` to throw `WireError.truncated`.
func expectTruncated(_ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("\(what()): expected .truncated, nothing thrown", sourceLocation: sourceLocation)
    } catch let error as WireError {
        guard case .truncated = error else {
            Issue.record("\(what()): expected .truncated, got \(error)", sourceLocation: sourceLocation)
            return
        }
    } catch {
        Issue.record("\(what()): unexpected \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw `WireError.malformed` naming `field`.
func expectMalformed(field: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected .malformed(\(field)), nothing thrown", sourceLocation: sourceLocation)
    } catch let error as WireError {
        guard case .malformed(_, let actual, _) = error, actual == field else {
            Issue.record("expected .malformed(\(field)), got \(error)", sourceLocation: sourceLocation)
            return
        }
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw `WireError.bufferTooSmall`.
func expectBufferTooSmall(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected .bufferTooSmall, nothing thrown", sourceLocation: sourceLocation)
    } catch let error as WireError {
        guard case .bufferTooSmall = error else {
            Issue.record("expected .bufferTooSmall, got \(error)", sourceLocation: sourceLocation)
            return
        }
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

/// Hex for readable failure messages.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}
