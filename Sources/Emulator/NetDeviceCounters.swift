import Synchronization

/// The device's counters, readable from any thread while the device thread updates them.
public final class NetDeviceCounters: Sendable {
    /// A snapshot of every counter.
    public struct Snapshot: Equatable, Sendable {
        /// Frames delivered into the guest's RX buffers, and their bytes (without the virtio header).
        public var rxFrames: UInt64 = 0
        public var rxBytes: UInt64 = 0
        /// Frames sent to the backend, and their bytes (without the virtio header).
        public var txFrames: UInt64 = 0
        public var txBytes: UInt64 = 0
        /// Times an RX pass ran out of guest buffers, so the device stopped reading the backend until the RX doorbell.
        public var rxNoBuffer: UInt64 = 0
        /// Frames dropped because they did not fit the guest's RX chain (never delivered cut).
        public var rxTruncated: UInt64 = 0
        /// Packets from the backend shorter than its header, or a backend read error.
        public var rxErrors: UInt64 = 0
        /// Backend reads that filled the whole buffer (longer than its maximumPacketSize, so cut): dropped.
        public var rxOversized: UInt64 = 0
        /// Partial checksums (NEEDS_CSUM from the backend) the device completed, as the driver has no GUEST_CSUM.
        public var rxChecksumsCompleted: UInt64 = 0
        /// Frames dropped because their NEEDS_CSUM fields pointed outside the frame.
        public var rxChecksumErrors: UInt64 = 0
        /// GSO frames from the backend, dropped: the driver negotiated no GUEST_TSO/UFO (TUNSETOFFLOAD(0) prevents them).
        public var rxGSODropped: UInt64 = 0
        /// TX chains not sent: too short, too long, or the backend refused the write.
        public var txErrors: UInt64 = 0
        /// Hostile or broken chains (then DEVICE_NEEDS_RESET).
        public var queueErrors: UInt64 = 0
        public var interruptsRaised: UInt64 = 0
        /// Doorbell wakeups (coalesced kicks count once).
        public var doorbells: UInt64 = 0
        public init() {}
    }

    let rxFrames = Atomic<UInt64>(0)
    let rxBytes = Atomic<UInt64>(0)
    let txFrames = Atomic<UInt64>(0)
    let txBytes = Atomic<UInt64>(0)
    let rxNoBuffer = Atomic<UInt64>(0)
    let rxTruncated = Atomic<UInt64>(0)
    let rxErrors = Atomic<UInt64>(0)
    let txErrors = Atomic<UInt64>(0)
    let rxOversized = Atomic<UInt64>(0)
    let rxChecksumsCompleted = Atomic<UInt64>(0)
    let rxChecksumErrors = Atomic<UInt64>(0)
    let rxGSODropped = Atomic<UInt64>(0)
    let queueErrors = Atomic<UInt64>(0)
    let interruptsRaised = Atomic<UInt64>(0)
    let doorbells = Atomic<UInt64>(0)

    public init() {}

    public func snapshot() -> Snapshot {
        var s = Snapshot()
        s.rxFrames = rxFrames.load(ordering: .relaxed)
        s.rxBytes = rxBytes.load(ordering: .relaxed)
        s.txFrames = txFrames.load(ordering: .relaxed)
        s.txBytes = txBytes.load(ordering: .relaxed)
        s.rxNoBuffer = rxNoBuffer.load(ordering: .relaxed)
        s.rxTruncated = rxTruncated.load(ordering: .relaxed)
        s.rxErrors = rxErrors.load(ordering: .relaxed)
        s.txErrors = txErrors.load(ordering: .relaxed)
        s.rxOversized = rxOversized.load(ordering: .relaxed)
        s.rxChecksumsCompleted = rxChecksumsCompleted.load(ordering: .relaxed)
        s.rxChecksumErrors = rxChecksumErrors.load(ordering: .relaxed)
        s.rxGSODropped = rxGSODropped.load(ordering: .relaxed)
        s.queueErrors = queueErrors.load(ordering: .relaxed)
        s.interruptsRaised = interruptsRaised.load(ordering: .relaxed)
        s.doorbells = doorbells.load(ordering: .relaxed)
        return s
    }
}

extension Atomic where Value == UInt64 {
    @inline(__always) func increment(by amount: UInt64 = 1) { wrappingAdd(amount, ordering: .relaxed) }
}
