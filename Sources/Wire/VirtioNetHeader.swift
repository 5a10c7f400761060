/// The header a virtio-net device and driver put before every packet (struct virtio_net_hdr). virtio 1.2 §5.1.6.
///
/// Little-endian (VIRTIO_F_VERSION_1, and TUNSETVNETLE on a tap). Two layouts: the legacy 10-byte one without
/// `numBuffers`, and the 12-byte one (VIRTIO_NET_F_MRG_RXBUF or VIRTIO_F_VERSION_1). This file is the only place
/// the header's bytes are read or written.
public struct VirtioNetHeader: Equatable, Hashable, Sendable {
    /// The 10-byte layout (no `num_buffers`), what a fresh tap fd uses.
    public static let legacySize = 10
    /// The 12-byte layout with `num_buffers`.
    public static let size = 12

    /// `flags`. virtio 1.2 §5.1.6.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// VIRTIO_NET_HDR_F_NEEDS_CSUM: checksum from `checksumStart`, store at `checksumStart + checksumOffset`.
        public static let needsChecksum = Flags(rawValue: 1)
        /// VIRTIO_NET_HDR_F_DATA_VALID: the device validated the checksum (receive only).
        public static let dataValid = Flags(rawValue: 2)
        /// VIRTIO_NET_HDR_F_RSC_INFO: coalescing info in `checksumStart`/`checksumOffset` (receive only).
        public static let rscInfo = Flags(rawValue: 4)
    }

    /// `gso_type`. virtio 1.2 §5.1.6. Open.
    public struct GSOType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public init(_ rawValue: UInt8) { self.rawValue = rawValue }
        /// VIRTIO_NET_HDR_GSO_NONE.
        public static let none = GSOType(0)
        /// VIRTIO_NET_HDR_GSO_TCPV4.
        public static let tcpv4 = GSOType(1)
        /// VIRTIO_NET_HDR_GSO_UDP (UFO, deprecated).
        public static let udp = GSOType(3)
        /// VIRTIO_NET_HDR_GSO_TCPV6.
        public static let tcpv6 = GSOType(4)
        /// VIRTIO_NET_HDR_GSO_UDP_L4 (USO).
        public static let udpL4 = GSOType(5)
        /// VIRTIO_NET_HDR_GSO_ECN, a bit combined with the others.
        public static let ecn = GSOType(0x80)

        public var description: String {
            switch rawValue & 0x7F {
            case 0: rawValue & 0x80 != 0 ? "none+ecn" : "none"
            case 1: rawValue & 0x80 != 0 ? "tcpv4+ecn" : "tcpv4"
            case 3: "udp"
            case 4: rawValue & 0x80 != 0 ? "tcpv6+ecn" : "tcpv6"
            case 5: "udp_l4"
            default: "gso \(rawValue)"
            }
        }
    }

    public var flags: Flags
    public var gsoType: GSOType
    /// `hdr_len`.
    public var headerLength: UInt16
    /// `gso_size`.
    public var gsoSize: UInt16
    /// `csum_start`.
    public var checksumStart: UInt16
    /// `csum_offset`.
    public var checksumOffset: UInt16
    /// `num_buffers`: only in the 12-byte layout; reads as 0 from a 10-byte header, not written to one.
    public var numBuffers: UInt16

    public init(flags: Flags = [], gsoType: GSOType = .none, headerLength: UInt16 = 0, gsoSize: UInt16 = 0,
                checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0, numBuffers: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
        self.numBuffers = numBuffers
    }

    public init(_ view: VirtioNetHeaderView) {
        self.init(flags: view.flags, gsoType: view.gsoType, headerLength: view.headerLength, gsoSize: view.gsoSize,
                  checksumStart: view.checksumStart, checksumOffset: view.checksumOffset, numBuffers: view.numBuffers)
    }

    /// `size`, which must be 10 or 12.
    public func encodedLength(size: Int) -> Int { size }

    /// Writes the header in the `size`-byte layout (10 or 12; `.malformed` otherwise) at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, size: Int) throws(WireError) {
        try VirtioNetHeaderView.checkSize(size)
        try buffer.requireCapacity(size, format: "virtio_net_hdr")
        buffer[0] = flags.rawValue
        buffer[1] = gsoType.rawValue
        buffer.storeLittleEndian(headerLength, at: 2)
        buffer.storeLittleEndian(gsoSize, at: 4)
        buffer.storeLittleEndian(checksumStart, at: 6)
        buffer.storeLittleEndian(checksumOffset, at: 8)
        if size == Self.size { buffer.storeLittleEndian(numBuffers, at: 10) }
    }
}

/// A view of a virtio-net header at the start of `bytes`. virtio 1.2 §5.1.6.
public struct VirtioNetHeaderView {
    public let bytes: UnsafeRawBufferPointer
    /// 10 or 12.
    public let size: Int

    /// Throws `.malformed` unless `size` is 10 or 12, and `.truncated` if `bytes` is shorter than `size`.
    public init(_ bytes: UnsafeRawBufferPointer, size: Int) throws(WireError) {
        try Self.checkSize(size)
        try bytes.require(size, format: "virtio_net_hdr")
        self.bytes = bytes
        self.size = size
    }

    static func checkSize(_ size: Int) throws(WireError) {
        guard size == VirtioNetHeader.legacySize || size == VirtioNetHeader.size else {
            throw .malformed(format: "virtio_net_hdr", field: "size", detail: "\(size), expected 10 or 12")
        }
    }

    public var flags: VirtioNetHeader.Flags { VirtioNetHeader.Flags(rawValue: bytes[0]) }
    public var gsoType: VirtioNetHeader.GSOType { VirtioNetHeader.GSOType(bytes[1]) }
    public var headerLength: UInt16 { bytes.littleEndian(UInt16.self, at: 2) }
    public var gsoSize: UInt16 { bytes.littleEndian(UInt16.self, at: 4) }
    public var checksumStart: UInt16 { bytes.littleEndian(UInt16.self, at: 6) }
    public var checksumOffset: UInt16 { bytes.littleEndian(UInt16.self, at: 8) }
    /// 0 in the 10-byte layout.
    public var numBuffers: UInt16 { size == VirtioNetHeader.size ? bytes.littleEndian(UInt16.self, at: 10) : 0 }
    /// The packet (Ethernet frame) after the header.
    public var payload: UnsafeRawBufferPointer { bytes.rebased(size ..< bytes.count) }
}
