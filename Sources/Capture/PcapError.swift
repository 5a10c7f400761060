/// Everything that can go wrong while writing or reading a pcap file.
///
/// One enum for the Capture layer (DESIGN.md, Errors). Cases name the file (and the frame, counted from 1 as
/// Wireshark numbers them); `description` is one line. A capture file is untrusted input: a damaged file is one of
/// these errors, never a crash.
public enum PcapError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be created or opened for writing (`reason` is strerror or libpcap's message).
    case cannotCreate(path: String, reason: String)
    /// The file could not be opened as a capture (missing, unreadable, not pcap, header cut short).
    case cannotOpen(path: String, reason: String)
    /// The capture's link type is not Ethernet (LINKTYPE_ETHERNET = 1); tapvm only replays Ethernet frames.
    /// `linkType` is libpcap's DLT_ value, `name` its libpcap name (pcap_datalink_val_to_name).
    case notEthernet(path: String, linkType: Int32, name: String)
    /// Record `frame` (from 1) is damaged or cut short; the frames before it were read.
    case badRecord(path: String, frame: Int, reason: String)
    /// Writing or flushing the file failed (disk full, I/O error).
    case writeFailed(path: String, reason: String)
    /// The writer or reader was already closed.
    case closed(path: String)
    /// libpcap could not be loaded (it is loaded on first use, not at start-up: `PcapLibrary`); `reason` says
    /// which library or function is missing.
    case libraryUnavailable(reason: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason):
            "cannot create capture file \(path): \(reason); check the directory exists and is writable"
        case let .cannotOpen(path, reason):
            "cannot read capture file \(path): \(reason)"
        case let .notEthernet(path, linkType, name):
            "capture file \(path) has link type \(name) (DLT \(linkType)), not Ethernet; capture on an Ethernet interface"
        case let .badRecord(path, frame, reason):
            "capture file \(path) is damaged at frame \(frame): \(reason); the frames before it are usable"
        case let .writeFailed(path, reason):
            "writing capture file \(path) failed: \(reason)"
        case let .closed(path):
            "capture file \(path) was already closed"
        case let .libraryUnavailable(reason):
            "cannot use capture files: \(reason)"
        }
    }
}
