import Guest
import Wire

/// How a run sets up the guest's IPv6 side: `--no-ipv6`, `--ipv6-iid eui64|stable`, `--ipv6-secret HEX`,
/// `--ping6 ADDR|router`, `--quiet-host` (issue 5).
public struct IPv6Settings: Sendable, Equatable {
    /// How interface identifiers are formed (RFC 4862 §5.3).
    public enum IdentifierMode: String, Sendable, Equatable, CaseIterable {
        /// The modified EUI-64 of the MAC (RFC 4291 Appendix A).
        case eui64
        /// RFC 7217 stable, semantically opaque identifiers.
        case stable
    }

    /// IPv6 runs (link-local, DAD, MLDv2, router discovery, SLAAC, DHCPv6). On for runs; `--no-ipv6` turns it off.
    public var enabled = true
    public var interfaceIdentifier: IdentifierMode = .eui64
    /// The RFC 7217 secret key (§5: at least 128 bits); nil: 16 bytes derived from the run's seed, so the same
    /// seed gives the same addresses.
    public var secret: [UInt8]?
    /// Pinged once a usable source address (and, for `.router`, a default router) is known.
    public var pingTargets: [IPv6PingTarget] = []
    /// Turn off the host kernel's IPv6 on an existing macvtap that has it (MACVTAP-FACTS §7).
    public var quietHost = false

    public init(enabled: Bool = true) { self.enabled = enabled }

    /// The stack's IPv6 configuration for a run whose seed is `seed`, pinging `pingCount` times per target.
    public func configuration(seed: UInt64, pingCount: Int) -> IPv6Configuration {
        let mode: InterfaceIdentifierMode = switch interfaceIdentifier {
        case .eui64: .eui64
        case .stable: .stable(secret: secret ?? Self.secret(seed: seed))
        }
        return IPv6Configuration(enabled: enabled, interfaceIdentifier: mode, pingTargets: pingTargets, pingCount: pingCount)
    }

    /// 16 bytes for the RFC 7217 secret from a generator of its own seeded from the run's seed (the run's own
    /// generator is not drawn from, so the MAC and the stack seed stay what they were).
    public static func secret(seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed ^ 0x5246_4337_3231_3720)  // "RFC7217 "
        return (0 ..< 2).flatMap { _ in
            let value = generator.next()
            return (0 ..< 8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
        }
    }

    /// Parses `--ipv6-secret`: hexadecimal, at least 32 digits (128 bits, RFC 7217 §5), ':' allowed between bytes.
    public static func parseSecret(_ text: String) -> [UInt8]? {
        let digits = Array(text.filter { $0 != ":" }.lowercased())
        guard digits.count >= 32, digits.count % 2 == 0, digits.allSatisfy(\.isHexDigit) else { return nil }
        return stride(from: 0, to: digits.count, by: 2).compactMap { UInt8(String(digits[$0 ... $0 + 1]), radix: 16) }
    }

    /// Parses a `--ping6` target: "router" or an IPv6 address.
    public static func parsePingTarget(_ text: String) -> IPv6PingTarget? {
        text == "router" ? .router : IPv6Address(text).map { .address($0) }
    }
}

/// Hex text of bytes, for the sidecar.
func hexText(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
