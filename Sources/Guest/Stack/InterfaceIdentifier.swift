import Wire

/// How the guest forms the 64-bit interface identifiers of its addresses. RFC 4862 §5.3, RFC 7217.
public enum InterfaceIdentifierMode: Sendable, Equatable {
    /// The modified EUI-64 of the MAC, the same for every prefix. RFC 4291 Appendix A, RFC 2464 §4.
    case eui64
    /// RFC 7217 stable, semantically opaque identifiers: a different one per prefix, stable across runs with the
    /// same `secret` (at least 128 bits recommended, §5), not derived visibly from the MAC.
    case stable(secret: [UInt8])
}

/// The interface identifier algorithm: modified EUI-64 or RFC 7217 §5.
public struct InterfaceIdentifierGenerator: Sendable, Equatable {
    public var mode: InterfaceIdentifierMode
    public var mac: MACAddress

    public init(mode: InterfaceIdentifierMode, mac: MACAddress) {
        self.mode = mode
        self.mac = mac
    }

    /// The identifier for `prefix` (the first 64 bits are used).
    ///
    /// `.stable`: RFC 7217 §5, RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key) where F is
    /// SHA-256 (§5 names SHA-256 as a suitable PRF) over the 8 prefix bytes, Net_Iface = the 6 MAC bytes (stable
    /// for this interface), no Network_ID, DAD_Counter as one byte, then the secret; the identifier is the first 64
    /// bits of the digest. An identifier that RFC 5453 reserves (§5: "MUST NOT" be used) is skipped by counting
    /// the DAD counter up.
    public func identifier(prefix: IPv6Address, dadCounter: UInt8 = 0) -> UInt64 {
        switch mode {
        case .eui64:
            return IPv6Address.interfaceIdentifier(modifiedEUI64: mac)
        case let .stable(secret):
            var counter = dadCounter
            while true {
                let candidate = Self.stableIdentifier(prefix: prefix, netIface: mac.array, dadCounter: counter, secret: secret)
                if !Self.isReserved(candidate) || counter == .max { return candidate }
                counter += 1
            }
        }
    }

    /// RFC 7217 §5 F() with SHA-256, truncated to 64 bits.
    static func stableIdentifier(prefix: IPv6Address, netIface: [UInt8], dadCounter: UInt8, secret: [UInt8]) -> UInt64 {
        let prefixBytes = Array(prefix.bytes.prefix(8))
        let digest = SHA256.hash(prefixBytes + netIface + [dadCounter] + secret)
        return digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// RFC 5453 §3 reserved interface identifiers: the subnet-router anycast (all zeros), the reserved subnet
    /// anycast range fdff:ffff:ffff:ff80 through fdff:ffff:ffff:ffff, and the proxy mobile range 0200:5eff:fe00:0000
    /// through 0200:5eff:fe00:5212 (and 0200:5eff:fe00:5213 through 0200:5eff:feff:ffff, reserved too).
    static func isReserved(_ identifier: UInt64) -> Bool {
        identifier == 0
            || (0xFDFF_FFFF_FFFF_FF80 ... 0xFDFF_FFFF_FFFF_FFFF).contains(identifier)
            || identifier >> 24 == 0x02_005E_FFFE
    }
}
