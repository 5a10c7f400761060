// Capture: pcap files through libpcap, so that Wireshark and tcpdump open what tapvm writes, and replay reads
// what they wrote. PcapWriter appends Ethernet frames (from the device and guest threads at once); PcapReader
// reads them back, checking every record.
#if canImport(Glibc)
import Glibc
#endif
import CPcap
import Synchronization

/// Writes Ethernet frames to a pcap file (LINKTYPE_ETHERNET) with libpcap.
///
/// The file is created (or truncated) with mode 0600: captures hold other people's traffic. Thread-safe: every
/// call takes one lock, so device and guest threads may capture into the same file. Records are buffered by
/// stdio; call `flush()` to make them visible to a concurrent reader, and `close()` at the end (also done on
/// deinit, without error reporting).
public final class PcapWriter: Sendable {
    /// The file being written.
    public let path: String
    /// Frames longer than this are cut to it in the file (the record keeps the original length).
    public let snapLength: Int
    /// Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds (0xa1b2c3d4).
    public let nanosecond: Bool

    /// libpcap handles; only touched under the lock.
    private struct Handles: @unchecked Sendable {
        var pcap: OpaquePointer?
        var dumper: OpaquePointer?
    }

    private let handles: Mutex<Handles>

    /// Creates `path` (mode 0600, truncated if it exists) and writes the pcap file header.
    /// Uses pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snapLength, precision) and pcap_dump_fopen.
    /// - Throws: `cannotCreate` naming the file, `libraryUnavailable`.
    public init(path: String, snapLength: Int = 262_144, nanosecond: Bool = false) throws(PcapError) {
        precondition(snapLength > 0 && snapLength <= Int(Int32.max), "snapLength out of range")
        try PcapLibrary.load()
        self.path = path
        self.snapLength = snapLength
        self.nanosecond = nanosecond
        let precision = UInt32(nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO)
        guard let pcap = tapvm_pcap_open_dead_with_tstamp_precision(DLT_EN10MB, Int32(snapLength), precision) else {
            throw .cannotCreate(path: path, reason: "pcap_open_dead failed")
        }
        // open(2) ourselves so the file is born 0600, whatever the umask; fchmod covers an existing file.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            tapvm_pcap_close(pcap)
            throw .cannotCreate(path: path, reason: reason)
        }
        guard fchmod(fd, 0o600) == 0, let file = fdopen(fd, "wb") else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            tapvm_pcap_close(pcap)
            throw .cannotCreate(path: path, reason: reason)
        }
        guard let dumper = tapvm_pcap_dump_fopen(pcap, file) else {
            let reason = String(cString: tapvm_pcap_geterr(pcap))
            fclose(file)
            tapvm_pcap_close(pcap)
            throw .cannotCreate(path: path, reason: reason)
        }
        handles = Mutex(Handles(pcap: pcap, dumper: dumper))
    }

    deinit { try? close() }

    /// Appends one Ethernet frame (without any virtio_net_hdr) with its capture time.
    ///
    /// The record holds at most `snapLength` bytes and the frame's full length as its original length.
    /// - Throws: `closed` after `close()`. Disk errors surface on `flush()`/`close()` (stdio buffering).
    public func write(frame: UnsafeRawBufferPointer, timestamp: PcapTimestamp) throws(PcapError) {
        let captured = min(frame.count, snapLength)
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(timestamp.seconds)
        header.ts.tv_usec = Int(nanosecond ? timestamp.nanoseconds : timestamp.nanoseconds / 1000)
        header.caplen = UInt32(captured)
        header.len = UInt32(clamping: frame.count)
        let path = self.path
        try handles.withLock { (handles) throws(PcapError) in
            guard let dumper = handles.dumper else { throw .closed(path: path) }
            // pcap_dump's first argument is the dumper passed as u_char *; it only reads `data`.
            tapvm_pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header,
                      frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Writes buffered records to the file (pcap_dump_flush).
    /// - Throws: `writeFailed` (for example ENOSPC), `closed` after `close()`.
    public func flush() throws(PcapError) {
        let path = self.path
        try handles.withLock { (handles) throws(PcapError) in
            guard let dumper = handles.dumper else { throw .closed(path: path) }
            if tapvm_pcap_dump_flush(dumper) != 0 {
                throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Flushes and closes the file. Idempotent: a second call does nothing.
    /// - Throws: `writeFailed` if the final flush failed (the file is closed anyway).
    public func close() throws(PcapError) {
        let path = self.path
        try handles.withLock { (handles) throws(PcapError) in
            guard let dumper = handles.dumper else { return }
            let flushed = tapvm_pcap_dump_flush(dumper) == 0
            let reason = flushed ? "" : String(cString: strerror(errno))
            tapvm_pcap_dump_close(dumper)
            if let pcap = handles.pcap { tapvm_pcap_close(pcap) }
            handles = Handles(pcap: nil, dumper: nil)
            if !flushed { throw .writeFailed(path: path, reason: reason) }
        }
    }
}
