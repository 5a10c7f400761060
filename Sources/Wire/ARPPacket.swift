/// The operation code of an ARP packet. RFC 826 ("ar$op"); RFC 5494 for the registry. Open.
public struct ARPOperation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let request = ARPOperation(1)
    public static let reply = ARPOperation(2)

    public var description: String {
        switch self {
        case .request: "request"
        case .reply: "reply"
        default: "op \(rawValue)"
        }
    }
}

/// A view of an ARP packet for Ethernet hardware and IPv4 protocol addresses. RFC 826.
///
/// Layout: hardware type (2) = 1, protocol type (2) = 0x0800, hardware length (1) = 6, protocol length (1) = 4,
/// operation (2), sender MAC (6), sender IPv4 (4), target MAC (6), target IPv4 (4): 28 bytes. Trailing bytes
/// (Ethernet padding) are ignored.
public struct ARPPacket {
    /// The length of an Ethernet/IPv4 ARP packet.
    public static let length = 28
    /// ARP hardware type for Ethernet (RFC 826, "ares_hrd$Ethernet").
    public static let hardwareTypeEthernet: UInt16 = 1

    public let bytes: UnsafeRawBufferPointer

    /// Throws `.truncated` below 28 bytes and `.malformed` unless the packet is Ethernet/IPv4
    /// (htype 1, ptype 0x0800, hlen 6, plen 4).
    public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        try bytes.require(Self.length, format: "ARP")
        let hardwareType = bytes.bigEndian(UInt16.self, at: 0)
        guard hardwareType == Self.hardwareTypeEthernet else {
            throw .malformed(format: "ARP", field: "hardwareType", detail: "\(hardwareType), expected 1 (Ethernet)")
        }
        let protocolType = bytes.bigEndian(UInt16.self, at: 2)
        guard protocolType == EtherType.ipv4.rawValue else {
            throw .malformed(format: "ARP", field: "protocolType", detail: "0x\(String(protocolType, radix: 16)), expected 0x800 (IPv4)")
        }
        guard bytes[4] == 6 else {
            throw .malformed(format: "ARP", field: "hardwareAddressLength", detail: "\(bytes[4]), expected 6")
        }
        guard bytes[5] == 4 else {
            throw .malformed(format: "ARP", field: "protocolAddressLength", detail: "\(bytes[5]), expected 4")
        }
        self.bytes = bytes
    }

    public var operation: ARPOperation { ARPOperation(bytes.bigEndian(UInt16.self, at: 6)) }
    public var senderHardwareAddress: MACAddress { MACAddress(bytes, at: 8) }
    public var senderProtocolAddress: IPv4Address { IPv4Address(bytes, at: 14) }
    public var targetHardwareAddress: MACAddress { MACAddress(bytes, at: 18) }
    public var targetProtocolAddress: IPv4Address { IPv4Address(bytes, at: 24) }
}

/// An Ethernet/IPv4 ARP packet as a value. RFC 826.
public struct ARPMessage: Equatable, Hashable, Sendable {
    public var operation: ARPOperation
    public var senderHardwareAddress: MACAddress
    public var senderProtocolAddress: IPv4Address
    public var targetHardwareAddress: MACAddress
    public var targetProtocolAddress: IPv4Address

    public init(operation: ARPOperation,
                senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
                targetHardwareAddress: MACAddress, targetProtocolAddress: IPv4Address) {
        self.operation = operation
        self.senderHardwareAddress = senderHardwareAddress
        self.senderProtocolAddress = senderProtocolAddress
        self.targetHardwareAddress = targetHardwareAddress
        self.targetProtocolAddress = targetProtocolAddress
    }

    public init(_ view: ARPPacket) {
        self.init(operation: view.operation,
                  senderHardwareAddress: view.senderHardwareAddress, senderProtocolAddress: view.senderProtocolAddress,
                  targetHardwareAddress: view.targetHardwareAddress, targetProtocolAddress: view.targetProtocolAddress)
    }

    /// Always 28.
    public var encodedLength: Int { ARPPacket.length }

    /// Writes the 28 bytes at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) throws(WireError) {
        try buffer.requireCapacity(encodedLength, format: "ARP")
        buffer.storeBigEndian(ARPPacket.hardwareTypeEthernet, at: 0)
        buffer.storeBigEndian(EtherType.ipv4.rawValue, at: 2)
        buffer[4] = 6
        buffer[5] = 4
        buffer.storeBigEndian(operation.rawValue, at: 6)
        senderHardwareAddress.store(into: buffer, at: 8)
        senderProtocolAddress.store(into: buffer, at: 14)
        targetHardwareAddress.store(into: buffer, at: 18)
        targetProtocolAddress.store(into: buffer, at: 24)
    }
}
