import Synchronization
import Virtio

/// The device's own thread, as QEMU's I/O thread or Firecracker's VMM thread: one epoll loop over the backend
/// fd, the RX and TX doorbells and a stop notifier. The backend fd is watched for reading only while the guest has
/// RX buffers (no buffers = stop reading the fd until the RX doorbell rings), and for writing only while a TX chain
/// waits after EAGAIN.
public final class DeviceThread: @unchecked Sendable {
    private enum Token: UInt64 { case stop, backend, receiveDoorbell, transmitDoorbell }

    public let device: NetDevice
    public let receiveDoorbell: Doorbell
    public let transmitDoorbell: Doorbell
    private let stopNotifier: EventNotifier
    private let poller: Poller
    private var thread: WorkerThread?
    /// What the backend fd is registered for ([] = not registered).
    private var watchingBackend: PollEvents = []
    private let loopErrorStorage = Mutex<VirtioError?>(nil)

    /// The error that ended the loop, if any (epoll failing), for the report. Readable from any thread.
    public var loopError: VirtioError? { loopErrorStorage.withLock { $0 } }

    /// Whether the card is dead, and why: the loop ended with an error, the device failed (a queue error, the
    /// backend failing) or the device status has DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2); nil while it works.
    /// Readable from any thread (the lead's health check polls it).
    public var failure: String? {
        if let loopError { return "device thread stopped: \(loopError)" }
        if let reason = device.failure { return reason }
        if device.transport.status.contains(.needsReset) { return "device status has NEEDS_RESET" }
        return nil
    }

    /// Sets up the poller; nothing runs until `start()`.
    public init(device: NetDevice, receiveDoorbell: Doorbell, transmitDoorbell: Doorbell) throws(VirtioError) {
        self.device = device
        self.receiveDoorbell = receiveDoorbell
        self.transmitDoorbell = transmitDoorbell
        stopNotifier = try EventNotifier()
        poller = try Poller()
        try poller.add(stopNotifier.fd, events: .readable, token: Token.stop.rawValue)
        try poller.add(receiveDoorbell.fd, events: .readable, token: Token.receiveDoorbell.rawValue)
        try poller.add(transmitDoorbell.fd, events: .readable, token: Token.transmitDoorbell.rawValue)
    }

    /// Starts the thread. Call once.
    public func start() throws(VirtioError) {
        precondition(thread == nil, "DeviceThread.start called twice")
        thread = try WorkerThread(name: "tapvm-device") { [self] in run() }
    }

    /// Asks the loop to stop and joins the thread, waiting at most `timeout`. Returns false if it did not stop.
    @discardableResult
    public func stop(timeout: Duration = .seconds(2)) -> Bool {
        stopNotifier.signal()
        return thread?.join(timeout: timeout) ?? true
    }

    /// Watches the backend fd for what the device needs now: readable while it has RX buffers, writable while a
    /// TX chain waits after EAGAIN; not at all otherwise.
    private func updateBackendInterest() throws(VirtioError) {
        var wanted: PollEvents = []
        if device.wantsBackendReadable { wanted.insert(.readable) }
        if device.wantsBackendWritable { wanted.insert(.writable) }
        guard wanted != watchingBackend else { return }
        // Removed rather than masked: epoll reports ERR/HUP even with an empty mask.
        if wanted.isEmpty {
            try poller.remove(device.backend.pollFD)
        } else if watchingBackend.isEmpty {
            try poller.add(device.backend.pollFD, events: wanted, token: Token.backend.rawValue)
        } else {
            try poller.modify(device.backend.pollFD, events: wanted, token: Token.backend.rawValue)
        }
        watchingBackend = wanted
    }

    private func run() {
        do {
            device.activateIfReady()
            if device.isActive { device.processReceive() }
            try updateBackendInterest()
            while true {
                // A pass that stopped at its budget continues right after this turn: events first, then the rest.
                let events = try poller.wait(timeout: device.hasMoreWork ? .zero : .seconds(1))
                var receive = false
                var transmit = false
                var writable = false
                for event in events {
                    switch Token(rawValue: event.token) {
                    case .stop:
                        return
                    case .receiveDoorbell:
                        let count = receiveDoorbell.drain()
                        if count > 0 { device.receiveDoorbell(count: count) }
                    case .transmitDoorbell:
                        transmit = true
                    case .backend:
                        if event.events.contains(.writable) { writable = true }
                        if !event.events.subtracting(.writable).isEmpty { receive = true }
                    case nil:
                        break
                    }
                }
                if writable && device.wantsBackendWritable { device.backendWritable() }
                if transmit {
                    let count = transmitDoorbell.drain()
                    if count > 0 { device.transmitDoorbell(count: count) } else { transmit = false }
                }
                if !transmit && device.transmitMoreWaiting { device.processTransmit() }
                if (receive || device.receiveMoreWaiting) && device.wantsBackendReadable { device.processReceive() }
                try updateBackendInterest()
            }
        } catch {
            loopErrorStorage.withLock { $0 = error }
        }
    }
}
