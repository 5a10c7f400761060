/// A deterministic random number generator: xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64.
///
/// All randomness in the guest (DHCP xid, retransmission jitter, ICMP identifiers) comes from one of these, so a run
/// with the same seed and the same input frames emits the same bytes. Not cryptographically secure.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Expands `seed` into the 256-bit state with SplitMix64, as the xoshiro authors recommend; any seed (0 too)
    /// gives a valid, non-zero state.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A new generator seeded from this one, for a component that keeps its own stream (the DHCP client).
    public mutating func split() -> SeededGenerator { SeededGenerator(seed: next()) }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
        a.state.0 == b.state.0 && a.state.1 == b.state.1 && a.state.2 == b.state.2 && a.state.3 == b.state.3
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension SeededGenerator {
    /// A duration drawn uniformly from `range` at millisecond resolution.
    public mutating func duration(in range: ClosedRange<Duration>) -> Duration {
        let low = range.lowerBound.nanoseconds / 1_000_000
        let high = range.upperBound.nanoseconds / 1_000_000
        guard high > low else { return range.lowerBound }
        return .milliseconds(Int64.random(in: low...high, using: &self))
    }
}
