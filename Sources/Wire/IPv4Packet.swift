/// A view of an IPv4 packet. RFC 791 §3.1.
///
/// The initializer checks version 4, IHL ≥ 5, that the header fits, and header length ≤ total length ≤ buffer
/// length; every accessor is then safe. `payload` ends at `totalLength`, so Ethernet padding is excluded.
/// The checksum is not verified on init (see `isHeaderChecksumValid`).
public struct IPv4Packet {
    /// The header length without options.
    public static let minimumHeaderLength = 20
    /// The header length with the longest options (IHL 15).
    public static let maximumHeaderLength = 60

    /// The buffer the view was made over (may extend past `totalLength`).
    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.minimumHeaderLength, format: "IPv4")
        let version = bytes[0] >> 4
        guard version == 4 else {
            throw .malformed(format: "IPv4", field: "version", detail: "\(version), expected 4")
        }
        let headerLength = Int(bytes[0] & 0x0F) * 4
        guard headerLength >= Self.minimumHeaderLength else {
            throw .malformed(format: "IPv4", field: "IHL", detail: "\(headerLength / 4), below 5")
        }
        try bytes.require(headerLength, format: "IPv4")
        let totalLength = Int(bytes.bigEndian(UInt16.self, at: 2))
        guard totalLength >= headerLength else {
            throw .malformed(format: "IPv4", field: "totalLength", detail: "\(totalLength), below the header length \(headerLength)")
        }
        try bytes.require(totalLength, format: "IPv4")
        self.bytes = bytes
    }

    /// Always 4 (checked on init).
    public var version: UInt8 { bytes[0] >> 4 }
    /// The header length in bytes (IHL × 4), 20 through 60.
    public var headerLength: Int { Int(bytes[0] & 0x0F) * 4 }
    /// The type of service byte (DSCP and ECN, RFC 2474 / RFC 3168).
    public var typeOfService: UInt8 { bytes[1] }
    /// Header plus data, in bytes.
    public var totalLength: Int { Int(bytes.bigEndian(UInt16.self, at: 2)) }
    public var identification: UInt16 { bytes.bigEndian(UInt16.self, at: 4) }
    private var flagsAndFragmentOffset: UInt16 { bytes.bigEndian(UInt16.self, at: 6) }
    /// The DF flag.
    public var dontFragment: Bool { flagsAndFragmentOffset & 0x4000 != 0 }
    /// The MF flag.
    public var moreFragments: Bool { flagsAndFragmentOffset & 0x2000 != 0 }
    /// The fragment offset field, in units of 8 bytes (RFC 791 §3.1).
    public var fragmentOffset: UInt16 { flagsAndFragmentOffset & 0x1FFF }
    /// Whether this packet is a fragment (MF set or a non-zero offset).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    public var timeToLive: UInt8 { bytes[8] }
    public var `protocol`: IPProtocol { IPProtocol(bytes[9]) }
    public var headerChecksum: UInt16 { bytes.bigEndian(UInt16.self, at: 10) }
    public var source: IPv4Address { IPv4Address(bytes, at: 12) }
    public var destination: IPv4Address { IPv4Address(bytes, at: 16) }
    /// The option bytes between the fixed header and the payload (empty when IHL is 5).
    public var options: UnsafeRawBufferPointer { bytes.rebased(Self.minimumHeaderLength ..< headerLength) }
    /// The header bytes (fixed part and options).
    public var header: UnsafeRawBufferPointer { bytes.rebased(0 ..< headerLength) }
    /// The data after the header, up to `totalLength`.
    public var payload: UnsafeRawBufferPointer { bytes.rebased(headerLength ..< totalLength) }

    /// Whether the header sums to zero with its checksum included. RFC 791 §3.1, RFC 1071.
    public var isHeaderChecksumValid: Bool { InternetChecksum.checksum(header) == 0 }
}

/// An IPv4 header as a value. RFC 791 §3.1.
///
/// The header checksum is not stored: `emit` computes it. The reserved flag bit is always written as zero.
public struct IPv4Header: Equatable, Hashable, Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var `protocol`: IPProtocol
    /// The number of bytes after the header.
    public var payloadLength: Int
    public var timeToLive: UInt8
    public var identification: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// In units of 8 bytes, at most 0x1FFF.
    public var fragmentOffset: UInt16
    public var typeOfService: UInt8
    /// Option bytes, already padded to a multiple of 4, at most 40.
    public var options: [UInt8]

    public init(source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, payloadLength: Int,
                timeToLive: UInt8 = 64, identification: UInt16 = 0, dontFragment: Bool = false,
                moreFragments: Bool = false, fragmentOffset: UInt16 = 0,
                typeOfService: UInt8 = 0, options: [UInt8] = []) {
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.payloadLength = payloadLength
        self.timeToLive = timeToLive
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.typeOfService = typeOfService
        self.options = options
    }

    public init(_ view: IPv4Packet) {
        self.init(source: view.source, destination: view.destination, protocol: view.protocol,
                  payloadLength: view.totalLength - view.headerLength,
                  timeToLive: view.timeToLive, identification: view.identification,
                  dontFragment: view.dontFragment, moreFragments: view.moreFragments,
                  fragmentOffset: view.fragmentOffset, typeOfService: view.typeOfService,
                  options: Array(view.options))
    }

    /// The header length in bytes: 20 plus the options.
    public var headerLength: Int { IPv4Packet.minimumHeaderLength + options.count }
    /// Header plus payload.
    public var totalLength: Int { headerLength + payloadLength }
    /// The header alone (the payload is written by the caller after it).
    public var encodedLength: Int { headerLength }

    /// Writes the header, with its checksum, at the start of `buffer`. Throws `.malformed` if the options are not
    /// a multiple of 4 or longer than 40, the total length exceeds 65535, or the fragment offset exceeds 0x1FFF.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard options.count % 4 == 0, options.count <= IPv4Packet.maximumHeaderLength - IPv4Packet.minimumHeaderLength else {
            throw .malformed(format: "IPv4", field: "options", detail: "\(options.count) bytes, need a multiple of 4 up to 40")
        }
        guard payloadLength >= 0, totalLength <= Int(UInt16.max) else {
            throw .malformed(format: "IPv4", field: "totalLength", detail: "\(totalLength) does not fit 16 bits")
        }
        guard fragmentOffset <= 0x1FFF else {
            throw .malformed(format: "IPv4", field: "fragmentOffset", detail: "\(fragmentOffset) does not fit 13 bits")
        }
        try buffer.requireCapacity(headerLength, format: "IPv4")
        buffer[0] = 0x40 | UInt8(headerLength / 4)
        buffer[1] = typeOfService
        buffer.storeBigEndian(UInt16(totalLength), at: 2)
        buffer.storeBigEndian(identification, at: 4)
        let flags: UInt16 = (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0)
        buffer.storeBigEndian(flags | fragmentOffset, at: 6)
        buffer[8] = timeToLive
        buffer[9] = `protocol`.rawValue
        buffer.storeBigEndian(UInt16(0), at: 10)
        source.store(into: buffer, at: 12)
        destination.store(into: buffer, at: 16)
        buffer.storeBytes(options, at: IPv4Packet.minimumHeaderLength)
        let checksum = InternetChecksum.checksum(UnsafeRawBufferPointer(buffer.rebased(0 ..< headerLength)))
        buffer.storeBigEndian(checksum, at: 10)
    }
}
