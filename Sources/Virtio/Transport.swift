import Synchronization
import Wire

/// The network device's configuration space. virtio 1.2 §5.1.4 (`struct virtio_net_config`: mac[6], le16 status,
/// le16 max_virtqueue_pairs, le16 mtu, ...; only the fields tapvm offers).
public struct VirtioNetConfig: Equatable, Sendable {
    /// VIRTIO_NET_S_LINK_UP.
    public static let statusLinkUp: UInt16 = 1

    public var mac: MACAddress
    public var status: UInt16
    public var mtu: UInt16

    public init(mac: MACAddress, status: UInt16 = VirtioNetConfig.statusLinkUp, mtu: UInt16 = 1500) {
        self.mac = mac
        self.status = status
        self.mtu = mtu
    }
}

/// One queue's registers as the driver programs them. virtio 1.2 §4.2.2 (QueueNumMax, QueueNum, QueueDesc*,
/// QueueDriver*, QueueDevice*, QueueReady).
public struct QueueRegisters: Equatable, Sendable {
    public var maximumSize: UInt16
    public var size: UInt16
    public var descriptorTable: GuestAddress = 0
    public var driverArea: GuestAddress = 0
    public var deviceArea: GuestAddress = 0
    public var ready = false

    /// The layout these registers describe, or an error if they break §2.7.
    public func layout() throws(VirtioError) -> QueueLayout {
        try QueueLayout(size: size, descriptorTable: descriptorTable, availableRing: driverArea, usedRing: deviceArea)
    }
}

/// The register file both sides see, modelled on virtio-mmio (virtio 1.2 §4.2.2): device and driver features,
/// status, per-queue registers and the net config space, behind one lock. The driver writes it in the order of
/// §3.1.1 (Linux `virtio_dev_probe` + `virtnet_probe`); the device reads the queue registers once it sees
/// DRIVER_OK. Writes that break the rules are refused the way a device refuses them (FEATURES_OK does not stick).
public final class Transport: Sendable {
    private struct Registers {
        var deviceFeatures: VirtioFeatures
        var driverFeatures: VirtioFeatures = []
        var status: DeviceStatus = []
        var queues: [QueueRegisters]
        var config: VirtioNetConfig
        var configGeneration: UInt32 = 0
    }

    private let registers: Mutex<Registers>
    /// The queues this device has (virtio-net: receiveq1 = 0, transmitq1 = 1).
    public let queueCount: Int

    /// A device offering `deviceFeatures`, with `queueCount` queues of at most `maximumQueueSize` entries.
    public init(deviceFeatures: VirtioFeatures, queueCount: Int = 2, maximumQueueSize: UInt16 = 256, config: VirtioNetConfig) {
        precondition(queueCount > 0 && maximumQueueSize > 0 && maximumQueueSize <= QueueLayout.maximumSize)
        self.queueCount = queueCount
        registers = Mutex(Registers(
            deviceFeatures: deviceFeatures,
            queues: Array(repeating: QueueRegisters(maximumSize: maximumQueueSize, size: maximumQueueSize), count: queueCount),
            config: config))
    }

    // MARK: features (§2.2)

    /// DeviceFeatures: what the device offers.
    public var deviceFeatures: VirtioFeatures { registers.withLock { $0.deviceFeatures } }

    /// DriverFeatures: what the driver accepted. Ignored once FEATURES_OK is set (§3.1.1 step 5-6).
    public var driverFeatures: VirtioFeatures {
        get { registers.withLock { $0.driverFeatures } }
    }

    /// Writes DriverFeatures. Ignored after FEATURES_OK.
    public func writeDriverFeatures(_ features: VirtioFeatures) {
        registers.withLock { if !$0.status.contains(.featuresOK) { $0.driverFeatures = features } }
    }

    /// The features both sides agreed on: DriverFeatures once FEATURES_OK stuck, else none.
    public var negotiatedFeatures: VirtioFeatures {
        registers.withLock { $0.status.contains(.featuresOK) ? $0.driverFeatures : [] }
    }

    // MARK: status (§2.1, §3.1.1)

    /// The Status register.
    public var status: DeviceStatus { registers.withLock { $0.status } }

    /// Writes the Status register. Zero resets the device (features, queues, status; §2.4). Setting FEATURES_OK
    /// sticks only if DriverFeatures ⊆ DeviceFeatures and VERSION_1 is among them (§2.2.1, §6.1); the driver must
    /// read status back to see whether it did.
    public func writeStatus(_ newStatus: DeviceStatus) {
        registers.withLock { r in
            if newStatus.isEmpty {
                let maximum = r.queues.map(\.maximumSize)
                r.status = []
                r.driverFeatures = []
                r.queues = maximum.map { QueueRegisters(maximumSize: $0, size: $0) }
                return
            }
            var accepted = newStatus
            if newStatus.contains(.featuresOK) && !r.status.contains(.featuresOK) {
                let acceptable = r.driverFeatures.isSubset(of: r.deviceFeatures) && r.driverFeatures.contains(.version1)
                if !acceptable { accepted.remove(.featuresOK) }
            }
            // NEEDS_RESET is the device's to set; the driver cannot clear it except by reset.
            accepted.remove(.needsReset)
            if r.status.contains(.needsReset) { accepted.insert(.needsReset) }
            r.status = accepted
        }
    }

    /// Device side: sets DEVICE_NEEDS_RESET (§2.1.2) after the driver broke the rules; the device stops using its
    /// queues until the driver resets it.
    public func setNeedsReset() {
        registers.withLock { r in
            r.status.insert(.needsReset)
            r.configGeneration &+= 1
        }
    }

    // MARK: queues (§4.2.2, §4.2.3.2)

    /// QueueNumMax of `queue`.
    public func maximumQueueSize(_ queue: Int) -> UInt16 { registers.withLock { $0.queues[queue].maximumSize } }

    /// The registers of `queue` (device side reads them at DRIVER_OK).
    public func queueRegisters(_ queue: Int) -> QueueRegisters { registers.withLock { $0.queues[queue] } }

    /// Programs `queue` with `layout` and sets QueueReady. Refused (returns false) when the size exceeds
    /// QueueNumMax, after DRIVER_OK, or for an unknown queue.
    @discardableResult
    public func configureQueue(_ queue: Int, layout: QueueLayout) -> Bool {
        registers.withLock { r in
            guard queue >= 0, queue < r.queues.count, !r.status.contains(.driverOK),
                layout.size <= r.queues[queue].maximumSize
            else { return false }
            r.queues[queue].size = layout.size
            r.queues[queue].descriptorTable = layout.descriptorTable
            r.queues[queue].driverArea = layout.availableRing
            r.queues[queue].deviceArea = layout.usedRing
            r.queues[queue].ready = true
            return true
        }
    }

    // MARK: config space (§5.1.4)

    /// The network config space as the driver reads it.
    public var config: VirtioNetConfig { registers.withLock { $0.config } }

    /// ConfigGeneration: changes whenever the device changes config or status on its own (§2.5.1).
    public var configGeneration: UInt32 { registers.withLock { $0.configGeneration } }
}
