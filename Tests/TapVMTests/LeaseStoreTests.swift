import Foundation
import Glibc
import Guest
import Testing
@testable import TapVM
import Wire

/// Lease files: atomic 0600 JSON, read back exactly, corrupt files refused with one line, dhcpcd-style dump.
@Suite struct LeaseStoreTests {
    static let mac = MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0xaa)

    static func record(acquired: Double = 1_700_000_000.25) -> LeaseRecord {
        LeaseRecord(mac: mac, hostname: "guest-7", address: IPv4Address(198, 51, 100, 77),
                    subnetMask: .mask(prefixLength: 24), router: IPv4Address(198, 51, 100, 1),
                    dnsServers: [IPv4Address(198, 51, 100, 53), IPv4Address(198, 51, 100, 54)],
                    server: IPv4Address(198, 51, 100, 2), leaseSeconds: 3600, renewalSeconds: 1800,
                    rebindingSeconds: 3150, acquired: acquired)
    }

    /// A fresh directory under /tmp, removed by the caller.
    static func temporaryDirectory() -> String {
        let path = "/tmp/tapvm-leasestore-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        return path
    }

    @Test func writesAtomicallyWithMode0600AndReadsBackEveryField() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = LeaseStore(directory: directory)
        try store.write(Self.record())
        let path = store.path(mac: Self.mac)
        #expect(path == directory + "/02-00-5e-10-20-aa.lease")
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(try store.read(mac: Self.mac) == Self.record())
        // Overwrite in place: no temporary file is left beside it.
        try store.write(Self.record(acquired: 1_700_000_100))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["02-00-5e-10-20-aa.lease"])
        #expect(try store.read(mac: Self.mac)?.acquired == 1_700_000_100)
        try store.remove(mac: Self.mac)
        #expect(try store.read(mac: Self.mac) == nil)
        try store.remove(mac: Self.mac)  // already gone: fine
    }

    @Test func aClientIdentifierKeysTheFile() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = LeaseStore(directory: directory)
        var record = Self.record()
        record.clientIdentifier = [0xff, 0x00, 0x01, 0xab]
        try store.write(record)
        #expect(FileManager.default.fileExists(atPath: directory + "/id-ff0001ab.lease"))
        #expect(try store.read(mac: Self.mac, clientIdentifier: [0xff, 0x00, 0x01, 0xab]) == record)
        #expect(try store.read(mac: Self.mac) == nil)
        // A 255-byte identifier (RFC 2132 §9.14's longest) keys the file by a short hash, within NAME_MAX.
        record.clientIdentifier = (0..<255).map { UInt8($0) }
        try store.write(record)
        let key = LeaseStore.key(mac: Self.mac, clientIdentifier: record.clientIdentifier)
        #expect(key.hasPrefix("id-h") && key.utf8.count < 40)
        #expect(try store.read(mac: Self.mac, clientIdentifier: record.clientIdentifier) == record)
        var other = record.clientIdentifier!
        other[254] ^= 1
        #expect(LeaseStore.key(mac: Self.mac, clientIdentifier: other) != key)
    }

    @Test(.timeLimit(.minutes(1)))
    func aFifoOrAnOversizedFileIsRefusedWithoutReading() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = LeaseStore(directory: directory)
        let path = store.path(mac: Self.mac)
        #expect(mkfifo(path, 0o600) == 0)
        #expect { _ = try store.read(mac: Self.mac) } throws: { "\($0)".contains("not a regular file") }
        unlink(path)
        try String(repeating: " ", count: 64 * 1024 + 1).write(toFile: path, atomically: true, encoding: .utf8)
        #expect { _ = try store.read(mac: Self.mac) } throws: { "\($0)".contains("larger than 64 KiB") }
    }

    @Test(arguments: [
        ("not json {", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        ("{\"version\": 2}", "unknown version"),
        ("{\"version\": 1, \"mac\": \"ff:ff:ff:ff:ff:ff\"}", "\"mac\""),
        ("{\"version\": 1, \"mac\": \"02:00:5e:10:20:aa\", \"dns\": [], \"acquired_unix\": 5, \"address\": \"300.1.1.1\"}", "\"address\""),
        ("{\"version\": 1, \"mac\": \"02:00:5e:10:20:aa\", \"dns\": [], \"acquired_unix\": 5, \"address\": \"198.51.100.7\", \"subnet_mask\": \"255.0.255.0\", \"server\": \"198.51.100.1\", \"lease_seconds\": 60, \"renewal_seconds\": 30, \"rebinding_seconds\": 50}", "contiguous"),
        ("{\"version\": 1, \"mac\": \"02:00:5e:10:20:aa\", \"dns\": [], \"acquired_unix\": 5, \"address\": \"198.51.100.7\", \"subnet_mask\": \"255.255.255.0\", \"server\": \"198.51.100.1\", \"lease_seconds\": -1, \"renewal_seconds\": 30, \"rebinding_seconds\": 50}", "\"lease_seconds\""),
        ("{\"version\": 1, \"mac\": \"02:00:5e:10:20:aa\", \"dns\": [], \"address\": \"198.51.100.7\", \"subnet_mask\": \"255.255.255.0\", \"server\": \"198.51.100.1\", \"lease_seconds\": 60, \"renewal_seconds\": 30, \"rebinding_seconds\": 50, \"acquired_unix\": 1e12}", "\"acquired_unix\""),
        ("{\"version\": 1, \"mac\": \"02:00:5e:10:20:aa\", \"dns\": [], \"address\": \"198.51.100.7\", \"subnet_mask\": \"255.255.255.0\", \"server\": \"198.51.100.1\", \"lease_seconds\": 60, \"renewal_seconds\": 30, \"rebinding_seconds\": 50, \"acquired_unix\": 5}", "\"acquired_unix\""),
        ("{\"version\": 1, \"mac\": \"02:00:5e:10:20:aa\", \"dns\": [], \"address\": \"198.51.100.7\", \"subnet_mask\": \"255.255.255.0\", \"server\": \"198.51.100.1\", \"lease_seconds\": 60, \"renewal_seconds\": 30, \"rebinding_seconds\": 50, \"acquired_unix\": 1.7e308}", "\"acquired_unix\""),
    ])
    func aCorruptFileIsOneLineNeverATrap(contents: String, reason: String) throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = LeaseStore(directory: directory)
        try contents.write(toFile: store.path(mac: Self.mac), atomically: true, encoding: .utf8)
        #expect {
            _ = try store.read(mac: Self.mac)
        } throws: { error in
            let line = "\(error)"
            return line.contains(reason) && line.contains("ignored, starting afresh") && !line.contains("\n")
        }
        let listed = store.all()
        #expect(listed.count == 1)
        if case .success = listed.first?.record { Issue.record("a corrupt file was listed as a lease") }
    }

    @Test func theDumpUsesDhcpcdNames() {
        let lines = Self.record().dumpLines(at: 1_700_000_000.25 + 600)
        #expect(lines.contains("ip_address=198.51.100.77"))
        #expect(lines.contains("subnet_cidr=24"))
        #expect(lines.contains("network_number=198.51.100.0"))
        #expect(lines.contains("broadcast_address=198.51.100.255"))
        #expect(lines.contains("routers=198.51.100.1"))
        #expect(lines.contains("domain_name_servers=198.51.100.53 198.51.100.54"))
        #expect(lines.contains("dhcp_server_identifier=198.51.100.2"))
        #expect(lines.contains("dhcp_lease_time=3600"))
        #expect(lines.contains("dhcp_renewal_time=1800"))
        #expect(lines.contains("host_name=guest-7"))
        #expect(lines.contains("lease_remaining=3000"))
    }

    @Test func aRecordMovesBetweenTheWallClockAndAGuestClock() {
        let boot = 1_700_000_010.0
        let lease = Self.record().lease(bootUnix: boot)
        // Acquired 9.75 s before this guest booted: its clock puts the lease start at -9.75 s.
        #expect(lease.acquiredAt == Instant(nanoseconds: -9_750_000_000))
        #expect(lease.leaseTime == .seconds(3600) && lease.renewalTime == .seconds(1800) && lease.rebindingTime == .seconds(3150))
        let back = LeaseRecord(lease: lease, mac: Self.mac, hostname: "guest-7", bootUnix: boot)
        #expect(back == Self.record())
        // Out-of-range records built in memory saturate instead of trapping, and dump without trapping.
        #expect(Self.record(acquired: 1e12).lease(bootUnix: boot).acquiredAt == Instant(nanoseconds: .max))
        #expect(Self.record(acquired: -1e12).lease(bootUnix: boot).acquiredAt == Instant(nanoseconds: .min))
        #expect(Self.record(acquired: 1e300).dumpLines(at: boot).contains { $0.hasPrefix("lease_remaining=") })
        #expect(Self.record().isValid(at: 1_700_000_000 + 3599) && !Self.record().isValid(at: 1_700_000_000.25 + 3600))
    }

    @Test func identitiesFromASeedAreDistinctLocalUnicastAndRepeatable() {
        let card = MACAddress(0x02, 0, 0, 0, 0, 1)
        let macs = IdentityPlan.macs(count: 1000, seed: 5, avoiding: card)
        #expect(Set(macs).count == 1000 && !macs.contains(card))
        #expect(macs.allSatisfy { $0.array[0] == 0x02 })
        #expect(IdentityPlan.macs(count: 1000, seed: 5) == macs)
        #expect(IdentityPlan.macs(count: 3, seed: 6) != Array(macs.prefix(3)))
    }
}
