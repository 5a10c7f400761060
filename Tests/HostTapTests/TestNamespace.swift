#if canImport(Glibc)
import Glibc
#endif
import HostTap
import Synchronization
import Testing
import Wire

/// Tests that need root (network namespaces, mknod) are skipped with this reason otherwise.
let isRoot = geteuid() == 0
let needsRoot = "needs root: creates network namespaces and macvtap devices"

private let namespaceCounter = Atomic<Int>(0)

/// A throw-away network namespace `tvmt-<pid>-<counter>` with IPv6 off (no kernel chatter), a veth pair
/// vA/vB (both up) and, on request, bridge-mode macvtaps on vA. Deleted by `withLab` even when a test fails.
struct Lab {
    let netns: String

    static let macA = MACAddress(0x02, 0, 0, 0, 0, 0x0a)
    static let macB = MACAddress(0x02, 0, 0, 0, 0, 0x0b)

    static func create() throws -> Lab {
        let counter = namespaceCounter.add(1, ordering: .relaxed).newValue
        let lab = Lab(netns: "tvmt-\(getpid())-\(counter)")
        try SystemCommand.check(["ip", "netns", "add", lab.netns])
        do {
            for key in ["net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"] {
                _ = try SystemCommand.run(["ip", "netns", "exec", lab.netns, "sysctl", "-qw", "\(key)=1"])
            }
            try lab.ip("link", "add", "vA", "type", "veth", "peer", "name", "vB")
            try lab.ip("link", "set", "vA", "up")
            try lab.ip("link", "set", "vB", "up")
        } catch {
            lab.destroy()
            throw error
        }
        return lab
    }

    func ip(_ arguments: String...) throws {
        try SystemCommand.check(["ip", "-n", netns] + arguments)
    }

    /// The two bridge-mode macvtaps of MACVTAP-FACTS §1 (bridge↔bridge delivers directly).
    func addMacvtaps() throws -> (MacvtapLink, MacvtapLink) {
        let a = try MacvtapLink.create(name: "mvA", lower: "vA", netns: netns, mode: .bridge, address: Self.macA)
        let b = try MacvtapLink.create(name: "mvB", lower: "vA", netns: netns, mode: .bridge, address: Self.macB)
        return (a, b)
    }

    func destroy() {
        _ = try? SystemCommand.run(["ip", "netns", "del", netns])
    }
}

/// Runs `body` with a fresh lab and deletes the namespace afterwards, whatever happens.
@discardableResult
func withLab<T>(_ body: (Lab) throws -> T) throws -> T {
    let lab = try Lab.create()
    defer { lab.destroy() }
    return try body(lab)
}

/// Reads from `device` until an item satisfies `accept`, waiting at most `seconds` (poll(2), bounded).
func readItem(from device: TapDevice, within seconds: Double = 2,
              where accept: ([UInt8]) -> Bool) throws -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: TapDevice.readBufferSize)
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        var descriptor = pollfd(fd: device.fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, 50)
        while true {
            let io = try buffer.withUnsafeMutableBytes { try device.read(into: $0) }
            guard case let .transferred(count) = io else { break }
            let item = Array(buffer[..<count])
            if accept(item) { return item }
        }
    }
    return nil
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// 10 zero bytes (virtio_net_hdr, no flags) + an Ethernet frame with ethertype 0x88b5 and a tagged payload.
func probeItem(destination: MACAddress, source: MACAddress, tag: UInt8) -> [UInt8] {
    var item = [UInt8](repeating: 0, count: 10)
    item += destination.array + source.array
    item += [0x88, 0xb5]  // IEEE 802 local experimental ethertype 1
    item += [0x74, 0x61, 0x70, 0x76, 0x6d, tag] + (0..<40).map { UInt8($0) ^ tag }
    return item
}

/// The ethertype of an item (10-byte header + frame), or nil if too short.
func etherType(_ item: [UInt8]) -> UInt16? {
    item.count >= 24 ? UInt16(item[22]) << 8 | UInt16(item[23]) : nil
}
