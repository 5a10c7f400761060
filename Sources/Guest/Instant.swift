// Guest: the "VM". A virtio-net driver over split rings in guest memory, and a sans-IO network stack
// (Ethernet, ARP, IPv4, ICMP, UDP, DHCPv4) driven by `poll(now:)` on the vCPU thread.
//
// The guest never imports the host side (HostTap, Emulator). It meets the device only through Virtio: guest
// memory, the rings, the doorbell and the interrupt line.

import Virtio  // Duration.nanoseconds

/// A point on the guest's clock: nanoseconds since the guest booted. State machines take an `Instant` and never
/// read a clock; the vCPU thread reads a `GuestClock` and passes `now` down, tests step a `ManualClock`.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The moment the guest booted.
    public static let boot = Instant(nanoseconds: 0)

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// The arithmetic saturates at Int64's range instead of wrapping: a huge lease time or a hostile instant then
    /// gives a deadline that never comes (or one long past), never one that wraps around to "always due".
    public static func + (a: Instant, d: Duration) -> Instant { Instant(nanoseconds: saturatingSum(a.nanoseconds, d.nanoseconds)) }
    public static func - (a: Instant, d: Duration) -> Instant {
        Instant(nanoseconds: d.nanoseconds == .min ? saturatingSum(saturatingSum(a.nanoseconds, .max), 1) : saturatingSum(a.nanoseconds, -d.nanoseconds))
    }
    public static func - (a: Instant, b: Instant) -> Duration {
        let (difference, overflow) = a.nanoseconds.subtractingReportingOverflow(b.nanoseconds)
        return .nanoseconds(overflow ? (a.nanoseconds < b.nanoseconds ? .min : .max) : difference)
    }

    private static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b < 0 ? .min : .max) : sum
    }

    /// Milliseconds since boot, for reports.
    public var milliseconds: Double { Double(nanoseconds) / 1_000_000 }
    public var description: String { "t+\(milliseconds)ms" }
}

/// Where the vCPU thread gets `now`.
public protocol GuestClock: Sendable {
    func now() -> Instant
}

/// The real clock: a monotonic clock whose zero is when this value was made (the guest's boot).
public struct MonotonicClock: GuestClock {
    private let origin: ContinuousClock.Instant
    public init() { origin = ContinuousClock.now }
    public func now() -> Instant { Instant(nanoseconds: (ContinuousClock.now - origin).nanoseconds) }
}

/// A clock that moves only when told to: for tests and for replay on a virtual clock.
public final class ManualClock: GuestClock, @unchecked Sendable {
    private var current: Instant
    public init(_ start: Instant = .boot) { current = start }
    public func now() -> Instant { current }
    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) { current = current + duration }
    /// Moves the clock to `instant` (never backwards).
    public func advance(to instant: Instant) { if instant > current { current = instant } }
}
