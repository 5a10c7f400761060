import Synchronization

/// A capture that rotates: `FILE`, then `FILE.1`, `FILE.2`, ... each at most `limitBytes` long, as
/// `tcpdump -C` does. Every file is a complete pcap file (own header, mode 0600) that tools open on its own.
///
/// Thread-safe (one lock): the device thread and the vCPU thread may write at once. Without a limit it is one
/// `PcapWriter`. A record is never split: a file is closed before the record that would take it past the limit
/// (a record longer than the limit alone still goes into a file of its own).
public final class RotatingPcapWriter: Sendable {
    /// The first file; later ones are `path.1`, `path.2`, ...
    public let path: String
    /// Bytes per file at most (pcap header included), or nil for one file.
    public let limitBytes: Int?
    public let snapLength: Int
    public let nanosecond: Bool

    private struct State: @unchecked Sendable {
        var writer: PcapWriter?
        var bytesInFile = 0
        var files: [String] = []
        var frames = 0
    }

    private let state: Mutex<State>

    /// The size of the pcap file header (libpcap's `struct pcap_file_header`).
    public static let fileHeaderLength = 24
    /// The size of a record header (`struct pcap_sf_pkthdr`).
    public static let recordHeaderLength = 16

    /// Creates `path` (0600, truncated). `limitBytes` below one header and one record header is raised to that.
    /// - Throws: `cannotCreate` naming the file.
    public init(path: String, limitBytes: Int? = nil, snapLength: Int = 262_144, nanosecond: Bool = true) throws(PcapError) {
        self.path = path
        self.limitBytes = limitBytes.map { max($0, Self.fileHeaderLength + Self.recordHeaderLength + 1) }
        self.snapLength = snapLength
        self.nanosecond = nanosecond
        let first = try PcapWriter(path: path, snapLength: snapLength, nanosecond: nanosecond)
        state = Mutex(State(writer: first, bytesInFile: Self.fileHeaderLength, files: [path]))
    }

    deinit { try? close() }

    /// The files written so far, in order.
    public var files: [String] { state.withLock { $0.files } }

    /// Frames written so far, over all files.
    public var framesWritten: Int { state.withLock { $0.frames } }

    /// Appends one frame, opening the next file first when this record would pass the limit.
    /// - Throws: `cannotCreate` for the next file, `closed` after `close()`, `writeFailed` closing a full file.
    public func write(frame: UnsafeRawBufferPointer, timestamp: PcapTimestamp) throws(PcapError) {
        let recordLength = Self.recordHeaderLength + min(frame.count, snapLength)
        try state.withLock { (state) throws(PcapError) in
            guard let writer = state.writer else { throw .closed(path: path) }
            var current = writer
            if let limitBytes, state.bytesInFile + recordLength > limitBytes, state.bytesInFile > Self.fileHeaderLength {
                try current.close()
                let next = "\(path).\(state.files.count)"
                state.writer = nil
                current = try PcapWriter(path: next, snapLength: snapLength, nanosecond: nanosecond)
                state.writer = current
                state.files.append(next)
                state.bytesInFile = Self.fileHeaderLength
            }
            try current.write(frame: frame, timestamp: timestamp)
            state.bytesInFile += recordLength
            state.frames += 1
        }
    }

    /// Writes buffered records of the current file.
    public func flush() throws(PcapError) {
        try state.withLock { (state) throws(PcapError) in
            guard let writer = state.writer else { throw .closed(path: path) }
            try writer.flush()
        }
    }

    /// Flushes and closes the current file. Idempotent.
    public func close() throws(PcapError) {
        try state.withLock { (state) throws(PcapError) in
            guard let writer = state.writer else { return }
            state.writer = nil
            try writer.close()
        }
    }
}
