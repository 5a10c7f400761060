import Glibc
import Virtio  // Duration.pollTimeoutMilliseconds
import Wire

/// Watches the kernel's rtnetlink multicast group for IPv4 addresses (RTMGRP_IPV4_IFADDR), to time a DHCP client
/// from its start to the moment its address appears on the interface, as `../shared/anchors/dhcptime.py` does.
///
/// The socket belongs to the network namespace of the thread that creates it (rtnetlink(7), netlink(7)).
final class BenchAddressMonitor {
    /// <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_addr.h>: not exported by Glibc's module.
    static let netlinkRoute: Int32 = 0            // NETLINK_ROUTE
    static let ipv4AddressGroup: UInt32 = 0x10     // RTMGRP_IPV4_IFADDR
    static let newAddress: UInt16 = 20             // RTM_NEWADDR
    static let headerLength = 16                   // struct nlmsghdr
    static let addressMessageLength = 8            // struct ifaddrmsg
    static let attributeAddress: UInt16 = 1        // IFA_ADDRESS
    static let attributeLocal: UInt16 = 2          // IFA_LOCAL

    private let fd: Int32

    /// Opens and binds the socket; from then on every new IPv4 address in this namespace is queued on it.
    init() throws(TapVMError) {
        fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.netlinkRoute)
        guard fd >= 0 else { throw .commandFailed("socket(AF_NETLINK)", String(cString: strerror(errno))) }
        // struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; }
        var address = [UInt8](repeating: 0, count: 12)
        address.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt16(AF_NETLINK), toByteOffset: 0, as: UInt16.self)
            bytes.storeBytes(of: Self.ipv4AddressGroup, toByteOffset: 8, as: UInt32.self)
        }
        let status = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard status == 0 else {
            let message = String(cString: strerror(errno))
            _ = close(fd)
            throw .commandFailed("bind(AF_NETLINK, RTMGRP_IPV4_IFADDR)", message)
        }
    }

    deinit { _ = close(fd) }

    /// Blocks (poll, no timer tick) until an IPv4 address appears on interface `index`, or `deadline` passes.
    /// Returns the address and the instant its notification was read.
    func waitForAddress(interfaceIndex index: UInt32, until deadline: ContinuousClock.Instant)
        -> (address: IPv4Address, at: ContinuousClock.Instant)? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, left.pollTimeoutMilliseconds)
            if ready < 0 && errno != EINTR { return nil }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            let now = ContinuousClock.now
            guard count > 0 else { continue }
            if let address = buffer.withUnsafeBytes({ Self.newIPv4Addresses(in: UnsafeRawBufferPointer(rebasing: $0[..<count]), interfaceIndex: index).first }) {
                return (address, now)
            }
        }
    }

    /// The IPv4 addresses (IFA_LOCAL, else IFA_ADDRESS) announced by the RTM_NEWADDR messages for interface
    /// `index` in one datagram of netlink messages (netlink(7), rtnetlink(7); host byte order, 4-byte aligned).
    /// Anything truncated or malformed ends the walk; it never traps.
    static func newIPv4Addresses(in datagram: UnsafeRawBufferPointer, interfaceIndex index: UInt32) -> [IPv4Address] {
        var found: [IPv4Address] = []
        var offset = 0
        while offset + headerLength <= datagram.count {
            let length = Int(datagram.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let type = datagram.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            guard length >= headerLength, offset + length <= datagram.count else { break }
            let body = offset + headerLength
            if type == newAddress, length >= headerLength + addressMessageLength,
               datagram[body] == UInt8(AF_INET),
               datagram.loadUnaligned(fromByteOffset: body + 4, as: UInt32.self) == index {
                var local: IPv4Address?, address: IPv4Address?
                var attribute = body + addressMessageLength
                while attribute + 4 <= offset + length {
                    let attributeLength = Int(datagram.loadUnaligned(fromByteOffset: attribute, as: UInt16.self))
                    let attributeType = datagram.loadUnaligned(fromByteOffset: attribute + 2, as: UInt16.self)
                    guard attributeLength >= 4, attribute + attributeLength <= offset + length else { break }
                    if attributeLength >= 8 {
                        let value = IPv4Address(datagram[attribute + 4], datagram[attribute + 5],
                                                datagram[attribute + 6], datagram[attribute + 7])
                        if attributeType == attributeLocal { local = value }
                        if attributeType == attributeAddress { address = value }
                    }
                    attribute += (attributeLength + 3) & ~3
                }
                if let value = local ?? address { found.append(value) }
            }
            offset += (length + 3) & ~3
        }
        return found
    }
}
