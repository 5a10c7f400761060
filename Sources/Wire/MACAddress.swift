/// An IEEE 802 48-bit MAC address, stored in its 6 wire bytes.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        bytes = (b0, b1, b2, b3, b4, b5)
    }

    /// Reads 6 bytes at `offset`; the caller has checked the length.
    public init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + 6 <= buffer.count, "read beyond the checked length")
        self.init(buffer[offset], buffer[offset + 1], buffer[offset + 2],
                  buffer[offset + 3], buffer[offset + 4], buffer[offset + 5])
    }

    /// Six bytes, or nil if `bytes` does not hold exactly six.
    public init?(bytes array: some Collection<UInt8>) {
        guard array.count == 6 else { return nil }
        let a = Array(array)
        self.init(a[0], a[1], a[2], a[3], a[4], a[5])
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-`), case-insensitive.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var values: [UInt8] = []
        for part in parts {
            guard part.count == 2, let value = UInt8(part, radix: 16) else { return nil }
            values.append(value)
        }
        self.init(bytes: values)
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    /// The six bytes as an array.
    public var array: [UInt8] { [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] }

    /// The I/G bit: group (multicast or broadcast) address. IEEE 802-2014 §8.2.
    public var isMulticast: Bool { bytes.0 & 0x01 != 0 }
    public var isBroadcast: Bool { self == .broadcast }
    /// The U/L bit: locally administered. IEEE 802-2014 §8.2.
    public var isLocallyAdministered: Bool { bytes.0 & 0x02 != 0 }

    /// Writes the 6 bytes at `offset`.
    public func store(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + 6 <= buffer.count, "write beyond the checked length")
        buffer[offset] = bytes.0; buffer[offset + 1] = bytes.1; buffer[offset + 2] = bytes.2
        buffer[offset + 3] = bytes.3; buffer[offset + 4] = bytes.4; buffer[offset + 5] = bytes.5
    }

    /// Compares the six bytes in place (no array: this runs for every received frame).
    public static func == (a: MACAddress, b: MACAddress) -> Bool { a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0); hasher.combine(bytes.1); hasher.combine(bytes.2)
        hasher.combine(bytes.3); hasher.combine(bytes.4); hasher.combine(bytes.5)
    }
    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.array.lexicographicallyPrecedes(b.array) }

    public var description: String {
        array.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}
