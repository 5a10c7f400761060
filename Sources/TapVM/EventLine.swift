import Foundation

/// A JSON value with ordered object keys, so that `--json` lines keep a stable, readable key order
/// (`event` first).
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.encoded == b.encoded }

    /// The compact JSON text (RFC 8259).
    public var encoded: String {
        switch self {
        case let .string(text): return Self.quote(text)
        case let .number(value):
            guard value.isFinite else { return "null" }
            return String(format: "%.3f", value)
        case let .integer(value): return String(value)
        case let .bool(value): return value ? "true" : "false"
        case .null: return "null"
        case let .array(values): return "[" + values.map(\.encoded).joined(separator: ",") + "]"
        case let .object(pairs): return "{" + pairs.map { Self.quote($0.0) + ":" + $0.1.encoded }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// One line of output: a JSON object with an `event` key for `--json`, and a short human sentence otherwise.
public struct EventLine: Sendable {
    public var event: String
    public var fields: [(String, JSONValue)]
    public var human: String

    public init(_ event: String, _ fields: [(String, JSONValue)], human: String) {
        self.event = event
        self.fields = fields
        self.human = human
    }

    public var json: String { JSONValue.object([("event", .string(event))] + fields).encoded }
}

/// Where event lines go: stdout, one per line, written at once (scripts read them while tapvm runs).
public final class EventPrinter: @unchecked Sendable {
    public let json: Bool
    private let lock = NSLock()

    public init(json: Bool) { self.json = json }

    public func print(_ line: EventLine) {
        write(json ? line.json : line.human, to: STDOUT_FILENO)
    }

    /// A progress or diagnostic note: stderr in human mode, nothing in JSON mode (stdout stays parseable).
    public func note(_ text: String) {
        guard !json else { return }
        write(text, to: STDERR_FILENO)
    }

    /// One whole line with write(2). A reader that went away (EPIPE; tapvm ignores SIGPIPE so that it still
    /// cleans up) loses the line, nothing else.
    private func write(_ text: String, to fd: Int32) {
        lock.lock(); defer { lock.unlock() }
        var bytes = Array((text + "\n").utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
