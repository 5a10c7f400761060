#if canImport(Glibc)
import Glibc
#endif

/// A capture timestamp: seconds since the Unix epoch and nanoseconds within the second.
public struct PcapTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var seconds: Int64
    /// 0 ..< 1_000_000_000. Files written with microsecond precision keep only multiples of 1000.
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        precondition(nanoseconds < 1_000_000_000, "nanoseconds must be below one second")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The wall-clock time now (CLOCK_REALTIME), as capture tools stamp records.
    public static func now() -> PcapTimestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return PcapTimestamp(seconds: Int64(time.tv_sec), nanoseconds: UInt32(time.tv_nsec))
    }

    public static func < (a: PcapTimestamp, b: PcapTimestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    public var description: String {
        let fraction = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }
}
