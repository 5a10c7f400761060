#if canImport(Glibc)
import Glibc
#endif

/// Checks interface and namespace names before they reach a command line or a sysfs path.
///
/// Names are passed to `ip` as separate argv elements (never through a shell command line), and to `sh -c`
/// only as positional parameters; this check additionally keeps them out of path tricks (`..`, `/`) and
/// option parsing (a leading `-`).
enum NetworkName {
    /// Linux IFNAMSIZ is 16 including the NUL (include/uapi/linux/if.h), hence 15 characters.
    static func validateInterface(_ name: String) throws(TapError) {
        guard isValid(name, maximumLength: 15) else { throw .invalidName(kind: "interface", name: name) }
    }

    /// `ip netns` names are file names under /run/netns; tapvm accepts the same alphabet as for interfaces.
    static func validateNamespace(_ name: String) throws(TapError) {
        guard isValid(name, maximumLength: 64) else { throw .invalidName(kind: "network namespace", name: name) }
    }

    static func isValid(_ name: String, maximumLength: Int) -> Bool {
        guard (1...maximumLength).contains(name.utf8.count), name != ".", name != "..",
              name.utf8.first != UInt8(ascii: "-") else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// Throws `noSuchNamespace` unless `ip netns` knows the namespace (`/run/netns/NAME`).
    static func requireNamespace(_ name: String) throws(TapError) {
        try validateNamespace(name)
        var status = stat()
        guard stat("/run/netns/\(name)", &status) == 0 else { throw .noSuchNamespace(name) }
    }
}
