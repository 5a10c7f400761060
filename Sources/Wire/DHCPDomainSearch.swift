/// The Domain Search option (119): domain names in DNS wire format (RFC 1035 §3.1), where a compression pointer
/// (RFC 1035 §4.1.4) is an offset into the option's data after RFC 3396 concatenation. RFC 3397 §2.
public enum DHCPDomainSearch {
    /// The longest name in wire format (RFC 1035 §2.3.4).
    public static let maximumNameLength = 255
    /// The longest label (RFC 1035 §2.3.4).
    public static let maximumLabelLength = 63

    /// The names in `data`, in order, without the trailing dot ("example.com"; the root name is "."), or nil when the
    /// option is malformed: empty, a label or pointer cut short, a label type other than 00 or 11, a name over 255
    /// bytes, or a pointer that does not point strictly before every byte this name has read so far (which rules out
    /// loops, so decoding ends after at most `data.count` jumps). Never traps.
    public static func decode(_ data: [UInt8]) -> [String]? {
        guard !data.isEmpty else { return nil }
        var names: [String] = []
        var start = 0
        while start < data.count {
            guard let (name, next) = decodeName(data, at: start) else { return nil }
            names.append(name)
            start = next
        }
        return names
    }

    /// One name starting at `start`: the name and the offset just past it in the uncompressed stream.
    static func decodeName(_ data: [UInt8], at start: Int) -> (String, Int)? {
        var labels: [String] = []
        var index = start
        var lowest = start          // the lowest offset read for this name; a pointer must go below it
        var resume: Int?            // where the stream continues after the first pointer
        var wireLength = 1          // the final zero byte
        while true {
            guard index < data.count else { return nil }
            let byte = data[index]
            switch byte & 0xC0 {
            case 0x00:
                let length = Int(byte)
                if length == 0 {
                    let name = labels.isEmpty ? "." : labels.joined(separator: ".")
                    return (name, resume ?? index + 1)
                }
                guard index + 1 + length <= data.count else { return nil }
                wireLength += 1 + length
                guard wireLength <= maximumNameLength else { return nil }
                labels.append(String(decoding: data[index + 1 ... index + length], as: UTF8.self))
                index += 1 + length
            case 0xC0:
                guard index + 1 < data.count else { return nil }
                let target = Int(byte & 0x3F) << 8 | Int(data[index + 1])
                guard target < lowest else { return nil }
                if resume == nil { resume = index + 2 }
                lowest = target
                index = target
            default:
                return nil   // 01 and 10 label types (RFC 6891 §5 extended labels) are not allowed here
            }
        }
    }

    /// `names` in wire format without compression. A name with an empty or over-long label, or over 255 bytes
    /// encoded, is left out. "." or "" is the root name.
    public static func encode(_ names: [String]) -> [UInt8] {
        var data: [UInt8] = []
        for name in names {
            let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
            var encoded: [UInt8] = []
            var valid = true
            if !trimmed.isEmpty {
                for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
                    let bytes = Array(label.utf8)
                    guard !bytes.isEmpty, bytes.count <= maximumLabelLength else { valid = false; break }
                    encoded += [UInt8(bytes.count)] + bytes
                }
            }
            encoded.append(0)
            guard valid, encoded.count <= maximumNameLength else { continue }
            data += encoded
        }
        return data
    }
}
