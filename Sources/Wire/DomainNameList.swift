// Domain names as sequences of RFC 1035 §3.1 labels, without compression, as DNSSL (RFC 8106 §5.2) and the
// DHCPv6 Domain Search List (RFC 8415 §10, RFC 3646 §4) carry them.

/// Encodes and decodes lists of uncompressed domain names. Names are dotted text without a trailing dot
/// (`example.com`); a trailing dot on input is accepted and ignored.
enum DomainNameList {
    /// The encoded length of `names`: each label with its length byte, plus the zero root label.
    static func encodedLength(_ names: [String]) -> Int {
        names.reduce(0) { $0 + trimmed($1).utf8.count + 2 }
    }

    private static func trimmed(_ name: String) -> Substring {
        name.hasSuffix(".") ? name.dropLast() : Substring(name)
    }

    /// The wire form of `names`. Throws `.malformed` for an empty name or label, a label over 63 bytes or a name
    /// over 255 bytes (RFC 1035 §2.3.4).
    static func encode(_ names: [String], format: String) throws(WireError) -> [UInt8] {
        var bytes: [UInt8] = []
        for name in names {
            let text = trimmed(name)
            guard !text.isEmpty, text.utf8.count + 2 <= 255 else {
                throw .malformed(format: format, field: "domainName", detail: "\"\(name)\" is empty or over 255 bytes")
            }
            for label in text.split(separator: ".", omittingEmptySubsequences: false) {
                guard (1 ... 63).contains(label.utf8.count) else {
                    throw .malformed(format: format, field: "domainName", detail: "\"\(name)\" has a label of \(label.utf8.count) bytes, need 1 through 63")
                }
                bytes.append(UInt8(label.utf8.count))
                bytes += label.utf8
            }
            bytes.append(0)
        }
        return bytes
    }

    /// The names in `area`. Zero bytes between names (the padding of RFC 8106 §5.2) are skipped. Throws
    /// `.malformed` for a compression pointer or reserved label type, a name that runs past the area or over
    /// 255 bytes, or a label holding a dot or invalid UTF-8 (which dotted text could not carry back).
    static func decode(_ area: UnsafeRawBufferPointer, format: String) throws(WireError) -> [String] {
        var names: [String] = []
        var index = 0
        while index < area.count {
            if area[index] == 0 { index += 1; continue }
            var labels: [String] = []
            let start = index
            while true {
                guard index < area.count else {
                    throw .malformed(format: format, field: "domainName", detail: "name at \(start) runs past the end")
                }
                let length = Int(area[index])
                if length == 0 { index += 1; break }
                guard length <= 63 else {
                    throw .malformed(format: format, field: "domainName", detail: "label length byte 0x\(String(length, radix: 16)) at \(index) (compression is not allowed)")
                }
                guard index + 1 + length <= area.count else {
                    throw .malformed(format: format, field: "domainName", detail: "label at \(index) runs past the end")
                }
                let label = area.rebased(index + 1 ..< index + 1 + length)
                // A dot inside a label or invalid UTF-8 could not be written back as the same dotted text.
                guard !label.contains(UInt8(ascii: ".")), let text = String(validating: label, as: UTF8.self) else {
                    throw .malformed(format: format, field: "domainName", detail: "label at \(index) holds a dot or invalid UTF-8")
                }
                labels.append(text)
                index += 1 + length
                guard index - start <= 255 else {
                    throw .malformed(format: format, field: "domainName", detail: "name at \(start) over 255 bytes")
                }
            }
            names.append(labels.joined(separator: "."))
        }
        return names
    }
}

/// Runs `body` over the bytes of `array` and passes its typed error through.
func parsing<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WireError) -> T) throws(WireError) -> T {
    let result: Result<T, WireError> = array.withUnsafeBytes { bytes in
        do throws(WireError) { return .success(try body(bytes)) } catch { return .failure(error) }
    }
    return try result.get()
}
