/// The type of an MLDv2 multicast address record. RFC 3810 §5.2.12. Open.
public struct MLDv2RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// Current state: include mode with the sources. RFC 3810 §5.2.12.
    public static let modeIsInclude = MLDv2RecordType(1)
    /// Current state: exclude mode with the sources (an empty list is "listen to all").
    public static let modeIsExclude = MLDv2RecordType(2)
    /// Filter mode change to include.
    public static let changeToIncludeMode = MLDv2RecordType(3)
    /// Filter mode change to exclude (an empty list is how a host joins a group).
    public static let changeToExcludeMode = MLDv2RecordType(4)
    /// Source list change: allow these sources.
    public static let allowNewSources = MLDv2RecordType(5)
    /// Source list change: block these sources.
    public static let blockOldSources = MLDv2RecordType(6)

    public var description: String {
        switch self {
        case .modeIsInclude: "MODE_IS_INCLUDE"
        case .modeIsExclude: "MODE_IS_EXCLUDE"
        case .changeToIncludeMode: "CHANGE_TO_INCLUDE_MODE"
        case .changeToExcludeMode: "CHANGE_TO_EXCLUDE_MODE"
        case .allowNewSources: "ALLOW_NEW_SOURCES"
        case .blockOldSources: "BLOCK_OLD_SOURCES"
        default: "record type \(rawValue)"
        }
    }
}

/// One multicast address record of an MLDv2 report. RFC 3810 §5.2.4 through §5.2.11.
///
/// Layout: record type (1), aux data len (1, in 32-bit words), number of sources (2), multicast address (16),
/// sources (16 each), auxiliary data.
public struct MLDv2MulticastAddressRecord: Equatable, Hashable, Sendable {
    public var recordType: MLDv2RecordType
    public var multicastAddress: IPv6Address
    public var sources: [IPv6Address]
    /// A multiple of 4 bytes, at most 1020 (RFC 3810 defines none; receivers ignore it, §5.2.10).
    public var auxiliaryData: [UInt8]

    public init(recordType: MLDv2RecordType, multicastAddress: IPv6Address, sources: [IPv6Address] = [],
                auxiliaryData: [UInt8] = []) {
        self.recordType = recordType
        self.multicastAddress = multicastAddress
        self.sources = sources
        self.auxiliaryData = auxiliaryData
    }

    /// 20 bytes plus the sources and auxiliary data.
    public var encodedLength: Int { 20 + 16 * sources.count + auxiliaryData.count }
}

/// A view of an MLDv2 Multicast Listener Report (a whole ICMPv6 message). RFC 3810 §5.2.
///
/// Layout: type 143 (1), reserved (1), checksum (2), reserved (2), number of records (2), records. The
/// initializer checks the type and the 8 bytes; `records()` parses separately. Reports go from a link-local
/// source (or `::`) to `ff02::16` with hop limit 1 and a Router Alert hop-by-hop option (RFC 3810 §5).
public struct MLDv2ReportPacket {
    public static let fixedLength = 8

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.requireICMPv6(.version2MulticastListenerReport, minimumLength: Self.fixedLength, format: "MLDv2 report")
        self.bytes = bytes
    }

    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// Nr of Mcast Address Records.
    public var numberOfRecords: Int { Int(bytes.bigEndian(UInt16.self, at: 6)) }

    /// The records. Throws `.truncated` if `numberOfRecords` records, their sources or aux data run past the
    /// message.
    public func records() throws(WireError) -> [MLDv2MulticastAddressRecord] {
        var records: [MLDv2MulticastAddressRecord] = []
        var offset = Self.fixedLength
        for number in 0 ..< numberOfRecords {
            let format = "MLDv2 record \(number)"
            guard offset + 20 <= bytes.count else { throw .truncated(format: format, needed: offset + 20, available: bytes.count) }
            let sourceCount = Int(bytes.bigEndian(UInt16.self, at: offset + 2))
            let auxiliaryLength = Int(bytes[offset + 1]) * 4
            let end = offset + 20 + 16 * sourceCount + auxiliaryLength
            guard end <= bytes.count else { throw .truncated(format: format, needed: end, available: bytes.count) }
            let sources = (0 ..< sourceCount).map { IPv6Address(bytes, at: offset + 20 + 16 * $0) }
            records.append(MLDv2MulticastAddressRecord(
                recordType: MLDv2RecordType(bytes[offset]), multicastAddress: IPv6Address(bytes, at: offset + 4),
                sources: sources, auxiliaryData: Array(bytes.rebased(end - auxiliaryLength ..< end))))
            offset = end
        }
        return records
    }
}

/// An MLDv2 report as a value. RFC 3810 §5.2. Reserved bytes are written as zero.
public struct MLDv2Report: Equatable, Hashable, Sendable {
    public var records: [MLDv2MulticastAddressRecord]

    public init(records: [MLDv2MulticastAddressRecord]) { self.records = records }

    public init(_ view: MLDv2ReportPacket) throws(WireError) {
        self.init(records: try view.records())
    }

    public var encodedLength: Int { records.reduce(MLDv2ReportPacket.fixedLength) { $0 + $1.encodedLength } }

    /// Writes the message with its checksum over the pseudo-header of `source` → `destination`. Throws
    /// `.malformed` for more than 65535 records or sources, or auxiliary data that is not a multiple of 4 up to
    /// 1020 bytes.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        guard records.count <= Int(UInt16.max) else {
            throw .malformed(format: "MLDv2 report", field: "numberOfRecords", detail: "\(records.count) does not fit 16 bits")
        }
        for record in records {
            guard record.sources.count <= Int(UInt16.max) else {
                throw .malformed(format: "MLDv2 report", field: "numberOfSources", detail: "\(record.sources.count) does not fit 16 bits")
            }
            guard record.auxiliaryData.count % 4 == 0, record.auxiliaryData.count <= 255 * 4 else {
                throw .malformed(format: "MLDv2 report", field: "auxiliaryData", detail: "\(record.auxiliaryData.count) bytes, need a multiple of 4 up to 1020")
            }
        }
        try buffer.requireCapacity(encodedLength, format: "MLDv2 report")
        buffer[0] = ICMPv6Type.version2MulticastListenerReport.rawValue
        buffer[1] = 0
        buffer.storeBigEndian(UInt16(0), at: 4)
        buffer.storeBigEndian(UInt16(records.count), at: 6)
        var offset = MLDv2ReportPacket.fixedLength
        for record in records {
            buffer[offset] = record.recordType.rawValue
            buffer[offset + 1] = UInt8(record.auxiliaryData.count / 4)
            buffer.storeBigEndian(UInt16(record.sources.count), at: offset + 2)
            record.multicastAddress.store(into: buffer, at: offset + 4)
            for (index, address) in record.sources.enumerated() { address.store(into: buffer, at: offset + 20 + 16 * index) }
            buffer.storeBytes(record.auxiliaryData, at: offset + 20 + 16 * record.sources.count)
            offset += record.encodedLength
        }
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}
