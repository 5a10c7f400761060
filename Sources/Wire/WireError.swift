/// Why bytes could not be read as a given format. Network input is untrusted: every view initializer checks the
/// lengths its accessors rely on and throws one of these instead of trapping.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the format needs: `format` wanted `needed` bytes and got `available`.
    case truncated(format: String, needed: Int, available: Int)
    /// A field holds a value the format forbids (for example an IPv4 IHL below 5).
    case malformed(format: String, field: String, detail: String)
    /// The destination buffer of an `emit(into:)` is too small.
    case bufferTooSmall(format: String, needed: Int, available: Int)

    public var description: String {
        switch self {
        case let .truncated(format, needed, available):
            "\(format): truncated, needs \(needed) bytes, has \(available)"
        case let .malformed(format, field, detail):
            "\(format): malformed \(field): \(detail)"
        case let .bufferTooSmall(format, needed, available):
            "\(format): output buffer too small, needs \(needed) bytes, has \(available)"
        }
    }
}
