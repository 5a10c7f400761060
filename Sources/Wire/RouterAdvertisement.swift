/// A view of a Router Advertisement (a whole ICMPv6 message). RFC 4861 §4.2.
///
/// Layout: type 134 (1), code (1), checksum (2), cur hop limit (1), M|O|reserved (1), router lifetime (2),
/// reachable time (4), retrans timer (4), options. The initializer checks the type and the 16 bytes;
/// `options()` parses separately. Validity checks of §6.1.2 (link-local source, hop limit 255, code 0,
/// checksum) are the receiver's.
public struct RouterAdvertisementPacket {
    public static let fixedLength = 16

    public let bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.requireICMPv6(.routerAdvertisement, minimumLength: Self.fixedLength, format: "router advertisement")
        self.bytes = bytes
    }

    public var code: UInt8 { bytes[1] }
    public var checksum: UInt16 { bytes.bigEndian(UInt16.self, at: 2) }
    /// The hop limit hosts should use; 0 = unspecified.
    public var currentHopLimit: UInt8 { bytes[4] }
    /// M: addresses are available via DHCPv6 (RFC 8415).
    public var managedAddressConfiguration: Bool { bytes[5] & 0x80 != 0 }
    /// O: other configuration is available via DHCPv6 (RFC 8415 §18.2.6, information-request).
    public var otherConfiguration: Bool { bytes[5] & 0x40 != 0 }
    /// Seconds this router may serve as default router; 0 = not a default router.
    public var routerLifetime: UInt16 { bytes.bigEndian(UInt16.self, at: 6) }
    /// Milliseconds; 0 = unspecified.
    public var reachableTime: UInt32 { bytes.bigEndian(UInt32.self, at: 8) }
    /// Milliseconds between retransmitted Neighbor Solicitations; 0 = unspecified.
    public var retransTimer: UInt32 { bytes.bigEndian(UInt32.self, at: 12) }
    public var optionsArea: UnsafeRawBufferPointer { bytes.rebased(Self.fixedLength ..< bytes.count) }
    /// Throws for a malformed option (RFC 4861 §4.6).
    public func options() throws(WireError) -> [NDPOption] { try NDPOption.parse(optionsArea) }
}

/// A Router Advertisement as a value. RFC 4861 §4.2. Code 0; the reserved flag bits are written as zero.
public struct RouterAdvertisement: Equatable, Hashable, Sendable {
    public var currentHopLimit: UInt8
    /// M flag.
    public var managedAddressConfiguration: Bool
    /// O flag.
    public var otherConfiguration: Bool
    /// Seconds.
    public var routerLifetime: UInt16
    /// Milliseconds.
    public var reachableTime: UInt32
    /// Milliseconds.
    public var retransTimer: UInt32
    public var options: [NDPOption]

    public init(currentHopLimit: UInt8 = 64, managedAddressConfiguration: Bool = false, otherConfiguration: Bool = false,
                routerLifetime: UInt16 = 1800, reachableTime: UInt32 = 0, retransTimer: UInt32 = 0,
                options: [NDPOption] = []) {
        self.currentHopLimit = currentHopLimit
        self.managedAddressConfiguration = managedAddressConfiguration
        self.otherConfiguration = otherConfiguration
        self.routerLifetime = routerLifetime
        self.reachableTime = reachableTime
        self.retransTimer = retransTimer
        self.options = options
    }

    public init(_ view: RouterAdvertisementPacket) throws(WireError) {
        self.init(currentHopLimit: view.currentHopLimit, managedAddressConfiguration: view.managedAddressConfiguration,
                  otherConfiguration: view.otherConfiguration, routerLifetime: view.routerLifetime,
                  reachableTime: view.reachableTime, retransTimer: view.retransTimer, options: try view.options())
    }

    public var encodedLength: Int { RouterAdvertisementPacket.fixedLength + NDPOption.encodedLength(options) }

    /// Writes the message with its checksum over the pseudo-header of `source` → `destination`. RFC 4443 §2.3.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "router advertisement")
        buffer[0] = ICMPv6Type.routerAdvertisement.rawValue
        buffer[1] = 0
        buffer[4] = currentHopLimit
        buffer[5] = (managedAddressConfiguration ? 0x80 : 0) | (otherConfiguration ? 0x40 : 0)
        buffer.storeBigEndian(routerLifetime, at: 6)
        buffer.storeBigEndian(reachableTime, at: 8)
        buffer.storeBigEndian(retransTimer, at: 12)
        _ = try NDPOption.emit(options, into: buffer, at: RouterAdvertisementPacket.fixedLength)
        ICMPv6Packet.fillChecksum(message: buffer, length: encodedLength, source: source, destination: destination)
    }
}
