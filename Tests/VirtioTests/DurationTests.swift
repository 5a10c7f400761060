import Testing
import Virtio

@Suite struct DurationTests {
    @Test func nanosecondsSaturateInsteadOfTrapping() {
        #expect(Duration.nanoseconds(1_500).nanoseconds == 1_500)
        #expect(Duration.seconds(3).nanoseconds == 3_000_000_000)
        #expect(Duration.milliseconds(-2).nanoseconds == -2_000_000)
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.seconds(Int64.min).nanoseconds == .min)
        // Just below the limit in seconds, with attoseconds that push the sum past it.
        #expect((Duration.seconds(Int64.max / 1_000_000_000) + .nanoseconds(999_999_999)).nanoseconds == .max)
    }

    @Test func pollTimeoutRoundsUpAndClamps() {
        #expect(Duration.zero.pollTimeoutMilliseconds == 0)
        #expect(Duration.nanoseconds(1).pollTimeoutMilliseconds == 1)
        #expect(Duration.milliseconds(5).pollTimeoutMilliseconds == 5)
        #expect((Duration.milliseconds(5) + .nanoseconds(1)).pollTimeoutMilliseconds == 6)
        #expect(Duration.milliseconds(-5).pollTimeoutMilliseconds == 0)
        // The old `(nanoseconds + 999_999) / 1_000_000` trapped here.
        #expect(Duration.seconds(Int64.max).pollTimeoutMilliseconds == .max)
        #expect(Duration.nanoseconds(Int64.max).pollTimeoutMilliseconds == .max)
    }
}
