import Capture
import Guest
import Wire

/// Who the replayed guest is: what `tapvm replay` boots on the virtual clock.
public struct ReplayGuest: Sendable {
    public var mac: MACAddress
    /// The seed of the stack's generator (the sidecar's `stack_seed`).
    public var stackSeed: UInt64
    public var configuration: StackConfiguration
    /// The wall time of the guest's `Instant.boot`; nil: the first frame's time (captures made by other tools).
    public var bootTime: PcapTimestamp?
    /// When the stack was started (the captured run's vCPU started it a little after boot).
    public var start: Instant = .boot
    /// When the captured run asked for a DHCPRELEASE (its shutdown), if it did.
    public var release: Instant?
    /// When the captured run stopped; timers run up to here. nil: up to the last frame.
    public var stop: Instant?
    /// Multicast MACs the guest listens to besides broadcast and the IPv6 groups its stack has joined (the IPv4
    /// stack joins none).
    public var multicastGroups: [MACAddress] = []

    public init(mac: MACAddress, stackSeed: UInt64, configuration: StackConfiguration) {
        self.mac = mac
        self.stackSeed = stackSeed
        self.configuration = configuration
    }
}

/// What the replayed stack did at one step, for `--explain`.
public struct ReplayStep: Sendable {
    public enum Cause: Sendable, Equatable {
        /// Input frame `index` (from 1, as Wireshark numbers them) was delivered.
        case delivered(index: Int)
        /// Input frame `index` was not delivered: sent by the guest itself, or addressed to someone else.
        case skipped(index: Int, reason: String)
        /// A timer of the stack fired (retransmission, T1, ping interval, ARP retry).
        case timer
        /// The captured run asked for a DHCPRELEASE here (its shutdown).
        case release
    }

    public var cause: Cause
    public var instant: Instant
    /// The input frame, decoded (nil for timers and commands).
    public var input: FrameFields?
    /// Drops the stack counted during the step, by reason.
    public var drops: [DropReason: Int]
    public var events: [StackEvent]
    /// The frames the stack sent during the step.
    public var sent: [[UInt8]]
}

/// Drives the guest's sans-IO network stack over captured frames on a virtual clock (`ManualClock`).
///
/// Frames addressed to the guest (its MAC, broadcast, its multicast groups) are delivered at their captured
/// instants (capture time - boot time). Timers fire at their deadlines, except that a frame the captured guest
/// sent at instant T says its vCPU ran the timers then (it wakes a little late): timers due within
/// `wakeUpLateness` before T fire at T, which
/// reproduces bytes that carry the send time (the ICMP echo payload). Same guest, same input: same output bytes.
/// Allocation-light on the path of a frame that is only counted (the replay benchmark).
public final class Replayer {
    public let guest: ReplayGuest
    public let stack: NetworkStack
    public let clock: ManualClock
    public private(set) var framesIn = 0
    public private(set) var delivered = 0
    public private(set) var skipped = 0
    public private(set) var framesOut = 0
    /// The wall time of `Instant.boot` (the first frame's when the guest did not say).
    public private(set) var bootTime: PcapTimestamp?
    /// The last instant any input reached.
    public private(set) var lastInstant: Instant = .boot

    private let onTransmit: (Instant, [UInt8]) -> Void
    private let onStep: ((ReplayStep) -> Void)?
    private var started = false
    private var released = false
    private var sent: [[UInt8]] = []
    /// The stack's next deadline as of the last step (`nil` inside means none): only a step changes the stack, so
    /// between steps it is computed once, not once per question.
    private var cachedDeadline: Instant??

    /// A replay of `guest`. `onTransmit` gets every frame the stack sends with its instant, in order; `onStep`
    /// (optional, costs a decode per frame) what happened at each step.
    public init(guest: ReplayGuest, onTransmit: @escaping (Instant, [UInt8]) -> Void,
                onStep: ((ReplayStep) -> Void)? = nil) {
        self.guest = guest
        stack = NetworkStack(configuration: guest.configuration, random: SeededGenerator(seed: guest.stackSeed))
        clock = ManualClock(.boot)
        bootTime = guest.bootTime
        self.onTransmit = onTransmit
        self.onStep = onStep
    }

    /// One captured frame, in file order.
    public func feed(timestamp: PcapTimestamp, frame: UnsafeRawBufferPointer) {
        framesIn += 1
        let index = framesIn
        if bootTime == nil { bootTime = timestamp }
        var instant = Instant(nanoseconds: timestamp.nanoseconds(since: bootTime!))
        startIfNeeded()
        if instant < clock.now() { instant = clock.now() }  // out-of-order or before the start: delivered now
        releaseIfDue(before: instant)
        lastInstant = max(lastInstant, instant)

        guard frame.count >= EthernetFrame.headerLength else {
            return skip(index, instant, frame, reason: "shorter than an Ethernet header")
        }
        let destination = MACAddress(frame, at: 0)
        let source = MACAddress(frame, at: 6)
        if source == guest.mac {
            // The captured guest sent this frame at `instant`: its vCPU ran the due timers then. Timers due more
            // than a wake-up's lateness earlier ran at their own deadlines (a silent one, like DAD success, may
            // have scheduled the timer that sent this frame).
            runTimers(through: instant - Self.wakeUpLateness, inclusive: false)
            if let deadline = nextDeadline(), deadline <= instant {
                clock.advance(to: instant)
                step(.timer, input: nil) { stack.poll(now: instant) }
            }
            runTimers(through: instant, inclusive: true)
            return skip(index, instant, frame, reason: "sent by the guest")
        }
        guard destination == guest.mac || destination.isBroadcast || guest.multicastGroups.contains(destination)
            || stack.acceptsMulticast(destination) else {
            return skip(index, instant, frame, reason: "addressed to \(destination)")
        }
        runTimers(through: instant, inclusive: false)
        clock.advance(to: instant)
        delivered += 1
        step(.delivered(index: index), input: frame) { stack.receive(frame: frame, now: instant) }
        // The vCPU polls after each batch of received frames: anything the frame made due runs now.
        if let deadline = nextDeadline(), deadline <= instant {
            step(.timer, input: nil) { stack.poll(now: instant) }
        }
    }

    /// The end of the capture: the release (if it is still due) and the timers up to the captured run's stop.
    public func finish() {
        startIfNeeded()
        let end = max(guest.stop ?? lastInstant, clock.now())
        releaseIfDue(before: end, inclusive: true)
        runTimers(through: end, inclusive: true)
        clock.advance(to: end)
    }

    private func startIfNeeded() {
        guard !started else { return }
        started = true
        clock.advance(to: guest.start)
        step(.timer, input: nil) { stack.start(now: guest.start) }
    }

    private func releaseIfDue(before instant: Instant, inclusive: Bool = false) {
        guard !released, let release = guest.release, release < instant || (inclusive && release == instant) else { return }
        released = true
        runTimers(through: release, inclusive: false)
        clock.advance(to: release)
        step(.release, input: nil) { stack.release(now: release) }
    }

    /// How late a vCPU may wake for a timer: a timer due longer before a frame the guest sent fired on its own.
    static let wakeUpLateness: Duration = .milliseconds(20)

    /// Fires every timer due before `limit` (or at it) at its deadline, in order.
    private func runTimers(through limit: Instant, inclusive: Bool) {
        var rounds = 0
        while let deadline = nextDeadline(), deadline < limit || (inclusive && deadline == limit) {
            let at = max(deadline, clock.now())
            clock.advance(to: at)
            step(.timer, input: nil) { stack.poll(now: at) }
            rounds += 1
            // A deadline in the past that polling does not clear would loop forever: stop, the clock moves on.
            if rounds > 100_000 { break }
        }
    }

    /// The stack's `nextDeadline()`, computed at most once between two steps.
    private func nextDeadline() -> Instant? {
        if let cachedDeadline { return cachedDeadline }
        let deadline = stack.nextDeadline()
        cachedDeadline = .some(deadline)
        return deadline
    }

    private func skip(_ index: Int, _ instant: Instant, _ frame: UnsafeRawBufferPointer, reason: @autoclosure () -> String) {
        skipped += 1
        guard let onStep else { return }
        onStep(ReplayStep(cause: .skipped(index: index, reason: reason()), instant: instant, input: FrameFields(frame),
                          drops: [:], events: [], sent: []))
    }

    /// Runs `body` on the stack, then hands on what it sent (and, when explaining, what it did).
    private func step(_ cause: ReplayStep.Cause, input: UnsafeRawBufferPointer?, _ body: () -> Void) {
        let now = clock.now()
        cachedDeadline = nil
        guard let onStep else {
            body()
            while let frame = stack.dequeueTransmit() {
                framesOut += 1
                onTransmit(now, frame)
            }
            _ = stack.drainEvents()
            return
        }
        let before = stack.counters.drops
        body()
        sent.removeAll(keepingCapacity: true)
        while let frame = stack.dequeueTransmit() {
            framesOut += 1
            onTransmit(now, frame)
            sent.append(frame)
        }
        let events = stack.drainEvents()
        var drops: [DropReason: Int] = [:]
        for (reason, count) in stack.counters.drops where count != before[reason, default: 0] {
            drops[reason] = count - before[reason, default: 0]
        }
        // Timer polls that did nothing are not worth a line.
        if cause == .timer && sent.isEmpty && events.isEmpty && drops.isEmpty { return }
        onStep(ReplayStep(cause: cause, instant: now, input: input.map { FrameFields($0) }, drops: drops,
                          events: events, sent: sent))
    }
}
