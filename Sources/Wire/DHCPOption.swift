/// A DHCP option code. RFC 2132; IANA "BOOTP Vendor Extensions and DHCP Options". Open.
public struct DHCPOptionCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// RFC 2132 §3.1: a single zero byte, no length.
    public static let pad = DHCPOptionCode(0)
    public static let subnetMask = DHCPOptionCode(1)
    public static let router = DHCPOptionCode(3)
    public static let domainNameServer = DHCPOptionCode(6)
    public static let hostName = DHCPOptionCode(12)
    public static let domainName = DHCPOptionCode(15)
    public static let interfaceMTU = DHCPOptionCode(26)
    public static let broadcastAddress = DHCPOptionCode(28)
    /// RFC 2132 §8.3: NTP servers, a list of addresses.
    public static let ntpServers = DHCPOptionCode(42)
    public static let requestedIPAddress = DHCPOptionCode(50)
    public static let ipAddressLeaseTime = DHCPOptionCode(51)
    /// RFC 2132 §9.3: 1 = `file` holds options, 2 = `sname` holds options, 3 = both.
    public static let optionOverload = DHCPOptionCode(52)
    public static let messageType = DHCPOptionCode(53)
    public static let serverIdentifier = DHCPOptionCode(54)
    public static let parameterRequestList = DHCPOptionCode(55)
    public static let message = DHCPOptionCode(56)
    public static let maximumMessageSize = DHCPOptionCode(57)
    public static let renewalTime = DHCPOptionCode(58)
    public static let rebindingTime = DHCPOptionCode(59)
    public static let clientIdentifier = DHCPOptionCode(61)
    /// RFC 4039 §4: Rapid Commit, length 0.
    public static let rapidCommit = DHCPOptionCode(80)
    /// RFC 8925 §3.1: IPv6-Only Preferred, V6ONLY_WAIT in seconds (4 bytes).
    public static let ipv6OnlyPreferred = DHCPOptionCode(108)
    /// RFC 3397 §2: Domain Search, DNS-encoded names with compression pointers.
    public static let domainSearch = DHCPOptionCode(119)
    /// RFC 3442: Classless Static Route.
    public static let classlessStaticRoute = DHCPOptionCode(121)
    /// RFC 2132 §3.2: a single 255 byte ending the options.
    public static let end = DHCPOptionCode(255)

    public var description: String { "option \(rawValue)" }
}

/// The value of the DHCP Message Type option (53). RFC 2132 §9.6. Open.
public struct DHCPMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let discover = DHCPMessageType(1)
    public static let offer = DHCPMessageType(2)
    public static let request = DHCPMessageType(3)
    public static let decline = DHCPMessageType(4)
    public static let ack = DHCPMessageType(5)
    public static let nak = DHCPMessageType(6)
    public static let release = DHCPMessageType(7)
    public static let inform = DHCPMessageType(8)

    public var description: String {
        switch self {
        case .discover: "DHCPDISCOVER"
        case .offer: "DHCPOFFER"
        case .request: "DHCPREQUEST"
        case .decline: "DHCPDECLINE"
        case .ack: "DHCPACK"
        case .nak: "DHCPNAK"
        case .release: "DHCPRELEASE"
        case .inform: "DHCPINFORM"
        default: "DHCP message type \(rawValue)"
        }
    }
}

/// One DHCP option: a code and its data (after RFC 3396 concatenation when parsed, so `data` may exceed 255
/// bytes; `DHCPMessage.emit` splits it again). RFC 2132 §2.
public struct DHCPOption: Equatable, Hashable, Sendable {
    public var code: DHCPOptionCode
    public var data: [UInt8]

    public init(code: DHCPOptionCode, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    /// Option 53 with one byte. RFC 2132 §9.6.
    public static func messageType(_ type: DHCPMessageType) -> DHCPOption {
        DHCPOption(code: .messageType, data: [type.rawValue])
    }

    /// An option holding one IPv4 address (for example 50, 54, 1, 28).
    public static func address(_ code: DHCPOptionCode, _ address: IPv4Address) -> DHCPOption {
        DHCPOption(code: code, data: address.octets)
    }

    /// An option holding a list of IPv4 addresses (for example 3, 6).
    public static func addresses(_ code: DHCPOptionCode, _ addresses: [IPv4Address]) -> DHCPOption {
        DHCPOption(code: code, data: addresses.flatMap(\.octets))
    }

    /// An option holding a big-endian 32-bit number (for example 51, 58, 59).
    public static func uint32(_ code: DHCPOptionCode, _ value: UInt32) -> DHCPOption {
        DHCPOption(code: code, data: [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                                      UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    /// An option holding a big-endian 16-bit number (for example 26, 57).
    public static func uint16(_ code: DHCPOptionCode, _ value: UInt16) -> DHCPOption {
        DHCPOption(code: code, data: [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)])
    }

    /// An option holding text as UTF-8 without a terminating NUL (for example 12, 15, 56). RFC 2132 §3.14.
    public static func string(_ code: DHCPOptionCode, _ text: String) -> DHCPOption {
        DHCPOption(code: code, data: Array(text.utf8))
    }

    public static func serverIdentifier(_ address: IPv4Address) -> DHCPOption { .address(.serverIdentifier, address) }
    public static func requestedIPAddress(_ address: IPv4Address) -> DHCPOption { .address(.requestedIPAddress, address) }
    public static func hostName(_ name: String) -> DHCPOption { .string(.hostName, name) }
    public static func maximumMessageSize(_ size: UInt16) -> DHCPOption { .uint16(.maximumMessageSize, size) }
    public static func ipAddressLeaseTime(_ seconds: UInt32) -> DHCPOption { .uint32(.ipAddressLeaseTime, seconds) }

    /// Option 55, the codes the client wants in the reply. RFC 2132 §9.8.
    public static func parameterRequestList(_ codes: [DHCPOptionCode]) -> DHCPOption {
        DHCPOption(code: .parameterRequestList, data: codes.map(\.rawValue))
    }

    /// Option 61 as hardware type 1 (Ethernet) and a MAC address. RFC 2132 §9.14.
    public static func clientIdentifier(_ mac: MACAddress) -> DHCPOption {
        DHCPOption(code: .clientIdentifier, data: [1] + mac.array)
    }

    /// Option 61 as type 255, a 4-byte IAID (big-endian) and a DUID. RFC 4361 §6.1.
    public static func clientIdentifier(iaid: UInt32, duid: [UInt8]) -> DHCPOption {
        DHCPOption(code: .clientIdentifier, data: [255] + Self.uint32(.clientIdentifier, iaid).data + duid)
    }

    /// Option 80, empty. RFC 4039 §4.
    public static let rapidCommit = DHCPOption(code: .rapidCommit, data: [])

    /// Option 119 holding `names` without compression (a valid RFC 3397 encoding; names that do not encode
    /// are left out, see `DHCPDomainSearch.encode`).
    public static func domainSearch(_ names: [String]) -> DHCPOption {
        DHCPOption(code: .domainSearch, data: DHCPDomainSearch.encode(names))
    }

    /// Option 121 holding `routes`. RFC 3442.
    public static func classlessStaticRoutes(_ routes: [DHCPClasslessRoute]) -> DHCPOption {
        DHCPOption(code: .classlessStaticRoute, data: routes.flatMap(\.encoded))
    }
}
