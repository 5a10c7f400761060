import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import HostTap
import SystemPackage
import Testing
import Wire

/// Integration tests on real macvtaps inside namespaces this suite creates (MACVTAP-FACTS §0, §1, §3).
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct TapDeviceTests {
    @Test func openFindsTheDeviceInsideTheNamespaceAndProbesIt() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            let a = try TapDevice.open(interface: "mvA", netns: lab.netns)
            let b = try TapDevice.open(interface: "mvB", netns: lab.netns)
            #expect(a.mac == Lab.macA)
            #expect(b.mac == Lab.macB)
            #expect(a.name == "mvA")
            #expect(b.name == "mvB")
            #expect(a.flags.isSuperset(of: [.tap, .noPacketInformation, .vnetHeader]))
            #expect(!a.flags.contains(.tun))
            #expect(a.features.isSuperset(of: [.tap, .noPacketInformation, .vnetHeader]))
            #expect(a.vnetHeaderSize == 10)
            #expect(try a.currentMAC() == Lab.macA)
            #expect(a.fd >= 0 && a.fd != b.fd)
            // O_NONBLOCK and FD_CLOEXEC were set on open.
            #expect(fcntl(a.fd, F_GETFL) & O_NONBLOCK != 0)
            #expect(fcntl(a.fd, F_GETFD) & FD_CLOEXEC != 0)
            try a.checkAlive()
        }
    }

    /// MACVTAP-FACTS §0: a node may belong to another device; the MAC check on the fd catches it.
    @Test func aNodeOfAnotherDeviceIsRefusedByMAC() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            let nodeB = try MacvtapNode.locate(interface: "mvB", netns: lab.netns)
            #expect(nodeB.mac == Lab.macB)
            var stale = nodeB
            stale.mac = Lab.macA  // sysfs said mvA's MAC, but the numbers lead to mvB
            #expect(throws: TapError.macMismatch(interface: "mvA", expected: Lab.macA, got: Lab.macB)) {
                try TapDevice.open(node: stale, interface: "mvA")
            }
            // Right MAC, wrong name.
            #expect(throws: TapError.nameMismatch(expected: "mvA", got: "mvB")) {
                try TapDevice.open(node: nodeB, interface: "mvA")
            }
        }
    }

    @Test func aFrameWrittenOnOneBridgeMacvtapIsReadOnItsSibling() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            let a = try TapDevice.open(interface: "mvA", netns: lab.netns)
            let b = try TapDevice.open(interface: "mvB", netns: lab.netns)
            try a.setOffload([])
            let item = probeItem(destination: Lab.macB, source: Lab.macA, tag: 0x5a)
            #expect(try item.withUnsafeBytes { try a.write($0) } == .transferred(item.count))
            let received = try readItem(from: b) { etherType($0) == 0x88b5 }
            #expect(received == item)
            // Nothing was sent to A (bridge mode does not reflect to the sender, §1).
            var buffer = [UInt8](repeating: 0, count: TapDevice.readBufferSize)
            #expect(try buffer.withUnsafeMutableBytes { try a.read(into: $0) } == .wouldBlock)
        }
    }

    @Test func aReadThatFillsTheBufferIsReportedAsPossiblyTruncated() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            let a = try TapDevice.open(interface: "mvA", netns: lab.netns)
            let b = try TapDevice.open(interface: "mvB", netns: lab.netns)
            let item = probeItem(destination: Lab.macB, source: Lab.macA, tag: 0x33)
            _ = try item.withUnsafeBytes { try a.write($0) }
            var small = [UInt8](repeating: 0, count: 20)  // header + 10 bytes: the kernel truncates silently
            var descriptor = pollfd(fd: b.fd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&descriptor, 1, 2000) == 1)
            #expect(throws: TapError.readPossiblyTruncated(bufferSize: 20)) {
                try small.withUnsafeMutableBytes { try b.read(into: $0) }
            }
        }
    }

    @Test func userMistakesGiveTheirOwnErrors() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            #expect(throws: TapError.noSuchInterface(name: "nope0", netns: lab.netns)) {
                try TapDevice.open(interface: "nope0", netns: lab.netns)
            }
            let missing = "tvmt-\(getpid())-missing"
            #expect(throws: TapError.noSuchNamespace(missing)) {
                try TapDevice.open(interface: "mvA", netns: missing)
            }
            #expect(throws: TapError.notAMacvtap(name: "vA", netns: lab.netns)) {
                try TapDevice.open(interface: "vA", netns: lab.netns)
            }
            #expect(throws: TapError.invalidName(kind: "interface", name: "mv;ls")) {
                try TapDevice.open(interface: "mv;ls", netns: lab.netns)
            }
            #expect(throws: TapError.invalidName(kind: "interface", name: "abcdefghijklmnop")) {
                try TapDevice.open(interface: "abcdefghijklmnop", netns: lab.netns)
            }
            #expect(throws: TapError.invalidName(kind: "network namespace", name: "../x")) {
                try TapDevice.open(interface: "mvA", netns: "../x")
            }
        }
    }

    @Test func adoptTakesAnInheritedTapFdAndRefusesOthers() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            let a = try TapDevice.open(interface: "mvA", netns: lab.netns)
            let copy = dup(a.fd)
            try #require(copy >= 0)
            #expect(fcntl(copy, F_GETFD) & FD_CLOEXEC == 0)  // dup clears CLOEXEC; adopt sets it again
            let adopted = try TapDevice.adopt(fd: copy)
            #expect(adopted.mac == Lab.macA)
            #expect(adopted.name == "mvA")
            #expect(adopted.vnetHeaderSize == 10)
            #expect(fcntl(copy, F_GETFD) & FD_CLOEXEC != 0)
            #expect(fcntl(copy, F_GETFL) & O_NONBLOCK != 0)
            adopted.close()
            #expect(fcntl(copy, F_GETFD) == -1)  // the adopted device owned and closed it
            #expect(throws: TapError.badFileDescriptor(-1)) { try adopted.checkAlive() }

            let unused: Int32 = 999_999
            try #require(fcntl(unused, F_GETFD) == -1)
            #expect(throws: TapError.badFileDescriptor(unused)) { try TapDevice.adopt(fd: unused) }

            let null = Glibc.open("/dev/null", O_RDWR)
            try #require(null >= 0)
            defer { _ = Glibc.close(null) }
            #expect(throws: TapError.notATap(fd: null, errno: .inappropriateIOCTLForDevice)) {
                try TapDevice.adopt(fd: null)
            }
        }
    }

    @Test func checkAliveReportsADeletedDevice() throws {
        try withLab { lab in
            let (linkA, _) = try lab.addMacvtaps()
            let a = try TapDevice.open(interface: "mvA", netns: lab.netns)
            try a.checkAlive()
            // Delete mvA while `a` still holds it; the kernel hands its device number to the next macvtap created
            // anywhere, so a placeholder takes it in the same `ip -batch` (other tests run tapvm at the same time,
            // and tapvm refuses a macvtap whose number another process holds).
            _ = linkA
            let batch = NSTemporaryDirectory() + "tvmt-batch-\(getpid())"
            try "link del mvA\nlink add link vA name hold0 type macvtap mode bridge\n".write(toFile: batch, atomically: true, encoding: .utf8)
            defer { unlink(batch) }
            try lab.ip("-batch", batch)
            // Invisible to read (EAGAIN), only the ioctl tells (MACVTAP-FACTS §3g).
            var buffer = [UInt8](repeating: 0, count: TapDevice.readBufferSize)
            #expect(try buffer.withUnsafeMutableBytes { try a.read(into: $0) } == .wouldBlock)
            #expect(throws: TapError.deviceGone(interface: "mvA")) { try a.checkAlive() }
            #expect(throws: TapError.noSuchInterface(name: "mvA", netns: lab.netns)) {
                try TapDevice.open(interface: "mvA", netns: lab.netns)
            }
        }
    }

    /// MACVTAP-FACTS §3b: UDP from the LAN arrives with NEEDS_CSUM and a partial checksum by default, and with
    /// flags 0 and a complete checksum after TUNSETOFFLOAD(0).
    @Test func setOffloadEmptyDeliversCompleteChecksums() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            try lab.ip("address", "add", "198.51.100.2/24", "dev", "vB")
            try lab.ip("neigh", "replace", "198.51.100.10", "lladdr", Lab.macA.description, "dev", "vB",
                       "nud", "permanent")
            let a = try TapDevice.open(interface: "mvA", netns: lab.netns)
            let isProbeDatagram: ([UInt8]) -> Bool = { item in
                etherType(item) == 0x0800 && item.count > 10 + 14 + 20 + 8 && item[10 + 14 + 9] == 17
                    && item[10 + 14 + 22] == 0x1b && item[10 + 14 + 23] == 0x58  // destination port 7000
            }
            func send() throws {
                try SystemCommand.check(["ip", "netns", "exec", lab.netns, "bash", "-c",
                                         "printf tapvm-offload > /dev/udp/198.51.100.10/7000"])
            }
            try send()
            let partial = try #require(try readItem(from: a, where: isProbeDatagram))
            #expect(partial[0] == 1)  // VIRTIO_NET_HDR_F_NEEDS_CSUM
            #expect(!udpChecksumIsValid(partial))

            try a.setOffload([])
            try send()
            let complete = try #require(try readItem(from: a, where: isProbeDatagram))
            #expect(complete[0] == 0)
            #expect(udpChecksumIsValid(complete))
            #expect(Array(complete[(10 + 14 + 28)...]) == Array("tapvm-offload".utf8))
        }
    }
}

/// The RFC 768 checksum of the IPv4/UDP datagram in `item` (10-byte header, 14-byte Ethernet, IHL 5) verifies.
private func udpChecksumIsValid(_ item: [UInt8]) -> Bool {
    let ip = 10 + 14
    let udp = ip + 20
    let udpLength = Int(item[udp + 4]) << 8 | Int(item[udp + 5])
    guard udp + udpLength <= item.count else { return false }
    var sum = 0
    func add(_ bytes: ArraySlice<UInt8>) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let high = Int(bytes[index]) << 8
            let low = index + 1 < bytes.endIndex ? Int(bytes[index + 1]) : 0
            sum += high | low
            index += 2
        }
    }
    add(item[(ip + 12)..<(ip + 20)])  // source and destination address
    sum += 17 + udpLength
    add(item[udp..<(udp + udpLength)])
    while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
    return sum == 0xffff
}
