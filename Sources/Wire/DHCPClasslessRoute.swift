/// One route of the Classless Static Route option (121). RFC 3442 §3.
///
/// Encoding: the prefix length (0...32), the significant octets of the destination (`(length + 7) / 8` of them),
/// then the 4-byte router. A router of 0.0.0.0 means the destination is on-link (RFC 3442 §4 "Local Subnet Routes").
public struct DHCPClasslessRoute: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The destination network; bits past `prefixLength` are zero.
    public var destination: IPv4Address
    /// 0 (the default route) ... 32 (a host route).
    public var prefixLength: Int
    public var router: IPv4Address

    /// `prefixLength` is clamped to 0...32 and `destination` masked to it, so every value encodes.
    public init(destination: IPv4Address, prefixLength: Int, router: IPv4Address) {
        let length = min(max(prefixLength, 0), 32)
        self.prefixLength = length
        self.destination = IPv4Address(rawValue: destination.rawValue & IPv4Address.mask(prefixLength: length).rawValue)
        self.router = router
    }

    /// Whether this is the default route (0.0.0.0/0).
    public var isDefault: Bool { prefixLength == 0 }

    /// The option bytes of this route. RFC 3442 §3.
    public var encoded: [UInt8] {
        [UInt8(prefixLength)] + destination.octets.prefix((prefixLength + 7) / 8) + router.octets
    }

    /// The routes in an option 121 payload, or nil when it is malformed: empty, a prefix length above 32, or a
    /// route cut short. RFC 3442 §3 asks the client to ignore an option it cannot parse, so a single bad route
    /// rejects the whole option. Destination bits past the prefix length are cleared (RFC 3442 §3: the
    /// significant octets carry the subnet number; host bits are not part of it). Never traps.
    public static func parse(_ data: [UInt8]) -> [DHCPClasslessRoute]? {
        guard !data.isEmpty else { return nil }
        var routes: [DHCPClasslessRoute] = []
        var index = 0
        while index < data.count {
            let length = Int(data[index])
            guard length <= 32 else { return nil }
            let significant = (length + 7) / 8
            guard index + 1 + significant + 4 <= data.count else { return nil }
            var destination: UInt32 = 0
            for octet in 0 ..< 4 {
                let byte = octet < significant ? data[index + 1 + octet] : 0
                destination = destination << 8 | UInt32(byte)
            }
            let routerStart = index + 1 + significant
            let router = IPv4Address(data[routerStart], data[routerStart + 1], data[routerStart + 2], data[routerStart + 3])
            routes.append(DHCPClasslessRoute(destination: IPv4Address(rawValue: destination), prefixLength: length, router: router))
            index = routerStart + 4
        }
        return routes
    }

    public var description: String { "\(destination)/\(prefixLength) via \(router)" }
}
