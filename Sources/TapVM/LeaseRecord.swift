import Foundation
import Guest
import Wire

/// A DHCPv4 lease as a lease file holds it: on the wall clock (Unix seconds), so that it means something to the
/// next run, whose guest clock starts again at zero. RFC 2131 §3.2: a client that remembers its address asks for it
/// again in INIT-REBOOT while the lease has not expired.
public struct LeaseRecord: Sendable, Equatable {
    /// The identity's MAC (the DHCP chaddr).
    public var mac: MACAddress
    /// Option 61 as sent, if the client sent one other than the default `01 + MAC` (RFC 2132 §9.14).
    public var clientIdentifier: [UInt8]?
    public var hostname: String?
    public var address: IPv4Address
    public var subnetMask: IPv4Address
    public var router: IPv4Address?
    public var dnsServers: [IPv4Address]
    /// Option 54.
    public var server: IPv4Address
    public var leaseSeconds: Int64
    public var renewalSeconds: Int64
    public var rebindingSeconds: Int64
    /// When the REQUEST that obtained the lease was sent (RFC 2131 §4.4.1), Unix seconds.
    public var acquired: Double

    /// The format written; a file with another version is refused as unknown, never guessed at.
    public static let version: Int64 = 1

    public init(mac: MACAddress, clientIdentifier: [UInt8]? = nil, hostname: String? = nil, address: IPv4Address,
                subnetMask: IPv4Address, router: IPv4Address?, dnsServers: [IPv4Address], server: IPv4Address,
                leaseSeconds: Int64, renewalSeconds: Int64, rebindingSeconds: Int64, acquired: Double) {
        self.mac = mac
        self.clientIdentifier = clientIdentifier
        self.hostname = hostname
        self.address = address
        self.subnetMask = subnetMask
        self.router = router
        self.dnsServers = dnsServers
        self.server = server
        self.leaseSeconds = leaseSeconds
        self.renewalSeconds = renewalSeconds
        self.rebindingSeconds = rebindingSeconds
        self.acquired = acquired
    }

    /// The record of `lease`, whose guest instants are placed on the wall clock by `bootUnix` (the Unix time of the
    /// guest's `Instant.boot`).
    public init(lease: DHCPLease, mac: MACAddress, clientIdentifier: [UInt8]? = nil, hostname: String? = nil, bootUnix: Double) {
        self.init(mac: mac, clientIdentifier: clientIdentifier, hostname: hostname, address: lease.address,
                  subnetMask: lease.subnetMask, router: lease.router, dnsServers: lease.dnsServers, server: lease.server,
                  leaseSeconds: lease.leaseTime.components.seconds, renewalSeconds: lease.renewalTime.components.seconds,
                  rebindingSeconds: lease.rebindingTime.components.seconds,
                  acquired: bootUnix + Double(lease.acquiredAt.nanoseconds) / 1e9)
    }

    /// When the lease ends, Unix seconds.
    public var expires: Double { acquired + Double(leaseSeconds) }

    /// Whether the lease still runs at `unixTime`.
    public func isValid(at unixTime: Double) -> Bool { unixTime < expires }

    /// 2000-01-01T00:00:00Z: a lease file from before is corrupt.
    public static let earliestAcquired: Double = 946_684_800

    /// The lease on a guest clock whose boot was at `bootUnix` (its `acquiredAt` is before boot: negative). An
    /// offset beyond the guest clock's range saturates (a record read from a file is range-checked first).
    public func lease(bootUnix: Double) -> DHCPLease {
        let offset = ((acquired - bootUnix) * 1e9).rounded()
        let nanoseconds = Int64(exactly: offset) ?? (offset.isNaN ? 0 : offset < 0 ? .min : .max)
        return DHCPLease(address: address, subnetMask: subnetMask, router: router, dnsServers: dnsServers, server: server,
                  leaseTime: .seconds(leaseSeconds), renewalTime: .seconds(renewalSeconds),
                  rebindingTime: .seconds(rebindingSeconds),
                  acquiredAt: Instant(nanoseconds: nanoseconds))
    }

    // MARK: JSON

    /// The file's contents: one JSON object with stable keys.
    public var json: JSONValue {
        .object([
            ("version", .integer(Self.version)), ("mac", .string("\(mac)")),
            ("client_id", clientIdentifier.map { .string(Self.hex($0)) } ?? .null),
            ("hostname", hostname.map { .string($0) } ?? .null),
            ("address", .string("\(address)")), ("subnet_mask", .string("\(subnetMask)")),
            ("router", router.map { .string("\($0)") } ?? .null),
            ("dns", .array(dnsServers.map { .string("\($0)") })), ("server", .string("\(server)")),
            ("lease_seconds", .integer(leaseSeconds)), ("renewal_seconds", .integer(renewalSeconds)),
            ("rebinding_seconds", .integer(rebindingSeconds)),
            ("acquired_unix", .number(acquired)), ("expires_unix", .number(expires)),
        ])
    }

    /// Reads a lease file's contents. Anything missing, mistyped or out of range throws `LeaseFileError.corrupt`
    /// naming the first problem (a lease file is untrusted input: it never traps).
    public init(json data: Data, path: String) throws(LeaseFileError) {
        func corrupt(_ why: String) -> LeaseFileError { .corrupt(path: path, reason: why) }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw corrupt("not a JSON object")
        }
        func string(_ key: String) throws(LeaseFileError) -> String {
            guard let value = object[key] as? String else { throw corrupt("\"\(key)\" missing or not a string") }
            return value
        }
        func optionalString(_ key: String) throws(LeaseFileError) -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw corrupt("\"\(key)\" is not a string") }
            return text
        }
        func address(_ text: String, _ key: String) throws(LeaseFileError) -> IPv4Address {
            guard let address = IPv4Address(text) else { throw corrupt("\"\(key)\" is not an IPv4 address: \(text)") }
            return address
        }
        func seconds(_ key: String) throws(LeaseFileError) -> Int64 {
            guard let number = object[key] as? NSNumber, let value = Int64(exactly: number.doubleValue),
                  (0...Int64(UInt32.max)).contains(value) else { throw corrupt("\"\(key)\" is not a number of seconds") }
            return value
        }
        guard (object["version"] as? NSNumber)?.int64Value == Self.version else {
            throw corrupt("unknown version (this tapvm writes version \(Self.version))")
        }
        let macText = try string("mac")
        guard let mac = MACAddress(macText), !mac.isMulticast else { throw corrupt("\"mac\" is not a unicast MAC: \(macText)") }
        var clientIdentifier: [UInt8]?
        if let hex = try optionalString("client_id") {
            guard let bytes = Self.bytes(hex: hex) else { throw corrupt("\"client_id\" is not hex") }
            clientIdentifier = bytes
        }
        guard let dns = object["dns"] as? [String] else { throw corrupt("\"dns\" missing or not a list of strings") }
        var dnsServers: [IPv4Address] = []
        for text in dns { dnsServers.append(try address(text, "dns")) }
        guard let acquired = (object["acquired_unix"] as? NSNumber)?.doubleValue, acquired.isFinite, acquired > 0 else {
            throw corrupt("\"acquired_unix\" is not a time")
        }
        let router = try optionalString("router")
        self.init(mac: mac, clientIdentifier: clientIdentifier, hostname: try optionalString("hostname"),
                  address: try address(try string("address"), "address"),
                  subnetMask: try address(try string("subnet_mask"), "subnet_mask"),
                  router: try router.map { text throws(LeaseFileError) in try address(text, "router") },
                  dnsServers: dnsServers, server: try address(try string("server"), "server"),
                  leaseSeconds: try seconds("lease_seconds"), renewalSeconds: try seconds("renewal_seconds"),
                  rebindingSeconds: try seconds("rebinding_seconds"), acquired: acquired)
        guard subnetMask.prefixLength != nil else { throw corrupt("\"subnet_mask\" is not a contiguous mask") }
        // A lease from before 2000 or from more than a day ahead is no lease this client wrote: a clock that far off,
        // or a hostile file, whose time would not fit the guest clock.
        guard (Self.earliestAcquired...Date().timeIntervalSince1970 + 86_400).contains(acquired) else {
            throw corrupt("\"acquired_unix\" \(acquired) is before 2000 or in the future")
        }
    }

    // MARK: dhcpcd --dumplease

    /// `key=value` lines with dhcpcd's names (dhcpcd(8) `--dumplease`, dhcpcd-run-hooks(8) variables), then
    /// tapvm's own (`lease_acquired`, `lease_expires`, `lease_remaining` at `unixTime`).
    public func dumpLines(at unixTime: Double) -> [String] {
        var lines = ["interface_mac=\(mac)", "ip_address=\(address)", "subnet_mask=\(subnetMask)",
                     "subnet_cidr=\(subnetMask.prefixLength ?? 0)",
                     "network_number=\(IPv4Address(rawValue: address.rawValue & subnetMask.rawValue))",
                     "broadcast_address=\(IPv4Address(rawValue: address.rawValue | ~subnetMask.rawValue))"]
        if let router { lines.append("routers=\(router)") }
        if !dnsServers.isEmpty { lines.append("domain_name_servers=\(dnsServers.map(\.description).joined(separator: " "))") }
        lines += ["dhcp_server_identifier=\(server)", "dhcp_lease_time=\(leaseSeconds)",
                  "dhcp_renewal_time=\(renewalSeconds)", "dhcp_rebinding_time=\(rebindingSeconds)"]
        if let hostname { lines.append("host_name=\(hostname)") }
        if let clientIdentifier { lines.append("dhcp_client_identifier=\(Self.hex(clientIdentifier))") }
        let remainingSeconds = (expires - unixTime).rounded(.down)
        let remaining = remainingSeconds.isNaN ? 0 : max(0, Int64(exactly: min(remainingSeconds, 1e15)) ?? 0)
        lines += ["lease_acquired=\(Self.isoDate(acquired))", "lease_expires=\(Self.isoDate(expires))",
                  "lease_remaining=\(remaining)"]
        return lines
    }

    static func isoDate(_ unix: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: unix))
    }

    /// Lower-case hex, no separators.
    public static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Bytes from hex (`:` or `-` separators allowed); nil if not an even number of hex digits.
    public static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.filter { $0 != ":" && $0 != "-" })
        guard !digits.isEmpty, digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
