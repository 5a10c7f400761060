/// An IPv6 address, held as two 64-bit halves in host order (`high` is the first 8 wire bytes). RFC 4291 §2.
///
/// Text follows RFC 4291 §2.2 on input (full, `::`-compressed and mixed IPv4 forms, hex case-insensitive; no
/// zone index) and RFC 5952 §4 on output (lowercase, no leading zeros, the longest run of two or more zero
/// fields compressed to `::`, the first of equal runs; IPv4-mapped addresses as `::ffff:a.b.c.d`, §5).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bytes 0 through 7 as a big-endian number (the routing prefix and subnet for a /64).
    public var high: UInt64
    /// Bytes 8 through 15 as a big-endian number (the interface identifier for a /64).
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The address from its eight 16-bit fields, most significant first (`fe80, 0, 0, 0, 0, 0, 0, 1`).
    public init(_ f0: UInt16, _ f1: UInt16, _ f2: UInt16, _ f3: UInt16,
                _ f4: UInt16, _ f5: UInt16, _ f6: UInt16, _ f7: UInt16) {
        high = UInt64(f0) << 48 | UInt64(f1) << 32 | UInt64(f2) << 16 | UInt64(f3)
        low = UInt64(f4) << 48 | UInt64(f5) << 32 | UInt64(f6) << 16 | UInt64(f7)
    }

    /// Reads 16 bytes at `offset`; the caller has checked the length.
    public init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
        high = buffer.bigEndian(UInt64.self, at: offset)
        low = buffer.bigEndian(UInt64.self, at: offset + 8)
    }

    /// Sixteen bytes in wire order, or nil if `bytes` does not hold exactly sixteen.
    public init?(bytes array: some Collection<UInt8>) {
        guard array.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in array.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// Writes the 16 bytes at `offset`.
    public func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBigEndian(high, at: offset)
        buffer.storeBigEndian(low, at: offset + 8)
    }

    /// The sixteen bytes in wire order.
    public var bytes: [UInt8] {
        (0 ..< 16).map { index in
            let half = index < 8 ? high : low
            return UInt8(truncatingIfNeeded: half >> (56 - 8 * UInt64(index % 8)))
        }
    }

    /// The eight 16-bit fields, most significant first. RFC 4291 §2.2.
    public var fields: [UInt16] {
        (0 ..< 8).map { index in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(index % 4)))
        }
    }

    // MARK: Well-known addresses

    /// `::`, the unspecified address. RFC 4291 §2.5.2.
    public static let unspecified = IPv6Address(high: 0, low: 0)
    /// `::1`, the loopback address. RFC 4291 §2.5.3.
    public static let loopback = IPv6Address(high: 0, low: 1)
    /// `ff02::1`, the link-local all-nodes group. RFC 4291 §2.7.1.
    public static let allNodes = IPv6Address(0xFF02, 0, 0, 0, 0, 0, 0, 1)
    /// `ff02::2`, the link-local all-routers group. RFC 4291 §2.7.1.
    public static let allRouters = IPv6Address(0xFF02, 0, 0, 0, 0, 0, 0, 2)
    /// `ff02::16`, where MLDv2 reports go. RFC 3810 §5.2.14.
    public static let allMLDv2Routers = IPv6Address(0xFF02, 0, 0, 0, 0, 0, 0, 0x16)
    /// `ff02::1:2`, where DHCPv6 clients send. RFC 8415 §7.1.
    public static let allDHCPRelayAgentsAndServers = IPv6Address(0xFF02, 0, 0, 0, 0, 0, 1, 2)

    // MARK: Classification

    /// `::`. RFC 4291 §2.5.2.
    public var isUnspecified: Bool { high == 0 && low == 0 }
    /// `::1`. RFC 4291 §2.5.3.
    public var isLoopback: Bool { high == 0 && low == 1 }
    /// In `ff00::/8`. RFC 4291 §2.7.
    public var isMulticast: Bool { high >> 56 == 0xFF }
    /// In `fe80::/10`. RFC 4291 §2.5.6.
    public var isLinkLocal: Bool { high >> 54 == 0xFE80 >> 6 }
    /// In `ff02::1:ff00:0/104`. RFC 4291 §2.7.1.
    public var isSolicitedNodeMulticast: Bool {
        high == 0xFF02_0000_0000_0000 && low >> 24 == 0x0000_0001_FF
    }
    /// The multicast scope (the low 4 bits of the second byte), or nil for a unicast address. RFC 4291 §2.7.
    public var multicastScope: UInt8? { isMulticast ? UInt8(truncatingIfNeeded: high >> 48) & 0x0F : nil }

    // MARK: Derived addresses

    /// The solicited-node multicast group of this address: `ff02::1:ff` and its low 24 bits. RFC 4291 §2.7.1.
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | low & 0x00FF_FFFF)
    }

    /// The Ethernet destination of this multicast address: 33:33 and its low 32 bits. RFC 2464 §7.
    /// Meaningful only for multicast addresses (the caller's choice; no check).
    public var multicastMAC: MACAddress {
        MACAddress(0x33, 0x33, UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
                   UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low))
    }

    /// The modified EUI-64 interface identifier of an Ethernet MAC: the U/L bit flipped and ff:fe inserted in
    /// the middle. RFC 4291 Appendix A, RFC 2464 §4.
    public static func interfaceIdentifier(modifiedEUI64 mac: MACAddress) -> UInt64 {
        let b = mac.array
        return UInt64(b[0] ^ 0x02) << 56 | UInt64(b[1]) << 48 | UInt64(b[2]) << 40 | 0xFF << 32
            | 0xFE << 24 | UInt64(b[3]) << 16 | UInt64(b[4]) << 8 | UInt64(b[5])
    }

    /// The first 64 bits of `prefix` followed by a 64-bit interface identifier. RFC 4291 §2.5.1, RFC 4862 §5.5.3.
    public init(prefix: IPv6Address, interfaceIdentifier: UInt64) {
        self.init(high: prefix.high, low: interfaceIdentifier)
    }

    /// `fe80::/64` with `interfaceIdentifier`. RFC 4291 §2.5.6, RFC 4862 §5.3.
    public static func linkLocal(interfaceIdentifier: UInt64) -> IPv6Address {
        IPv6Address(high: 0xFE80_0000_0000_0000, low: interfaceIdentifier)
    }

    /// The address with all bits after the first `prefixLength` cleared. `prefixLength` must be 0 through 128.
    public func masked(prefixLength: Int) -> IPv6Address {
        precondition((0 ... 128).contains(prefixLength), "IPv6 prefix length out of range")
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~UInt64(0) << (64 - bits) }
        return IPv6Address(high: high & mask(prefixLength), low: low & mask(prefixLength - 64))
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { (a.high, a.low) < (b.high, b.low) }

    // MARK: Text

    /// Parses RFC 4291 §2.2 text: eight hex fields of 1 to 4 digits, at most one `::` standing for one or more
    /// zero fields, and optionally a dotted-quad IPv4 address as the last 32 bits. Nil for anything else
    /// (zone indices and prefixes included).
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count <= 45 else { return nil }
        var compression: Int?
        var index = 0
        while index + 1 < utf8.count {
            if utf8[index] == UInt8(ascii: ":") && utf8[index + 1] == UInt8(ascii: ":") {
                guard compression == nil else { return nil }
                compression = index
                index += 2
            } else {
                index += 1
            }
        }
        let fields: [UInt16]
        if let at = compression {
            let tail = Array(utf8[(at + 2)...])
            guard let head = Self.parseFields(Array(utf8[..<at]), ipv4Allowed: false),
                  let rest = Self.parseFields(tail, ipv4Allowed: true),
                  head.count + rest.count <= 7 else { return nil }
            fields = head + [UInt16](repeating: 0, count: 8 - head.count - rest.count) + rest
        } else {
            guard let all = Self.parseFields(utf8, ipv4Allowed: true), all.count == 8 else { return nil }
            fields = all
        }
        self.init(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7])
    }

    /// Colon-separated fields; an empty input is no fields. Nil on an empty field or a bad digit.
    private static func parseFields(_ text: [UInt8], ipv4Allowed: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var fields: [UInt16] = []
        for (position, part) in parts.enumerated() {
            if ipv4Allowed, position == parts.count - 1, part.contains(UInt8(ascii: ".")) {
                guard let ipv4 = IPv4Address(String(decoding: part, as: UTF8.self)) else { return nil }
                fields.append(UInt16(truncatingIfNeeded: ipv4.rawValue >> 16))
                fields.append(UInt16(truncatingIfNeeded: ipv4.rawValue))
                continue
            }
            guard (1 ... 4).contains(part.count) else { return nil }
            var value: UInt16 = 0
            for character in part {
                guard let digit = hexDigitValue(character) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            fields.append(value)
        }
        return fields
    }

    private static func hexDigitValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 5952 §4 canonical text (and §5 for IPv4-mapped addresses).
    public var description: String {
        let fields = self.fields
        if high == 0, low >> 32 == 0xFFFF {
            return "::ffff:" + IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)).description
        }
        // The longest run of at least two zero fields; the first one wins a tie (RFC 5952 §4.2.3).
        var bestStart = -1, bestLength = 1
        var runStart = -1
        for index in 0 ... 8 {
            if index < 8, fields[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            fields[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0 ..< 8) }
        return hex(0 ..< bestStart) + "::" + hex(bestStart + bestLength ..< 8)
    }
}

/// An IPv6 prefix: an address with all bits after `length` cleared, and the length. RFC 4291 §2.3.
public struct IPv6Prefix: Hashable, Sendable, CustomStringConvertible {
    /// The prefix bits; every bit after `length` is zero.
    public let address: IPv6Address
    /// 0 through 128.
    public let length: Int

    /// The prefix of `length` bits of `address` (the other bits are cleared). `length` must be 0 through 128.
    public init(address: IPv6Address, length: Int) {
        self.address = address.masked(prefixLength: length)
        self.length = length
    }

    /// Parses `2001:db8::/64`; nil for anything else (the address bits after the length may be set, they are
    /// cleared, as RFC 4291 §2.3 allows on input).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv6Address(parts[0]),
              parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let length = Int(parts[1]), length <= 128 else { return nil }
        self.init(address: address, length: length)
    }

    /// Whether the first `length` bits of `candidate` equal the prefix.
    public func contains(_ candidate: IPv6Address) -> Bool {
        candidate.masked(prefixLength: length) == address
    }

    /// `fe80::/64`, the link-local prefix SLAAC uses. RFC 4291 §2.5.6.
    public static let linkLocal = IPv6Prefix(address: IPv6Address(0xFE80, 0, 0, 0, 0, 0, 0, 0), length: 64)

    public var description: String { "\(address)/\(length)" }
}
