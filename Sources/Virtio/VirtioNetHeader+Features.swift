import Wire

extension VirtioNetHeader {
    /// The header size the driver and device use once `features` are negotiated: 12 bytes (with num_buffers)
    /// when VIRTIO_F_VERSION_1 or VIRTIO_NET_F_MRG_RXBUF is, else the legacy 10. virtio 1.2 §5.1.6.
    public static func size(for features: VirtioFeatures) -> Int {
        features.contains(.version1) || features.contains(.netMergeableReceiveBuffers) ? size : legacySize
    }
}
