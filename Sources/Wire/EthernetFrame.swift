/// A view of an Ethernet II frame (without preamble or FCS, as a tap fd delivers it). IEEE 802.3 §3.1.1.
///
/// The initializer checks the 14-byte header; every accessor is then safe. An 802.1Q tag is not unwrapped:
/// `etherType` is then `.vlan` and the tag is the first 4 bytes of `payload`.
public struct EthernetFrame {
    /// Destination (6), source (6), EtherType (2).
    public static let headerLength = 14
    /// The shortest frame on the wire without FCS (64 bytes minus the 4-byte FCS). IEEE 802.3 §4.2.3.3.
    public static let minimumLength = 60

    /// The whole frame, header included.
    public let bytes: UnsafeRawBufferPointer

    /// Throws `.truncated` if `bytes` is shorter than the header.
    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.headerLength, format: "Ethernet")
        self.bytes = bytes
    }

    public var destination: MACAddress { MACAddress(bytes, at: 0) }
    public var source: MACAddress { MACAddress(bytes, at: 6) }
    public var etherType: EtherType { EtherType(bytes.bigEndian(UInt16.self, at: 12)) }
    /// Everything after the header, including any padding up to the 60-byte minimum.
    public var payload: UnsafeRawBufferPointer { bytes.rebased(Self.headerLength ..< bytes.count) }
}

/// The header of an Ethernet II frame as a value. IEEE 802.3 §3.1.1.
public struct EthernetHeader: Equatable, Hashable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    public var etherType: EtherType

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
    }

    public init(_ view: EthernetFrame) {
        self.init(destination: view.destination, source: view.source, etherType: view.etherType)
    }

    /// Always 14.
    public var encodedLength: Int { EthernetFrame.headerLength }

    /// Writes the 14 header bytes at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "Ethernet")
        destination.store(into: buffer, at: 0)
        source.store(into: buffer, at: 6)
        buffer.storeBigEndian(etherType.rawValue, at: 12)
    }
}
