import Glibc
import Synchronization
import Virtio

/// The guest's one thread, the vCPU: sleeps on the interrupt line until the device raises it or the stack's next
/// timer is due, then runs the interrupt handler the way Linux NAPI does (mask, poll with a budget, refill,
/// transmit, reclaim, unmask and re-check). Other threads hand it work through `perform`.
public final class VCPU: @unchecked Sendable {
    /// One step of the loop, for `--trace`.
    public enum TraceEvent: Sendable, Equatable {
        /// Woken by the interrupt line (`raises` coalesced), the work queue, or a timer.
        case woke(interrupts: UInt64, work: Bool)
        /// About to sleep for at most `timeout`.
        case sleeping(timeout: Duration)
        /// The budget ran out: poll again without sleeping.
        case budgetExhausted
        /// Used entries arrived while interrupts were masked: poll again without sleeping.
        case recheckPending
        /// The card needs a reset (`reason`): from now on the loop only runs work and sleeps. Traced once.
        case deviceFailed(reason: String)
    }

    public let driver: VirtioNetDriver
    public let stack: FrameStack
    public let clock: GuestClock
    public let interrupt: InterruptLine
    /// Frames per receive poll before the loop goes round again (Linux NAPI weight 64).
    public let budget: Int
    /// The longest sleep, even with no timer due.
    public let maximumSleep: Duration
    private let onIdle: (() -> Void)?
    private let trace: ((TraceEvent) -> Void)?

    private let wake: EventNotifier
    private let work = Mutex<[@Sendable (FrameStack) -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private let failureReason = Mutex<String?>(nil)
    private var thread: WorkerThread?

    /// A vCPU over `driver` and `stack`. `onIdle` runs on the vCPU thread each time it is about to sleep.
    public init(
        driver: VirtioNetDriver, stack: FrameStack, clock: GuestClock, interrupt: InterruptLine,
        budget: Int = 64, maximumSleep: Duration = .seconds(1),
        onIdle: (() -> Void)? = nil, trace: ((TraceEvent) -> Void)? = nil
    ) throws(VirtioError) {
        precondition(budget > 0, "budget must be positive")
        self.driver = driver
        self.stack = stack
        self.clock = clock
        self.interrupt = interrupt
        self.budget = budget
        self.maximumSleep = maximumSleep
        self.onIdle = onIdle
        self.trace = trace
        wake = try EventNotifier()
    }

    /// Boots the guest: starts the thread, which calls `stack.start(now:)` first. Call once.
    public func start() throws(VirtioError) {
        precondition(thread == nil, "VCPU.start called twice")
        thread = try WorkerThread(name: "tapvm-vcpu") { [self] in run() }
    }

    /// Stops the loop and joins the thread, waiting at most `timeout`. Returns false if it did not stop.
    @discardableResult
    public func stop(timeout: Duration = .seconds(2)) -> Bool {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        return thread?.join(timeout: timeout) ?? true
    }

    /// Why the guest's card is dead (a queue the device broke, DEVICE_NEEDS_RESET), or nil while it works.
    /// Readable from any thread (the lead's health check polls it); set once by the vCPU thread.
    public var failure: String? { failureReason.withLock { $0 } }

    /// Runs `body` on the vCPU thread with the stack, before the next poll (from any thread).
    public func perform(_ body: @escaping @Sendable (FrameStack) -> Void) {
        work.withLock { $0.append(body) }
        wake.signal()
    }

    private func runWork() -> Bool {
        let items = work.withLock { queue in
            let items = queue
            queue.removeAll()
            return items
        }
        for item in items { item(stack) }
        return !items.isEmpty
    }

    private func transmitPending() {
        while let frame = stack.dequeueTransmit() {
            let queued: Bool
            do { queued = try driver.transmit(frame) } catch {
                continue  // a frame the driver cannot carry (too large): dropped, counted in driver.counters.txDropped
            }
            if !queued {
                stack.requeueTransmit(frame)
                break
            }
        }
        driver.flushTransmit()
    }

    private func run() {
        stack.start(now: clock.now())
        var failed = false
        while !stopping.load(ordering: .acquiring) {
            if !failed, let reason = driver.failure {
                // Report once; afterwards nothing on the rings will change until a reset, so polling them would
                // only spin. Keep serving `perform` and stop, nothing else.
                failed = true
                failureReason.withLock { $0 = reason }
                trace?(.deviceFailed(reason: reason))
            }
            if failed {
                _ = runWork()
                sleep(timeout: maximumSleep)
                _ = interrupt.acknowledge()
                _ = wake.drain()
                continue
            }
            // The interrupt handler: mask, poll, refill, transmit, reclaim.
            driver.disableInterrupts()
            _ = runWork()
            let received = driver.receive(budget: budget) { frame in stack.receive(frame: frame, now: clock.now()) }
            stack.poll(now: clock.now())
            driver.reclaimTransmitted()
            transmitPending()
            if received == budget {
                trace?(.budgetExhausted)
                continue
            }
            // Unmask and re-check: entries that arrived while masked raised no interrupt (the lost-wakeup race).
            if driver.enableInterrupts() {
                trace?(.recheckPending)
                continue
            }
            var timeout = maximumSleep
            if let deadline = stack.nextDeadline() {
                let untilDue = deadline - clock.now()
                if untilDue <= .zero { continue }
                timeout = min(timeout, untilDue)
            }
            onIdle?()
            trace?(.sleeping(timeout: timeout))
            sleep(timeout: timeout)
            let raised = interrupt.acknowledge()
            let woken = wake.drain() > 0
            trace?(.woke(interrupts: raised, work: woken))
        }
    }

    /// poll(2) on the interrupt line and the wake notifier, EINTR retried (`retryingEINTR`).
    private func sleep(timeout: Duration) {
        var descriptors = [
            pollfd(fd: interrupt.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0),
        ]
        let ms = max(1, timeout.pollTimeoutMilliseconds)
        retryingEINTR { poll(&descriptors, 2, ms) }
    }
}
