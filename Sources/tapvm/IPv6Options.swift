import ArgumentParser
import TapVM

/// IPv6 options shared by `run` and `demo`.
struct IPv6Options: ParsableArguments {
    @Flag(name: .customLong("ipv6"), inversion: .prefixedNo,
          help: "Run the guest's IPv6 side: link-local, DAD, MLDv2, router discovery, SLAAC, DHCPv6 (--no-ipv6 turns it off).")
    var ipv6 = true

    @Option(name: .customLong("ipv6-iid"),
            help: ArgumentHelp("Interface identifiers: the MAC's modified EUI-64, or RFC 7217 stable ones (secret from --ipv6-secret or the seed).",
                               valueName: "eui64|stable"))
    var interfaceIdentifier: IPv6Settings.IdentifierMode = .eui64

    @Option(name: .customLong("ipv6-secret"),
            help: ArgumentHelp("The RFC 7217 secret for --ipv6-iid stable: at least 32 hex digits (128 bits).", valueName: "HEX"))
    var secret: String?

    func validate() throws {
        if let secret {
            guard IPv6Settings.parseSecret(secret) != nil else {
                throw ValidationError("--ipv6-secret takes at least 32 hex digits (128 bits, RFC 7217 §5), not '\(secret)'")
            }
            guard interfaceIdentifier == .stable else { throw ValidationError("--ipv6-secret goes with --ipv6-iid stable") }
        }
    }

    /// The settings these options describe (ping6 targets and --quiet-host are `run`'s).
    var settings: IPv6Settings {
        var settings = IPv6Settings(enabled: ipv6)
        settings.interfaceIdentifier = interfaceIdentifier
        settings.secret = secret.flatMap(IPv6Settings.parseSecret)
        return settings
    }
}

extension IPv6Settings.IdentifierMode: ExpressibleByArgument {}
