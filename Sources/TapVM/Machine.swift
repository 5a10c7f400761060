import Capture
import Dispatch
import Glibc
import Synchronization
import Emulator
import Guest
import HostTap
import Virtio
import Wire

/// What a machine is made of, apart from its card's fd.
public struct MachineConfiguration: Sendable {
    /// Seed of the guest's generator (xids, jitter, delays).
    public var seed: UInt64
    public var hostname: String?
    public var pingTargets: [PingTarget]
    public var pingCount: Int
    /// Time between two echo requests to one target.
    public var pingInterval: Duration = .seconds(1)
    /// Guest memory: two 256-entry queues need about 14 KiB of rings and 2 x 256 x 1536 bytes of buffers, 0.8 MiB.
    /// Every page is zeroed (and so faulted in) when the machine is built, about 0.5 µs a page here: 4 MiB cost
    /// 2.2 ms of start-up, 1 MiB costs 0.55 ms (`tapvm bench lease`).
    public var memorySize = 1 << 20
    public var queueSize: UInt16 = 256
    /// Where to capture (pcap, LINKTYPE_ETHERNET), if anywhere; `pcapPoint` says which side (`CapturePoint`).
    public var pcapPath: String?
    /// Many guests on the one card (`tapvm lease --count N`): one `NetworkStack` per entry behind a `StackSwitch`,
    /// each with its own MAC. Empty: one stack on the card's MAC, built from the fields above.
    public var identities: [StackConfiguration] = []
    /// With `identities`: how many may be between DISCOVER and their first lease at once (nil: all).
    public var parallel: Int?
    /// With `identities`: the least time between two identities' starts, and between two RELEASEs.
    public var spacing: Duration = .zero
    public var releaseSpacing: Duration = .zero
    public var pcapPoint: CapturePoint = .guest
    /// Rotate the capture every this many megabytes (FILE, FILE.1, ...).
    public var pcapLimitMegabytes: Int?
    /// The run's seed as the user knows it (`--seed`), for the capture sidecar; `seed` derives from it.
    public var recordedSeed: UInt64?
    /// The guest's IPv6 side (off unless the caller turns it on; `GuestSession` does for runs).
    public var ipv6 = IPv6Configuration(enabled: false)

    public init(seed: UInt64, hostname: String? = nil, pingTargets: [PingTarget] = [], pingCount: Int = 3) {
        self.seed = seed
        self.hostname = hostname
        self.pingTargets = pingTargets
        self.pingCount = pingCount
    }
}

/// One virtual machine with one virtio-net card on a tap fd:
///
/// ```
///  TapDevice -- TapBackend -- NetDevice (device thread) ==[ GuestMemory: RX/TX split rings ]== VirtioNetDriver
///                                 |  InterruptLine ------------------------------------->  VCPU (vCPU thread)
///                                 |  <------------------------------------------ Doorbells     NetworkStack
/// ```
///
/// The host side is built first (the card exists before the guest boots); the guest's driver then probes it
/// through the `Transport` registers as Linux's virtio_net does, reads its MAC from the config space, and the
/// vCPU thread boots the stack. Stack events reach `onEvent` on the vCPU thread.
public final class Machine: @unchecked Sendable {
    public let tap: TapDevice
    public let memory: GuestMemory
    public let transport: Transport
    public let device: NetDevice
    public let driver: VirtioNetDriver
    /// The guest's stack: a `NetworkStack`, or a `StackSwitch` of them with `configuration.identities`.
    public let stack: FrameStack
    /// The guest's MAC, as its driver read it from the card's config space.
    public let mac: MACAddress
    /// When the guest booted (its clock's zero), so that guest instants can be placed on the process's clock.
    public private(set) var bootedAt: ContinuousClock.Instant?
    private let clock: MonotonicClock
    private let backend: TapBackend
    /// The stack as the vCPU sees it: behind the guest capture point, which also records start and release.
    /// Nil with many identities (`configuration.identities`): the `StackSwitch` is then the vCPU's stack.
    private let guestStack: GuestCapture?
    private let captures: CaptureSet
    private let deviceThread: DeviceThread
    private let vcpu: VCPU
    private var running = false

    public init(tap: TapDevice, configuration: MachineConfiguration,
                onEvent: @escaping @Sendable (_ identity: Int, StackEvent) -> Void) throws(TapVMError) {
        self.tap = tap
        memory = GuestMemory(size: configuration.memorySize)
        transport = Transport(deviceFeatures: NetDevice.offeredFeatures,
                              maximumQueueSize: configuration.queueSize, config: VirtioNetConfig(mac: tap.mac))
        do {
            clock = MonotonicClock()
            // The wall time of the guest's boot (its clock's zero): guest-point records are stamped from it.
            let bootTime = PcapTimestamp.now().adding(nanoseconds: -clock.now().nanoseconds)
            captures = try CaptureSet(options: configuration.pcapPath.map {
                CaptureOptions(path: $0, point: configuration.pcapPoint, limitMegabytes: configuration.pcapLimitMegabytes)
            }, bootTime: bootTime)
            backend = TapBackend(tap: tap, capture: captures.wire)
            let interrupt = try InterruptLine()
            let receiveDoorbell = try Doorbell(queueIndex: 0)
            let transmitDoorbell = try Doorbell(queueIndex: 1)
            device = NetDevice(memory: memory, transport: transport, backend: backend, interrupt: interrupt)
            deviceThread = try DeviceThread(device: device, receiveDoorbell: receiveDoorbell, transmitDoorbell: transmitDoorbell)
            driver = try VirtioNetDriver(memory: memory, transport: transport, rxDoorbell: receiveDoorbell,
                                         txDoorbell: transmitDoorbell, interrupt: interrupt, queueSize: configuration.queueSize)
            mac = driver.macAddress ?? tap.mac
            let drain: () -> Void
            let vcpuStack: FrameStack
            if configuration.identities.isEmpty {
                var stackConfiguration = StackConfiguration(mac: mac, hostname: configuration.hostname,
                                                            pingTargets: configuration.pingTargets, pingCount: configuration.pingCount)
                stackConfiguration.pingInterval = configuration.pingInterval
                stackConfiguration.ipv6 = configuration.ipv6
                let stack = NetworkStack(configuration: stackConfiguration, random: SeededGenerator(seed: configuration.seed))
                self.stack = stack
                let guestStack = GuestCapture(stack: stack, writer: captures.guest, bootTime: bootTime)
                self.guestStack = guestStack
                if !captures.isEmpty {
                    captures.describe(CaptureSidecar(
                        point: configuration.pcapPoint, seed: configuration.recordedSeed.map { "\($0)" },
                        stackSeed: "\(configuration.seed)", mac: "\(mac)", hostname: configuration.hostname,
                        pingTargets: configuration.pingTargets.map(CaptureSidecar.text), pingCount: configuration.pingCount,
                        pingIntervalNanoseconds: stackConfiguration.pingInterval.nanoseconds,
                        pingTimeoutNanoseconds: stackConfiguration.pingTimeout.nanoseconds,
                        bootTime: "\(bootTime)", ipv6: configuration.ipv6.enabled ? IPv6Sidecar(configuration.ipv6) : nil))
                }
                vcpuStack = guestStack
                drain = { for event in stack.drainEvents() { onEvent(0, event) } }
            } else {
                // Many identities: no guest capture point (it holds one stack's frames); the wire point sees them all.
                var random = SeededGenerator(seed: configuration.seed)
                let stacks = configuration.identities.map { NetworkStack(configuration: $0, random: random.split()) }
                let stack = StackSwitch(stacks: stacks, parallel: configuration.parallel, spacing: configuration.spacing,
                                         releaseSpacing: configuration.releaseSpacing)
                self.stack = stack
                guestStack = nil
                vcpuStack = stack
                drain = { for (identity, event) in stack.drainEvents() { onEvent(identity, event) } }
            }
            // Runs on the vCPU thread, the only thread that touches the stack.
            vcpu = try VCPU(driver: driver, stack: vcpuStack, clock: clock, interrupt: interrupt, onIdle: drain)
        } catch {
            throw .guest("cannot build the machine: \(error)")
        }
    }

    /// Starts the device thread, then boots the guest on its vCPU thread.
    public func start() throws(TapVMError) {
        guard !running else { return }
        do {
            try deviceThread.start()
            bootedAt = ContinuousClock.now - (clock.now() - .boot)
            try vcpu.start()
        } catch {
            _ = deviceThread.stop()
            throw .guest("cannot start the machine's threads: \(error)")
        }
        running = true
    }

    /// Sends a DHCPRELEASE for the current lease and a DHCPv6 Release for leased IPv6 addresses, if any
    /// (RFC 2131 §4.4.6, RFC 8415 §18.2.7), and waits at most `timeout` for the device to put what that queued on
    /// the wire. Returns whether a frame left. With many identities every lease is released and the wait lasts
    /// until each RELEASE has left the guest (after ARP for the server) and the card.
    @discardableResult
    public func release(timeout: Duration = .milliseconds(500)) -> Bool {
        guard running else { return false }
        let before = device.counters.snapshot().txFrames
        let clock = self.clock
        let deadline = ContinuousClock.now + timeout
        guard stack is StackSwitch else {
            // The card's TX count that means everything queued up to the release has left: what the driver has put
            // on the ring so far plus what still waits in the guest (IPv6 may have frames in flight too).
            let target = QueuedCount()
            vcpu.perform { stack in
                let waiting = (stack as? GuestCapture)?.release(now: clock.now()) ?? 0
                target.value.store(Int(self.driver.counters.txFrames) + waiting, ordering: .releasing)
            }
            while ContinuousClock.now < deadline {
                let wanted = target.value.load(ordering: .acquiring)
                if wanted >= 0, Int(device.counters.snapshot().txFrames) >= wanted, device.counters.snapshot().txFrames > before {
                    return true
                }
                usleep(2_000)
            }
            return device.counters.snapshot().txFrames > before
        }
        // Filled on the vCPU thread: RELEASEs still inside the guest, and frames the driver has put on the TX ring.
        let progress = Mutex<(pending: Int, driverFrames: UInt64)?>(nil)
        let released = Mutex<[(identity: Int, server: IPv4Address)]>([])
        vcpu.perform { stack in
            guard let stack = stack as? StackSwitch else { return }
            released.withLock { $0 = stack.releaseAll(now: clock.now()) }
        }
        while ContinuousClock.now < deadline {
            vcpu.perform { stack in
                guard let stack = stack as? StackSwitch else { return }
                let pending = stack.releasesPending(released.withLock { $0 })
                progress.withLock { $0 = (pending, self.driver.counters.txFrames) }
            }
            usleep(2_000)
            // Out of the guest, and the device has drained the TX ring onto the fd.
            if let (pending, driverFrames) = progress.withLock({ $0 }), pending == 0,
               device.counters.snapshot().txFrames >= driverFrames { return true }
        }
        return device.counters.snapshot().txFrames > before
    }

    /// Runs `body` with the stack and the guest's `now` on the vCPU thread, before its next poll; returns at once.
    public func perform(_ body: @escaping @Sendable (FrameStack, Instant) -> Void) {
        let clock = self.clock
        vcpu.perform { stack in body(stack, clock.now()) }
    }

    /// Runs `body` with the stack on the vCPU thread (the only thread that may touch it) and waits at most
    /// `timeout` for its result; nil when the machine is not running or the vCPU did not get to it in time.
    public func inspect<T: Sendable>(timeout: Duration = .seconds(2), _ body: @escaping @Sendable (FrameStack) -> T) -> T? {
        guard running else { return nil }
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        vcpu.perform { stack in
            let value = body(stack)
            result.withLock { $0 = value }
            done.signal()
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return result.withLock { $0 }
    }

    /// The card's TX frame count at which the release has left; -1 until the vCPU ran it.
    private final class QueuedCount: Sendable {
        let value = Atomic<Int>(-1)
    }

    /// Stops the vCPU, then the device, closes the capture (flushed, so it is complete) and the fd.
    /// Safe to call twice. If a thread does not stop in time, the fd is left open on purpose: closing it under a
    /// running thread could let that thread read or write an unrelated file that reuses the number.
    public func stop() {
        var stopped = true
        if running {
            running = false
            stopped = vcpu.stop() && deviceThread.stop()
        }
        // Flushed and closed on every way out (SIGINT/SIGTERM reach here through GuestSession.shutdown), so a
        // stopped run leaves readable files; the sidecars get the guest's start, release and stop instants.
        let instants = guestStack?.instants.withLock { $0 } ?? GuestCapture.Instants()
        captures.close(start: instants.start, release: instants.release, stop: clock.now())
        if stopped { tap.close() }
    }

    /// Why the machine cannot go on, or nil while it is healthy: the macvtap was deleted (invisible to read, write
    /// and poll; only an ioctl says ENOLINK, MACVTAP-FACTS §3g), the device failed or needs a reset (virtio 1.2
    /// §2.1.2), or the driver found the device breaking the protocol. The session asks once a second.
    public func failure() -> String? {
        do { try tap.checkAlive() } catch { return "\(error)" }
        return deviceThread.failure ?? vcpu.failure
    }

    /// One line of the card's counters, for the end of a run.
    public var countersSummary: String {
        let c = device.counters.snapshot()
        return "device: rx \(c.rxFrames) frames/\(c.rxBytes) B, tx \(c.txFrames) frames/\(c.txBytes) B, " +
            "no-buffer \(c.rxNoBuffer), truncated \(c.rxTruncated), errors rx \(c.rxErrors)/tx \(c.txErrors)/queue \(c.queueErrors), " +
            "interrupts \(c.interruptsRaised), doorbells \(c.doorbells)" +
            ([captures.wire, captures.guest].compactMap { $0 }.map {
                ", captured \($0.framesWritten) frames to \($0.files.joined(separator: " "))"
            }.joined()) + (captures.isEmpty ? "" : " (\(backend.captureErrors.load(ordering: .relaxed)) write errors)")
    }
}
