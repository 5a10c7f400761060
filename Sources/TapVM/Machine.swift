import Capture
import Glibc
import Emulator
import Guest
import HostTap
import Synchronization
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
    /// Guest memory: rings and buffers for two 256-entry queues fit in well under 2 MiB.
    public var memorySize = 4 << 20
    public var queueSize: UInt16 = 256
    /// Where to capture (pcap, LINKTYPE_ETHERNET), if anywhere; `pcapPoint` says which side (`CapturePoint`).
    public var pcapPath: String?
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
    public let stack: NetworkStack
    /// The guest's MAC, as its driver read it from the card's config space.
    public let mac: MACAddress
    /// When the guest booted (its clock's zero), so that guest instants can be placed on the process's clock.
    public private(set) var bootedAt: ContinuousClock.Instant?
    private let clock: MonotonicClock
    private let backend: TapBackend
    /// The stack as the vCPU sees it: behind the guest capture point, which also records start and release.
    private let guestStack: GuestCapture
    private let captures: CaptureSet
    private let deviceThread: DeviceThread
    private let vcpu: VCPU
    private var running = false

    public init(tap: TapDevice, configuration: MachineConfiguration,
                onEvent: @escaping @Sendable (StackEvent) -> Void) throws(TapVMError) {
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
            var stackConfiguration = StackConfiguration(mac: mac, hostname: configuration.hostname,
                                                        pingTargets: configuration.pingTargets, pingCount: configuration.pingCount)
            stackConfiguration.pingInterval = configuration.pingInterval
            stackConfiguration.ipv6 = configuration.ipv6
            let stack = NetworkStack(configuration: stackConfiguration, random: SeededGenerator(seed: configuration.seed))
            self.stack = stack
            guestStack = GuestCapture(stack: stack, writer: captures.guest, bootTime: bootTime)
            if !captures.isEmpty {
                captures.describe(CaptureSidecar(
                    point: configuration.pcapPoint, seed: configuration.recordedSeed.map { "\($0)" },
                    stackSeed: "\(configuration.seed)", mac: "\(mac)", hostname: configuration.hostname,
                    pingTargets: configuration.pingTargets.map(CaptureSidecar.text), pingCount: configuration.pingCount,
                    pingIntervalNanoseconds: stackConfiguration.pingInterval.nanoseconds,
                    pingTimeoutNanoseconds: stackConfiguration.pingTimeout.nanoseconds,
                    bootTime: "\(bootTime)", ipv6: configuration.ipv6.enabled ? IPv6Sidecar(configuration.ipv6) : nil))
            }
            // Runs on the vCPU thread, the only thread that touches the stack.
            vcpu = try VCPU(driver: driver, stack: guestStack, clock: clock, interrupt: interrupt, onIdle: {
                for event in stack.drainEvents() { onEvent(event) }
            })
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
    /// the wire. Returns whether a frame left.
    @discardableResult
    public func release(timeout: Duration = .milliseconds(500)) -> Bool {
        guard running else { return false }
        let before = device.counters.snapshot().txFrames
        let clock = self.clock
        let queued = QueuedCount()
        vcpu.perform { stack in
            queued.value.store((stack as? GuestCapture)?.release(now: clock.now()) ?? 0, ordering: .releasing)
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let sent = Int(device.counters.snapshot().txFrames - before)
            if sent > 0, sent >= queued.value.load(ordering: .acquiring) { return true }
            usleep(2_000)
        }
        return device.counters.snapshot().txFrames > before
    }

    /// How many frames the release queued; -1 until the vCPU ran it.
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
        let instants = guestStack.instants.withLock { $0 }
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
