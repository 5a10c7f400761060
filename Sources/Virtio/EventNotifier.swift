import CLinux
import Glibc

/// An eventfd (nonblocking, close-on-exec): the one-way wire that wakes another thread. KVM uses the same object
/// as ioeventfd (guest -> device) and irqfd (device -> guest); here `Doorbell` and `InterruptLine` are built on it.
public final class EventNotifier: Sendable {
    /// The eventfd, for a `Poller` or poll(2).
    public let fd: Int32

    public init() throws(VirtioError) {
        let fd = clinux_eventfd(0, clinux_EFD_NONBLOCK | clinux_EFD_CLOEXEC)
        guard fd >= 0 else { throw .systemCall("eventfd", errno: errno) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Adds one to the counter, waking a waiter. Never blocks; a saturated counter (EAGAIN) is already signalled.
    public func signal() {
        var one: UInt64 = 1
        retryingEINTR { Glibc.write(fd, &one, 8) }
    }

    /// Reads and resets the counter: how many signals arrived since the last drain (0 when none: EAGAIN).
    @discardableResult
    public func drain() -> UInt64 {
        var value: UInt64 = 0
        return retryingEINTR { Glibc.read(fd, &value, 8) } == 8 ? value : 0
    }
}

/// The guest's notification to the device that a queue has new available buffers (virtio 1.2 §2.7.13.3.2,
/// "Available Buffer Notification"): the ioeventfd role. One doorbell per queue.
public final class Doorbell: Sendable {
    /// The queue this doorbell belongs to.
    public let queueIndex: Int
    public let notifier: EventNotifier
    public var fd: Int32 { notifier.fd }

    public init(queueIndex: Int) throws(VirtioError) {
        self.queueIndex = queueIndex
        notifier = try EventNotifier()
    }

    /// Guest side: rings the doorbell (the driver's "kick").
    public func ring() { notifier.signal() }
    /// Device side: consumes pending rings; returns how many were coalesced.
    @discardableResult
    public func drain() -> UInt64 { notifier.drain() }
}

/// The device's notification to the guest that used buffers are ready (virtio 1.2 §2.7.14, "Used Buffer
/// Notification"): the irqfd role. One line shared by the queues, like a single INTx.
public final class InterruptLine: Sendable {
    public let notifier: EventNotifier
    public var fd: Int32 { notifier.fd }

    public init() throws(VirtioError) { notifier = try EventNotifier() }

    /// Device side: raises the interrupt.
    public func raise() { notifier.signal() }
    /// Guest side: acknowledges it (the ISR read); returns how many raises were coalesced.
    @discardableResult
    public func acknowledge() -> UInt64 { notifier.drain() }
}
