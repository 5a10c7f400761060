import Capture
import Foundation
import Guest
import Wire

/// The tapvm version written into capture sidecars.
public enum TapVMVersion {
    public static let current = "0.1.0"
}

/// Where a capture taps the traffic (issue 6, item 1).
public enum CapturePoint: String, Sendable, Equatable, CaseIterable, Codable {
    /// The fd side: what the kernel handed over and what was written back, after the vnet header. Stamped with
    /// the wall clock when the device thread read or wrote the fd.
    case wire
    /// The guest side: what the driver handed the stack and what the stack sent, stamped with the guest's own
    /// clock (boot time + the `now` the stack was given), so a replay can place every frame exactly.
    case guest
    /// Both, in two files: FILE (wire) and FILE with `.guest` before its extension (guest).
    case both

    /// The guest file of `--pcap-point both`: `run.pcap` -> `run.guest.pcap`, `run` -> `run.guest`.
    public static func guestPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        guard !ext.isEmpty else { return path + ".guest" }
        return String(path.dropLast(ext.count + 1)) + ".guest." + ext
    }
}

/// What a replay needs to boot the same guest as the captured run: `FILE.json` beside `FILE`.
///
/// Written when the capture starts (so a run killed with SIGKILL still leaves seed, MAC and options) and again
/// when it is closed, adding the guest's start, release and stop instants and the list of rotated files. Seeds are
/// decimal strings: JSON tools read numbers as doubles and would round a 64-bit seed.
public struct CaptureSidecar: Codable, Equatable, Sendable {
    public var tapvmVersion: String = TapVMVersion.current
    /// `wire` or `guest` (a `both` run writes one sidecar per file).
    public var point: CapturePoint
    /// The run's `--seed` (or the random one it drew).
    public var seed: String?
    /// The seed of the guest stack's generator (derived from `seed`); what replay uses.
    public var stackSeed: String
    public var mac: String
    public var hostname: String?
    /// "router" or addresses.
    public var pingTargets: [String] = []
    public var pingCount: Int = 3
    public var pingIntervalNanoseconds: Int64 = 1_000_000_000
    public var pingTimeoutNanoseconds: Int64 = 1_000_000_000
    /// The wall-clock time of the guest's boot (its `Instant.boot`), "seconds.nanoseconds".
    public var bootTime: String
    /// When the guest's stack was started, in nanoseconds after boot.
    public var startNanoseconds: Int64?
    /// When a DHCPRELEASE was asked for (shutdown), in nanoseconds after boot.
    public var releaseNanoseconds: Int64?
    /// When the capture was closed, in nanoseconds after boot.
    public var stopNanoseconds: Int64?
    /// The capture files in order (more than one after `--pcap-limit` rotation).
    public var files: [String] = []
    public var frames: Int?
    /// The guest's IPv6 setting. Absent in sidecars written before the guest had IPv6 (and written for IPv4-only
    /// runs): a replay then keeps IPv6 off, so old IPv4 captures replay to the same bytes.
    public var ipv6: IPv6Sidecar?

    enum CodingKeys: String, CodingKey {
        case tapvmVersion = "tapvm_version", point, seed, stackSeed = "stack_seed", mac, hostname
        case pingTargets = "ping_targets", pingCount = "ping_count", pingIntervalNanoseconds = "ping_interval_ns"
        case pingTimeoutNanoseconds = "ping_timeout_ns", bootTime = "boot_time", startNanoseconds = "start_ns"
        case releaseNanoseconds = "release_ns", stopNanoseconds = "stop_ns", files, frames, ipv6
    }

    /// The sidecar's path for capture `path`.
    public static func path(for capture: String) -> String { capture + ".json" }

    /// The sidecar of `capture`, or nil when there is none.
    /// - Throws: `TapVMError.invalidOption` naming the file when it exists but does not parse.
    public static func load(for capture: String) throws(TapVMError) -> CaptureSidecar? {
        let path = path(for: capture)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(CaptureSidecar.self, from: data)
        } catch {
            throw .invalidOption("capture sidecar \(path) is unreadable: \(error)")
        }
    }

    /// Writes the sidecar beside `capture` (mode 0600, like the capture).
    public func write(for capture: String) throws(TapVMError) {
        let path = Self.path(for: capture)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var data = try encoder.encode(self)
            data.append(0x0a)
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw TapVMError.invalidOption("cannot write \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            fchmod(fd, 0o600)
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written == data.count else { throw TapVMError.invalidOption("cannot write \(path): short write") }
        } catch let error as TapVMError {
            throw error
        } catch {
            throw .invalidOption("cannot write \(path): \(error)")
        }
    }

    /// The longest a guest instant of a sidecar (start, release, stop) may be after boot: a few days.
    public static let longestRun: Int64 = 3 * 86_400 * 1_000_000_000
    /// How far the boot time may be from the capture's first frame: decades (a clock that far off, or a hostile
    /// file, would put frames beyond the guest clock's range).
    public static let farthestBoot: Int64 = 50 * 31_557_600 * 1_000_000_000

    /// Checks the fields a replay computes with (the file comes from anywhere): throws one line naming `path` and
    /// the field instead of letting arithmetic on them trap later. `firstFrame` is the capture's first timestamp.
    public func validate(path: String, firstFrame: PcapTimestamp?) throws(TapVMError) {
        func bad(_ what: String) -> TapVMError { .invalidOption("capture sidecar \(path): \(what)") }
        guard let boot = PcapTimestamp(text: bootTime) else { throw bad("boot_time '\(bootTime)' is not seconds.nanoseconds") }
        if let firstFrame {
            let distance = firstFrame.nanoseconds(since: boot)
            guard distance != .min, (-Self.farthestBoot...Self.farthestBoot).contains(distance) else {
                throw bad("boot_time \(bootTime) is decades away from the first frame (\(firstFrame))")
            }
        }
        for (name, value) in [("start_ns", startNanoseconds), ("release_ns", releaseNanoseconds), ("stop_ns", stopNanoseconds)] {
            if let value, !(0...Self.longestRun).contains(value) {
                throw bad("\(name) \(value) is not 0 to \(Self.longestRun) ns after boot")
            }
        }
        guard (0...1_000_000).contains(pingCount) else { throw bad("ping_count \(pingCount) is not 0 to 1000000") }
        for (name, value) in [("ping_interval_ns", pingIntervalNanoseconds), ("ping_timeout_ns", pingTimeoutNanoseconds)] {
            guard (1_000_000...86_400_000_000_000).contains(value) else { throw bad("\(name) \(value) is not 1 ms to 1 day") }
        }
    }

    /// The stack configuration this sidecar describes, for `mac`.
    public func stackConfiguration(mac: MACAddress) -> StackConfiguration {
        var configuration = StackConfiguration(mac: mac, hostname: hostname,
                                               pingTargets: pingTargets.compactMap(Self.pingTarget), pingCount: pingCount)
        configuration.pingInterval = .nanoseconds(pingIntervalNanoseconds)
        configuration.pingTimeout = .nanoseconds(pingTimeoutNanoseconds)
        configuration.ipv6 = ipv6?.configuration ?? IPv6Configuration(enabled: false)
        return configuration
    }

    static func pingTarget(_ text: String) -> PingTarget? {
        text == "router" ? .router : IPv4Address(text).map { .address($0) }
    }

    static func text(_ target: PingTarget) -> String {
        switch target {
        case .router: "router"
        case let .address(address): "\(address)"
        }
    }
}

/// The IPv6 part of a sidecar: what a replay needs to form the same addresses and ping the same targets.
public struct IPv6Sidecar: Codable, Equatable, Sendable {
    public var enabled: Bool
    /// "eui64" or "stable".
    public var interfaceIdentifier: String
    /// The RFC 7217 secret in hex (with "stable").
    public var secret: String?
    /// "router" or addresses.
    public var pingTargets: [String] = []
    public var pingCount: Int = 3

    enum CodingKeys: String, CodingKey {
        case enabled, interfaceIdentifier = "interface_identifier", secret, pingTargets = "ping6_targets", pingCount = "ping6_count"
    }

    public init(_ configuration: IPv6Configuration) {
        enabled = configuration.enabled
        switch configuration.interfaceIdentifier {
        case .eui64:
            interfaceIdentifier = "eui64"
        case let .stable(secret):
            interfaceIdentifier = "stable"
            self.secret = hexText(secret)
        }
        pingTargets = configuration.pingTargets.map {
            switch $0 {
            case .router: "router"
            case let .address(address): "\(address)"
            }
        }
        pingCount = configuration.pingCount
    }

    /// The stack's IPv6 configuration this describes (an unreadable secret or target is left out).
    public var configuration: IPv6Configuration {
        let mode: InterfaceIdentifierMode = interfaceIdentifier == "stable"
            ? .stable(secret: secret.flatMap(IPv6Settings.parseSecret) ?? []) : .eui64
        return IPv6Configuration(enabled: enabled, interfaceIdentifier: mode,
                                 pingTargets: pingTargets.compactMap(IPv6Settings.parsePingTarget), pingCount: pingCount)
    }
}

extension PcapTimestamp {
    /// This time plus `nanoseconds` (which may be negative), saturating at the range of `seconds` (a hostile
    /// capture or sidecar never makes it trap).
    public func adding(nanoseconds: Int64) -> PcapTimestamp {
        let (carry, rest) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        var total = rest + Int64(self.nanoseconds)  // -1e9 < total < 2e9
        var extra: Int64 = 0
        if total < 0 { total += 1_000_000_000; extra = -1 } else if total >= 1_000_000_000 { total -= 1_000_000_000; extra = 1 }
        let (partial, overflow) = seconds.addingReportingOverflow(carry)
        let (sum, overflow2) = partial.addingReportingOverflow(extra)
        if overflow || overflow2 {
            return nanoseconds < 0 ? PcapTimestamp(seconds: .min, nanoseconds: 0) : PcapTimestamp(seconds: .max, nanoseconds: 999_999_999)
        }
        return PcapTimestamp(seconds: sum, nanoseconds: UInt32(total))
    }

    /// Nanoseconds from `origin` to this time (negative when earlier), saturating at Int64's range.
    public func nanoseconds(since origin: PcapTimestamp) -> Int64 {
        let (difference, overflow) = seconds.subtractingReportingOverflow(origin.seconds)
        if overflow { return seconds < origin.seconds ? .min : .max }
        let (scaled, overflow2) = difference.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow2 { return difference < 0 ? .min : .max }
        let (sum, overflow3) = scaled.addingReportingOverflow(Int64(nanoseconds) - Int64(origin.nanoseconds))
        if overflow3 { return scaled < 0 ? .min : .max }
        return sum
    }

    /// Parses "seconds.nanoseconds" as `description` prints it.
    public init?(text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let seconds = Int64(parts[0]), parts[1].count == 9,
              let fraction = UInt32(parts[1]), fraction < 1_000_000_000 else { return nil }
        self.init(seconds: seconds, nanoseconds: fraction)
    }
}
