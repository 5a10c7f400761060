#if canImport(Glibc)
import Glibc
#endif
@testable import HostTap
import Testing
import Wire

/// The namespace thread, the private sysfs locator and the holder scan, on namespaces this suite creates.
@Suite(.serialized, .enabled(if: isRoot, Comment(rawValue: needsRoot)))
struct NetworkNamespaceTests {
    /// The inode of a network namespace file: equal inodes, same namespace.
    static func namespaceInode(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    @Test func performRunsTheBodyInsideTheNamespaceAndLeavesTheCallerWhereItWas() throws {
        try withLab { lab in
            let callerBefore = try #require(Self.namespaceInode("/proc/thread-self/ns/net"))
            let target = try #require(Self.namespaceInode("/run/netns/\(lab.netns)"))
            try #require(callerBefore != target)
            let (inside, index) = try NetworkNamespace.perform(in: lab.netns) {
                (Self.namespaceInode("/proc/thread-self/ns/net"), if_nametoindex("vA"))
            }
            #expect(inside == target)
            #expect(index != 0)  // vA exists only in the lab
            #expect(Self.namespaceInode("/proc/thread-self/ns/net") == callerBefore)
            // nil: the caller's own thread and namespace.
            #expect(try NetworkNamespace.perform(in: nil) { Self.namespaceInode("/proc/thread-self/ns/net") } == callerBefore)
        }
    }

    @Test func performReportsAMissingNamespaceAndPassesTheBodysError() throws {
        let missing = "tvmt-\(getpid())-none"
        #expect(throws: TapError.noSuchNamespace(missing)) {
            try NetworkNamespace.perform(in: missing) { 1 }
        }
        try withLab { lab in
            #expect(throws: TapError.deviceGone(interface: "x")) {
                try NetworkNamespace.perform(in: lab.netns) { () throws(TapError) -> Int in throw .deviceGone(interface: "x") }
            }
        }
    }

    /// The private sysfs instance reports what `ip netns exec` + the script report.
    @Test func theSysfsLocatorAgreesWithTheScriptLocator() throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            for name in ["mvA", "mvB"] {
                let fast = try MacvtapNode.locate(interface: name, netns: lab.netns)
                let script = try MacvtapNode.locateWithScript(interface: name, netns: lab.netns)
                #expect(fast == script)
            }
            #expect(fastMAC(try MacvtapNode.locate(interface: "mvA", netns: lab.netns)) == Lab.macA)
            for name in ["vA", "nope0"] {
                let report = try NetworkNamespace.perform(in: lab.netns) { SysfsMount.make()?.locatorReport(interface: name) }
                #expect(report == (name == "vA" ? "NOTMACVTAP\n" : "NOIF\n"))
            }
        }
    }

    /// MACVTAP-FACTS §0: two namespaces with the same interface name; each lookup sees only its own namespace.
    @Test func theSameNameInTwoNamespacesLeadsToEachNamespacesOwnDevice() throws {
        try withLab { first in
            try withLab { second in
                let macC = MACAddress(0x02, 0, 0, 0, 0, 0x0c)
                _ = try MacvtapLink.create(name: "mvA", lower: "vA", netns: first.netns, mode: .bridge, address: Lab.macA)
                _ = try MacvtapLink.create(name: "mvA", lower: "vA", netns: second.netns, mode: .bridge, address: macC)
                let one = try MacvtapNode.locate(interface: "mvA", netns: first.netns)
                let two = try MacvtapNode.locate(interface: "mvA", netns: second.netns)
                #expect(one.mac == Lab.macA && two.mac == macC)
                #expect(one.major == two.major && one.minor != two.minor)
                #expect(try TapDevice.open(interface: "mvA", netns: first.netns).mac == Lab.macA)
                #expect(try TapDevice.open(interface: "mvA", netns: second.netns).mac == macC)
            }
        }
    }

    /// MACVTAP-FACTS §6: another process holding a queue of the device is found, and `open` refuses the device;
    /// the holder's fd is 3 or 200 (any fd number, not only the first few).
    @Test(arguments: [Int32(3), 200])
    func anotherHolderIsFoundAndTheDeviceRefused(holderFD: Int32) throws {
        try withLab { lab in
            _ = try lab.addMacvtaps()
            let device = try TapDevice.open(interface: "mvA", netns: lab.netns)
            #expect(TapDevice.otherHolders(of: device.fd).isEmpty)
            #expect(throws: Never.self) { try TapHolderCheck(fd: device.fd, interface: "mvA").wait() }
            // A child that inherits the fd as `holderFD` and sleeps.
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, device.fd, holderFD)
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("20"), nil]
            defer { for pointer in argv { free(pointer) } }
            var pid: pid_t = 0
            try #require(posix_spawn(&pid, "/bin/sleep", &actions, nil, argv, nil) == 0)
            defer {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            #expect(TapDevice.otherHolders(of: device.fd) == [TapHolder(pid: pid, command: "sleep")])
            #expect(throws: TapError.sharedDevice(interface: "mvA", holder: TapHolder(pid: pid, command: "sleep"))) {
                try TapDevice.open(interface: "mvA", netns: lab.netns)
            }
            // In the background: the open succeeds, the check refuses; closing the fd first changes nothing.
            let (late, check) = try TapDevice.openCheckingHoldersInBackground(interface: "mvA", netns: lab.netns)
            late.close()
            #expect(throws: TapError.sharedDevice(interface: "mvA", holder: TapHolder(pid: pid, command: "sleep"))) {
                try check.wait()
            }
            #expect(throws: TapError.sharedDevice(interface: "mvA", holder: TapHolder(pid: pid, command: "sleep"))) {
                try check.wait()
            }
        }
    }

    private func fastMAC(_ node: MacvtapNode) -> MACAddress { node.mac }
}
