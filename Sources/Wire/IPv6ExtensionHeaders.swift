/// The type of an option in an IPv6 Hop-by-Hop or Destination Options header. RFC 8200 §4.2; IANA
/// "Destination Options and Hop-by-Hop Options". Open.
public struct IPv6OptionType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// One byte of padding, no length or data. RFC 8200 §4.2.
    public static let pad1 = IPv6OptionType(0)
    /// N bytes of padding. RFC 8200 §4.2.
    public static let padN = IPv6OptionType(1)
    /// Router Alert, a 2-byte value (0 = MLD). RFC 2711 §2.1.
    public static let routerAlert = IPv6OptionType(5)
    /// Jumbo Payload. RFC 2675 §2.
    public static let jumboPayload = IPv6OptionType(0xC2)

    /// The two high bits: what a node that does not know the option must do (0 skip, 1 discard, 2 discard and
    /// send ICMP Parameter Problem, 3 the same unless the destination is multicast). RFC 8200 §4.2.
    public var actionIfUnrecognized: UInt8 { rawValue >> 6 }
    /// The third bit: the option data may change en route. RFC 8200 §4.2.
    public var mayChangeEnRoute: Bool { rawValue & 0x20 != 0 }

    public var description: String {
        switch self {
        case .pad1: "Pad1"
        case .padN: "PadN"
        case .routerAlert: "Router Alert"
        case .jumboPayload: "Jumbo Payload"
        default: "option 0x" + String(rawValue, radix: 16)
        }
    }
}

/// One TLV option of a Hop-by-Hop or Destination Options header (never Pad1 or PadN: those are padding, which
/// parsing drops and emitting adds). RFC 8200 §4.2.
public struct IPv6Option: Equatable, Hashable, Sendable {
    public var type: IPv6OptionType
    /// At most 255 bytes.
    public var data: [UInt8]

    public init(type: IPv6OptionType, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    /// Router Alert with `value` (0: the datagram contains a Multicast Listener Discovery message). RFC 2711 §2.1.
    public static func routerAlert(_ value: UInt16 = 0) -> IPv6Option {
        IPv6Option(type: .routerAlert, data: [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    /// The Router Alert value, or nil if this is not a well-formed Router Alert option.
    public var routerAlertValue: UInt16? {
        guard type == .routerAlert, data.count == 2 else { return nil }
        return UInt16(data[0]) << 8 | UInt16(data[1])
    }
}

/// A view of a Hop-by-Hop Options or Destination Options header (they share one format). RFC 8200 §4.3, §4.6.
///
/// Layout: next header (1), header extension length (1, in 8-byte units not counting the first 8), options.
/// The initializer checks that the whole header fits; `options()` parses (and may throw) separately.
public struct IPv6OptionsHeaderView {
    public static let minimumLength = 8

    /// The bytes from the start of the header (may extend past it).
    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(2, format: "IPv6 options header")
        try bytes.require((Int(bytes[1]) + 1) * 8, format: "IPv6 options header")
        self.bytes = bytes
    }

    public var nextHeader: IPProtocol { IPProtocol(bytes[0]) }
    /// The whole header in bytes: (header extension length + 1) × 8.
    public var headerLength: Int { (Int(bytes[1]) + 1) * 8 }
    /// The option area after the first two bytes.
    public var optionsArea: UnsafeRawBufferPointer { bytes.rebased(2 ..< headerLength) }

    /// The options in order, Pad1 and PadN dropped. Throws `.truncated` for an option running past the header.
    public func options() throws(WireError) -> [IPv6Option] {
        let area = optionsArea
        var options: [IPv6Option] = []
        var index = 0
        while index < area.count {
            let type = IPv6OptionType(area[index])
            if type == .pad1 { index += 1; continue }
            guard index + 2 <= area.count else {
                throw .truncated(format: "IPv6 option \(type)", needed: index + 2, available: area.count)
            }
            let end = index + 2 + Int(area[index + 1])
            guard end <= area.count else {
                throw .truncated(format: "IPv6 option \(type)", needed: end, available: area.count)
            }
            if type != .padN { options.append(IPv6Option(type: type, data: Array(area.rebased(index + 2 ..< end)))) }
            index = end
        }
        return options
    }
}

/// A Hop-by-Hop Options or Destination Options header as a value. RFC 8200 §4.3, §4.6.
///
/// `emit` writes the options in order and pads the header to a multiple of 8 bytes with Pad1 or PadN
/// (RFC 8200 §4.2). MLD messages carry `IPv6OptionsHeader(nextHeader: .icmpv6, options: [.routerAlert(0)])`
/// as their hop-by-hop header (RFC 3810 §5, RFC 2711).
public struct IPv6OptionsHeader: Equatable, Hashable, Sendable {
    public var nextHeader: IPProtocol
    public var options: [IPv6Option]

    public init(nextHeader: IPProtocol, options: [IPv6Option]) {
        self.nextHeader = nextHeader
        self.options = options
    }

    /// Throws what `options()` throws.
    public init(_ view: IPv6OptionsHeaderView) throws(WireError) {
        self.init(nextHeader: view.nextHeader, options: try view.options())
    }

    private var unpaddedLength: Int { options.reduce(2) { $0 + 2 + $1.data.count } }

    /// The header length, a multiple of 8.
    public var encodedLength: Int { (unpaddedLength + 7) / 8 * 8 }

    /// The Router Alert value if the header carries one. RFC 2711.
    public var routerAlert: UInt16? { options.lazy.compactMap(\.routerAlertValue).first }

    /// Writes the header at the start of `buffer`. Throws `.malformed` for Pad1/PadN in `options`, option data
    /// over 255 bytes, or a header over 2048 bytes.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        for option in options {
            guard option.type != .pad1, option.type != .padN else {
                throw .malformed(format: "IPv6 options header", field: "options", detail: "\(option.type) is padding, emit adds it")
            }
            guard option.data.count <= 255 else {
                throw .malformed(format: "IPv6 options header", field: "options", detail: "\(option.type) has \(option.data.count) bytes, at most 255")
            }
        }
        let length = encodedLength
        guard length <= 2048 else {
            throw .malformed(format: "IPv6 options header", field: "headerExtensionLength", detail: "\(length) bytes, at most 2048")
        }
        try buffer.requireCapacity(length, format: "IPv6 options header")
        buffer[0] = nextHeader.rawValue
        buffer[1] = UInt8(length / 8 - 1)
        var offset = 2
        for option in options {
            buffer[offset] = option.type.rawValue
            buffer[offset + 1] = UInt8(option.data.count)
            buffer.storeBytes(option.data, at: offset + 2)
            offset += 2 + option.data.count
        }
        let padding = length - offset
        if padding == 1 {
            buffer[offset] = IPv6OptionType.pad1.rawValue
        } else if padding >= 2 {
            buffer[offset] = IPv6OptionType.padN.rawValue
            buffer[offset + 1] = UInt8(padding - 2)
            for index in offset + 2 ..< length { buffer[index] = 0 }
        }
    }
}

/// A view of an IPv6 Fragment header. RFC 8200 §4.5.
///
/// Layout: next header (1), reserved (1), fragment offset (13 bits, 8-byte units), reserved (2 bits), M (1 bit),
/// identification (4).
public struct IPv6FragmentHeaderView {
    public static let length = 8

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.length, format: "IPv6 fragment header")
        self.bytes = bytes
    }

    public var nextHeader: IPProtocol { IPProtocol(bytes[0]) }
    /// In units of 8 bytes.
    public var fragmentOffset: UInt16 { bytes.bigEndian(UInt16.self, at: 2) >> 3 }
    /// The M flag: more fragments follow.
    public var moreFragments: Bool { bytes[3] & 0x01 != 0 }
    public var identification: UInt32 { bytes.bigEndian(UInt32.self, at: 4) }
    /// An atomic fragment (offset 0, M clear) holds the whole packet. RFC 6946.
    public var isAtomic: Bool { fragmentOffset == 0 && !moreFragments }
}

/// Where the upper layer of an IPv6 packet starts, found by walking its extension headers. RFC 8200 §4.1.
public struct IPv6UpperLayer {
    /// At most this many extension headers are walked; more is malformed (each takes at least 8 bytes anyway).
    public static let maximumExtensionHeaders = 16

    /// The protocol of `payload`: the first next-header value that is not hop-by-hop, routing, fragment or
    /// destination options (possibly `.noNextHeader`). For a non-atomic fragment it is the fragment header's
    /// next header and `payload` is the fragment's data.
    public let nextHeader: IPProtocol
    /// The bytes taken by extension headers before `payload`.
    public let extensionHeadersLength: Int
    /// The upper-layer bytes (or the fragment's data), up to the end of the IPv6 payload.
    public let payload: UnsafeRawBufferPointer
    /// The Hop-by-Hop Options header, if the packet has one.
    public let hopByHopOptions: IPv6OptionsHeaderView?
    /// The Fragment header, if the packet has one.
    public let fragment: IPv6FragmentHeaderView?

    /// Whether `payload` is part of a fragmented packet (a fragment header that is not atomic), which needs
    /// reassembly before the upper layer can be read.
    public var isFragment: Bool { fragment.map { !$0.isAtomic } ?? false }

    /// Walks hop-by-hop (only first, RFC 8200 §4.1), routing, destination options and fragment headers starting
    /// at `payload` whose type is `nextHeader`. Stops after a non-atomic fragment header. Throws `.truncated`
    /// for a header running past the payload and `.malformed` for a hop-by-hop header that is not first, or more
    /// than `maximumExtensionHeaders` headers.
    public init(nextHeader first: IPProtocol, payload bytes: UnsafeRawBufferPointer) throws(WireError) {
        var nextHeader = first
        var offset = 0
        var hopByHop: IPv6OptionsHeaderView?
        var fragment: IPv6FragmentHeaderView?
        var count = 0
        walk: while true {
            switch nextHeader {
            case .hopByHop, .routing, .destinationOptions, .ipv6Fragment:
                count += 1
                guard count <= Self.maximumExtensionHeaders else {
                    throw .malformed(format: "IPv6", field: "extensionHeaders", detail: "more than \(Self.maximumExtensionHeaders)")
                }
                let rest = bytes.rebased(offset ..< bytes.count)
                if nextHeader == .ipv6Fragment {
                    let header = try IPv6FragmentHeaderView(rest)
                    fragment = header
                    nextHeader = header.nextHeader
                    offset += IPv6FragmentHeaderView.length
                    if !header.isAtomic { break walk }
                } else {
                    if nextHeader == .hopByHop, offset != 0 {
                        throw .malformed(format: "IPv6", field: "nextHeader", detail: "hop-by-hop options header at offset \(offset), allowed only first")
                    }
                    // Routing (§4.4) shares the first two bytes of the options headers: next header and length.
                    let header = try IPv6OptionsHeaderView(rest)
                    if nextHeader == .hopByHop { hopByHop = header }
                    nextHeader = header.nextHeader
                    offset += header.headerLength
                }
            default:
                break walk
            }
        }
        self.nextHeader = nextHeader
        self.extensionHeadersLength = offset
        self.payload = bytes.rebased(offset ..< bytes.count)
        self.hopByHopOptions = hopByHop
        self.fragment = fragment
    }
}
