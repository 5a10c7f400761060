/// Feature bits, device-independent and virtio-net specific, in one 64-bit set as the transport carries them.
/// virtio 1.2 §6 (reserved bits), §5.1.3 (network device).
public struct VirtioFeatures: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    // virtio-net, virtio 1.2 §5.1.3
    /// VIRTIO_NET_F_CSUM (0): the device handles packets with partial checksum.
    public static let netChecksum = VirtioFeatures(rawValue: 1 << 0)
    /// VIRTIO_NET_F_GUEST_CSUM (1): the driver handles packets with partial checksum.
    public static let netGuestChecksum = VirtioFeatures(rawValue: 1 << 1)
    /// VIRTIO_NET_F_MTU (3): `mtu` in config space is valid.
    public static let netMTU = VirtioFeatures(rawValue: 1 << 3)
    /// VIRTIO_NET_F_MAC (5): the device has a MAC address in config space.
    public static let netMAC = VirtioFeatures(rawValue: 1 << 5)
    /// VIRTIO_NET_F_MRG_RXBUF (15): the driver can merge receive buffers.
    public static let netMergeableReceiveBuffers = VirtioFeatures(rawValue: 1 << 15)
    /// VIRTIO_NET_F_STATUS (16): `status` in config space is valid.
    public static let netStatus = VirtioFeatures(rawValue: 1 << 16)

    // device-independent, virtio 1.2 §6
    /// VIRTIO_F_INDIRECT_DESC (28): descriptors may point at indirect tables.
    public static let indirectDescriptors = VirtioFeatures(rawValue: 1 << 28)
    /// VIRTIO_F_EVENT_IDX (29): used_event / avail_event suppress notifications.
    public static let ringEventIndex = VirtioFeatures(rawValue: 1 << 29)
    /// VIRTIO_F_VERSION_1 (32): a modern (non-legacy) device.
    public static let version1 = VirtioFeatures(rawValue: 1 << 32)

    public var description: String {
        let names: [(VirtioFeatures, String)] = [
            (.netChecksum, "CSUM"), (.netGuestChecksum, "GUEST_CSUM"), (.netMTU, "MTU"), (.netMAC, "MAC"),
            (.netMergeableReceiveBuffers, "MRG_RXBUF"), (.netStatus, "STATUS"), (.indirectDescriptors, "INDIRECT_DESC"),
            (.ringEventIndex, "EVENT_IDX"), (.version1, "VERSION_1"),
        ]
        var parts = names.filter { contains($0.0) }.map(\.1)
        let known = names.reduce(VirtioFeatures()) { $0.union($1.0) }
        let unknown = subtracting(known).rawValue
        if unknown != 0 { parts.append("0x" + String(unknown, radix: 16)) }
        return "[" + parts.joined(separator: ",") + "]"
    }
}

/// The device status field. virtio 1.2 §2.1.
public struct DeviceStatus: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let acknowledge = DeviceStatus(rawValue: 1)
    public static let driver = DeviceStatus(rawValue: 2)
    public static let driverOK = DeviceStatus(rawValue: 4)
    public static let featuresOK = DeviceStatus(rawValue: 8)
    public static let needsReset = DeviceStatus(rawValue: 64)
    public static let failed = DeviceStatus(rawValue: 128)

    public var description: String {
        let names: [(DeviceStatus, String)] = [
            (.acknowledge, "ACKNOWLEDGE"), (.driver, "DRIVER"), (.featuresOK, "FEATURES_OK"),
            (.driverOK, "DRIVER_OK"), (.needsReset, "NEEDS_RESET"), (.failed, "FAILED"),
        ]
        return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: ",") + "]"
    }
}
