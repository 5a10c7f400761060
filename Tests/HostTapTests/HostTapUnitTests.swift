@testable import HostTap
import SystemPackage
import Testing
import Wire

/// Tests that need no root: name checks, sysfs parsing, error lines.
struct HostTapUnitTests {
    @Test(arguments: ["mvA", "macvtap0", "a.b-c_d", "123456789012345"])
    func acceptsInterfaceNames(_ name: String) {
        #expect(NetworkName.isValid(name, maximumLength: 15))
    }

    @Test(arguments: ["", ".", "..", "-x", "a/b", "a b", "a;b", "$(x)", "1234567890123456", "é"])
    func rejectsInterfaceNames(_ name: String) {
        #expect(!NetworkName.isValid(name, maximumLength: 15))
    }

    @Test func parsesTheLocatorOutput() throws {
        let node = try MacvtapNode.parse("MAC 02:00:00:00:01:01\nDEV 246:2\n", interface: "mvt0", netns: "x")
        #expect(node == MacvtapNode(mac: MACAddress(0x02, 0, 0, 0, 0x01, 0x01), major: 246, minor: 2))
        #expect(throws: TapError.noSuchInterface(name: "mvt0", netns: "x")) {
            try MacvtapNode.parse("NOIF\n", interface: "mvt0", netns: "x")
        }
        #expect(throws: TapError.notAMacvtap(name: "mvt0", netns: nil)) {
            try MacvtapNode.parse("NOTMACVTAP\n", interface: "mvt0", netns: nil)
        }
        #expect(throws: TapError.deviceGone(interface: "mvt0")) {
            try MacvtapNode.parse("MAC 02:00:00:00:01:01\n", interface: "mvt0", netns: nil)
        }
        #expect(throws: TapError.unexpectedSysfs(interface: "mvt0", detail: "bad dev '246'")) {
            try MacvtapNode.parse("MAC 02:00:00:00:01:01\nDEV 246\n", interface: "mvt0", netns: nil)
        }
    }

    @Test func errorDescriptionsAreOneLine() {
        let errors: [TapError] = [
            .permissionDenied(operation: "mknod /tmp/x/tap"), .noSuchNamespace("lab"),
            .noSuchInterface(name: "mv0", netns: nil), .notAMacvtap(name: "eth0", netns: "lab"),
            .macMismatch(interface: "mv0", expected: .broadcast, got: .zero), .deviceGone(interface: "mv0"),
            .writeFailed(errno: .invalidArgument, length: 5), .readPossiblyTruncated(bufferSize: 1518),
            .commandFailed(command: "ip link add", status: 2, message: "RTNETLINK answers: File exists"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(error.description.count > 20)
        }
        #expect(TapError.macMismatch(interface: "mv0", expected: .broadcast, got: .zero).description
            .contains("ff:ff:ff:ff:ff:ff"))
    }

    @Test func offloadBitsMatchTheUapiHeader() {
        #expect(TapOffload.checksum.rawValue == 0x01)
        #expect(TapOffload.tcp4Segmentation.rawValue == 0x02)
        #expect(TapOffload.tcp6Segmentation.rawValue == 0x04)
        #expect(TapOffload.tcpECN.rawValue == 0x08)
        #expect(TapOffload.udpFragmentation.rawValue == 0x10)
        #expect(TapInterfaceFlags(rawValue: 0x5002).description == "TAP|NO_PI|VNET_HDR")
    }

    /// /proc/net/if_inet6 lines (Linux net/ipv6/addrconf.c if6_seq_show): only the named device's, as ip prints them.
    @Test func parsesTheInterfaceAddressTable() {
        let table = """
            00000000000000000000000000000001 01 80 10 80       lo
            fe8000000000000000aabbfffecc0671 05 40 20 80     mvq0
            20010db8000000010000000000000002 05 40 00 00     mvq0
            fe800000000000000000000000000009 06 40 20 80    mvq01
            malformed line
            """
        #expect(MacvtapLink.parseInterfaceAddresses(table, device: "mvq0") == ["fe80::aa:bbff:fecc:671/64", "2001:db8:0:1::2/64"])
        #expect(MacvtapLink.parseInterfaceAddresses(table, device: "lo") == ["::1/128"])
        #expect(MacvtapLink.parseInterfaceAddresses("", device: "mvq0").isEmpty)
    }
}
