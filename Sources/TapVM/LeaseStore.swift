import Foundation
import Glibc
import Wire

/// What can go wrong with a lease file. Each reads as one line.
public enum LeaseFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file exists but cannot be used: it is ignored and the client starts afresh in INIT.
    case corrupt(path: String, reason: String)
    /// A system call failed (`operation` names it and the path).
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .corrupt(path, reason): "lease file \(path) is unusable (\(reason)): ignored, starting afresh"
        case let .system(operation, code): "\(operation): \(String(cString: strerror(code)))"
        }
    }
}

/// The lease files of a state directory (`--state-dir`, default /var/lib/tapvm): one JSON file per identity,
/// `<key>.lease`, where the key is the MAC (`02-00-00-00-00-10`) or, for a client identifier of the user's choice,
/// `id-<hex>` (a server keys its lease by option 61 when there is one, RFC 2131 §4.2); an identifier longer than
/// `longIdentifier` bytes, whose hex would pass NAME_MAX (255 bytes), is keyed `id-h<FNV-1a 64 hex>` instead and
/// the full identifier is only inside the file (a file whose identifier differs is not that identity's).
///
/// Writes are atomic, as dhcpcd's and systemd-networkd's are: a temporary file in the same directory (mode 0600),
/// written, fsync'd, renamed over the old one, and the directory fsync'd, so a crash leaves the old lease or the
/// new one, never half of either.
public struct LeaseStore: Sendable {
    public static let defaultDirectory = "/var/lib/tapvm"
    public let directory: String

    public init(directory: String = Self.defaultDirectory) {
        self.directory = directory
    }

    /// The longest client identifier whose hex is the file name key.
    public static let longIdentifier = 64
    /// The largest lease file read.
    public static let maximumFileSize = 64 * 1024

    /// The file name key of an identity.
    public static func key(mac: MACAddress, clientIdentifier: [UInt8]? = nil) -> String {
        if let clientIdentifier {
            guard clientIdentifier.count > longIdentifier else { return "id-" + LeaseRecord.hex(clientIdentifier) }
            // FNV-1a, 64 bits: stable across runs and builds (unlike Hasher).
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in clientIdentifier { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            return "id-h" + String(format: "%016llx", hash)
        }
        return mac.array.map { String(format: "%02x", $0) }.joined(separator: "-")
    }

    public func path(mac: MACAddress, clientIdentifier: [UInt8]? = nil) -> String {
        directory + "/" + Self.key(mac: mac, clientIdentifier: clientIdentifier) + ".lease"
    }

    /// Writes `record` atomically (see the type's comment), creating the directory (0700) if needed.
    public func write(_ record: LeaseRecord) throws(LeaseFileError) {
        try createDirectory()
        let target = path(mac: record.mac, clientIdentifier: record.clientIdentifier)
        let temporary = target + ".tmp.\(getpid()).\(UInt32.random(in: .min ... .max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(operation: "create \(temporary)", errno: errno) }
        var bytes = Array((record.json.encoded + "\n").utf8)[...]
        var failure: LeaseFileError?
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { failure = .system(operation: "write \(temporary)", errno: errno); break }
            bytes = bytes.dropFirst(written)
        }
        if failure == nil, fsync(fd) != 0 { failure = .system(operation: "fsync \(temporary)", errno: errno) }
        close(fd)
        if failure == nil, rename(temporary, target) != 0 { failure = .system(operation: "rename to \(target)", errno: errno) }
        if let failure {
            unlink(temporary)
            throw failure
        }
        syncDirectory()
    }

    /// The record of an identity; nil when it has none. A file that cannot be read or parsed throws `.corrupt`.
    public func read(mac: MACAddress, clientIdentifier: [UInt8]? = nil) throws(LeaseFileError) -> LeaseRecord? {
        guard let record = try read(path: path(mac: mac, clientIdentifier: clientIdentifier)) else { return nil }
        // A hashed key may collide: the file is that identity's only if it holds the same identifier.
        if let clientIdentifier, record.clientIdentifier != clientIdentifier { return nil }
        return record
    }

    /// The record in `path`; nil when the file does not exist. Only a regular file of at most 64 KiB is read:
    /// it is opened non-blocking (a FIFO there must not hang the run) and checked with fstat before any read.
    public func read(path: String) throws(LeaseFileError) -> LeaseRecord? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .corrupt(path: path, reason: "cannot be opened: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .corrupt(path: path, reason: "cannot be read") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .corrupt(path: path, reason: "not a regular file") }
        guard info.st_size <= Self.maximumFileSize else { throw .corrupt(path: path, reason: "larger than 64 KiB") }
        var bytes = [UInt8](repeating: 0, count: Self.maximumFileSize + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .corrupt(path: path, reason: "cannot be read") }
            if count == 0 { break }
            filled += count
        }
        guard filled <= Self.maximumFileSize else { throw .corrupt(path: path, reason: "larger than 64 KiB") }
        return try LeaseRecord(json: Data(bytes[..<filled]), path: path)
    }

    /// Deletes an identity's lease file (after a RELEASE). A missing file is fine.
    public func remove(mac: MACAddress, clientIdentifier: [UInt8]? = nil) throws(LeaseFileError) {
        let target = path(mac: mac, clientIdentifier: clientIdentifier)
        guard unlink(target) == 0 || errno == ENOENT else { throw .system(operation: "delete \(target)", errno: errno) }
        syncDirectory()
    }

    /// Every `*.lease` file in the directory, sorted by name, each read or with why it could not be.
    public func all() -> [(path: String, record: Result<LeaseRecord, LeaseFileError>)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".lease") }.sorted().compactMap { name in
            let path = directory + "/" + name
            do throws(LeaseFileError) {
                guard let record = try read(path: path) else { return nil }
                return (path, .success(record))
            } catch {
                return (path, .failure(error))
            }
        }
    }

    private func createDirectory() throws(LeaseFileError) {
        var info = stat()
        if stat(directory, &info) == 0 { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .system(operation: "create directory \(directory)", errno: errno == 0 ? EIO : errno)
        }
    }

    /// fsync of the directory, so the rename itself is durable. Best effort.
    private func syncDirectory() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
