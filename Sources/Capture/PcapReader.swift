#if canImport(Glibc)
import Glibc
#endif
import CPcap

/// One frame read from a capture file.
public struct PcapRecord: Equatable, Sendable {
    /// When the frame was captured (nanoseconds are multiples of 1000 in a microsecond file).
    public var timestamp: PcapTimestamp
    /// The captured bytes: the Ethernet frame, cut to the file's snap length.
    public var bytes: [UInt8]
    /// The frame's length on the wire; larger than `bytes.count` if the capture cut it.
    public var originalLength: Int

    public init(timestamp: PcapTimestamp, bytes: [UInt8], originalLength: Int) {
        self.timestamp = timestamp
        self.bytes = bytes
        self.originalLength = originalLength
    }

    /// Whether the capture kept fewer bytes than the frame had.
    public var isCut: Bool { bytes.count < originalLength }
}

/// Reads Ethernet frames from a pcap file (libpcap: pcap_open_offline_with_tstamp_precision, pcap_next_ex).
///
/// Accepts micro- and nanosecond pcap files and pcapng files (libpcap reads both; a pcapng file's first interface
/// decides the link type) and reports timestamps in nanoseconds. Only LINKTYPE_ETHERNET files are
/// accepted. The file is untrusted: a damaged or cut-short record is a `badRecord` error naming the frame, and
/// the frames before it have been returned. Not thread-safe (one reader per thread).
public final class PcapReader {
    /// The file being read.
    public let path: String
    /// The snap length from the file header.
    public let snapLength: Int
    /// How many records `next()` has returned so far.
    public private(set) var framesRead = 0

    private var pcap: OpaquePointer?

    /// Opens `path` and checks its link type.
    /// - Throws: `cannotOpen` (missing, unreadable, not a pcap file, header cut short), `notEthernet`,
    ///   `libraryUnavailable`.
    public init(path: String) throws(PcapError) {
        self.path = path
        try PcapLibrary.load()
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pcap = tapvm_pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO),
                                                                  &errorBuffer) else {
            let reason = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .cannotOpen(path: path, reason: reason)
        }
        let linkType = tapvm_pcap_datalink(pcap)
        guard linkType == DLT_EN10MB else {
            let name = tapvm_pcap_datalink_val_to_name(linkType).map { String(cString: $0) } ?? "unknown"
            tapvm_pcap_close(pcap)
            throw .notEthernet(path: path, linkType: linkType, name: name)
        }
        self.pcap = pcap
        self.snapLength = Int(tapvm_pcap_snapshot(pcap))
    }

    deinit { close() }

    /// The next record, or nil at the end of the file.
    /// - Throws: `badRecord(path, frame, reason)` for a damaged or cut-short record (frame counted from 1),
    ///   `closed` after `close()`.
    public func next() throws(PcapError) -> PcapRecord? {
        guard let pcap else { throw .closed(path: path) }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let frame = framesRead + 1
        switch tapvm_pcap_next_ex(pcap, &header, &data) {
        case 1:
            guard let header else { throw .badRecord(path: path, frame: frame, reason: "no record header") }
            let captured = Int(header.pointee.caplen)
            let bytes = captured == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: captured))
            let seconds = Int64(header.pointee.ts.tv_sec)
            let fraction = Int64(header.pointee.ts.tv_usec)
            guard fraction >= 0, fraction < 1_000_000_000 else {
                throw .badRecord(path: path, frame: frame, reason: "timestamp fraction \(fraction) out of range")
            }
            framesRead = frame
            return PcapRecord(timestamp: PcapTimestamp(seconds: seconds, nanoseconds: UInt32(fraction)),
                              bytes: bytes, originalLength: Int(header.pointee.len))
        case -2:
            return nil
        default:
            throw .badRecord(path: path, frame: frame, reason: String(cString: tapvm_pcap_geterr(pcap)))
        }
    }

    /// Reads the next record without copying it: `body` gets its timestamp, its captured bytes (valid only during
    /// the call) and its original length. Returns false at the end of the file. The replay's fast path.
    /// - Throws: as `next()`.
    public func withNextFrame(_ body: (PcapTimestamp, UnsafeRawBufferPointer, Int) -> Void) throws(PcapError) -> Bool {
        guard let pcap else { throw .closed(path: path) }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let frame = framesRead + 1
        switch tapvm_pcap_next_ex(pcap, &header, &data) {
        case 1:
            guard let header else { throw .badRecord(path: path, frame: frame, reason: "no record header") }
            let fraction = Int64(header.pointee.ts.tv_usec)
            guard fraction >= 0, fraction < 1_000_000_000 else {
                throw .badRecord(path: path, frame: frame, reason: "timestamp fraction \(fraction) out of range")
            }
            framesRead = frame
            let stamp = PcapTimestamp(seconds: Int64(header.pointee.ts.tv_sec), nanoseconds: UInt32(fraction))
            body(stamp, UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : Int(header.pointee.caplen)),
                 Int(header.pointee.len))
            return true
        case -2:
            return false
        default:
            throw .badRecord(path: path, frame: frame, reason: String(cString: tapvm_pcap_geterr(pcap)))
        }
    }

    /// All remaining records.
    public func readAll() throws(PcapError) -> [PcapRecord] {
        var records: [PcapRecord] = []
        while let record = try next() { records.append(record) }
        return records
    }

    /// Closes the file. Idempotent.
    public func close() {
        if let pcap { tapvm_pcap_close(pcap) }
        pcap = nil
    }
}
