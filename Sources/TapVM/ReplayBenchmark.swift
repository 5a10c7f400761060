import Capture
import Foundation
import Guest
import Virtio
import Wire

/// `tapvm bench replay`: frames per second through the pcap parser and the guest stack on the virtual clock.
///
/// Builds a synthetic capture of lab traffic addressed to the guest (a DHCP OFFER and ACK for its own xid, then
/// per 100 frames: 60 ARP requests for other hosts, 30 UDP broadcasts to a closed port, 9 pings to another
/// address sent to the guest's MAC, 1 ARP request for the guest, which it answers), 1 µs apart, and replays it at
/// `--speed max`. Only the replay is timed (reading the file, parsing, the stack).
public enum ReplayBenchmark {
    public struct Result: Sendable {
        public var frames: Int
        public var delivered: Int
        public var framesOut: Int
        public var seconds: Double
        public var framesPerSecond: Double { Double(frames) / seconds }
    }

    static let guestMAC = MACAddress(0x02, 0, 0, 0, 0xbe, 0x01)
    static let serverMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
    static let server = IPv4Address(198, 51, 100, 1)
    static let leased = IPv4Address(198, 51, 100, 50)
    static let bootTime = PcapTimestamp(seconds: 1_700_000_000, nanoseconds: 0)

    /// Writes the synthetic capture of `frames` frames (at least the two DHCP ones) to `path`.
    public static func writeCapture(to path: String, frames: Int, seed: UInt64) throws(PcapError) {
        // The guest's DISCOVER tells the xid the server must answer (the stack is deterministic).
        let probe = NetworkStack(configuration: StackConfiguration(mac: guestMAC), random: SeededGenerator(seed: seed))
        probe.start(now: .boot)
        var xid: UInt32 = 0
        while let frame = probe.dequeueTransmit() {
            if let value = FrameFields(frame).fields.first(where: { $0.name == "xid" })?.value {
                xid = UInt32(value.dropFirst(2), radix: 16) ?? 0
            }
        }
        let writer = try PcapWriter(path: path, nanosecond: true)
        var stamp = bootTime.adding(nanoseconds: 1_000_000)
        func write(_ frame: [UInt8]) throws(PcapError) {
            var failure: PcapError?
            frame.withUnsafeBytes { bytes in
                do throws(PcapError) { try writer.write(frame: bytes, timestamp: stamp) } catch { failure = error }
            }
            if let failure { throw failure }
            stamp = stamp.adding(nanoseconds: 1_000)
        }
        try write(dhcpReply(.offer, xid: xid))
        try write(dhcpReply(.ack, xid: xid))
        let templates: [[UInt8]] = (0..<100).map { slot in
            let host = IPv4Address(198, 51, 100, UInt8(100 + slot))
            let hostMAC = MACAddress(0x02, 0, 0, 0, 0x10, UInt8(slot))
            switch slot {
            case 0..<60:
                return arpRequest(from: hostMAC, host, for: IPv4Address(198, 51, 100, UInt8(200 + slot % 50)))
            case 60..<90:
                let datagram = udp(from: host, to: IPv4Address(198, 51, 100, 255), sourcePort: 137, destinationPort: 137,
                                   payload: [UInt8](repeating: 0x20, count: 50))
                return ethernet(to: .broadcast, from: hostMAC, .ipv4, datagram)
            case 90..<99:
                var icmp = [UInt8](repeating: 0, count: 64)
                let message = ICMPv4Message.echoRequest(identifier: 0x4242, sequenceNumber: UInt16(slot),
                                                        payload: [UInt8](repeating: 0x61, count: 56))
                icmp.withUnsafeMutableBytes { try? message.emit(into: $0) }
                return ethernet(to: guestMAC, from: hostMAC, .ipv4,
                                ipv4(from: host, to: IPv4Address(198, 51, 100, 77), .icmp, icmp))
            default:
                return arpRequest(from: hostMAC, host, for: leased)
            }
        }
        for index in 0..<max(0, frames - 2) { try write(templates[index % 100]) }
        try writer.close()
    }

    /// Replays `path` as the benchmark's guest and times it.
    public static func replay(path: String, seed: UInt64) throws(PcapError) -> Result {
        var guest = ReplayGuest(mac: guestMAC, stackSeed: seed, configuration: StackConfiguration(mac: guestMAC))
        guest.bootTime = bootTime
        var framesOut = 0
        let replayer = Replayer(guest: guest, onTransmit: { _, _ in framesOut += 1 })
        let reader = try PcapReader(path: path)
        let start = ContinuousClock.now
        while try reader.withNextFrame({ stamp, frame, _ in replayer.feed(timestamp: stamp, frame: frame) }) {}
        replayer.finish()
        let elapsed = ContinuousClock.now - start
        return Result(frames: replayer.framesIn, delivered: replayer.delivered, framesOut: framesOut,
                      seconds: Double(elapsed.nanoseconds) / 1e9)
    }

    static func dhcpReply(_ type: DHCPMessageType, xid: UInt32) -> [UInt8] {
        let message = DHCPMessage(op: .bootReply, transactionID: xid, yourAddress: leased, serverAddress: server,
                                  clientHardwareAddress: guestMAC,
                                  options: [.messageType(type), .serverIdentifier(server), .ipAddressLeaseTime(3600),
                                            .address(.subnetMask, IPv4Address(255, 255, 255, 0)), .address(.router, server)])
        var body = [UInt8](repeating: 0, count: message.encodedLength)
        body.withUnsafeMutableBytes { try? message.emit(into: $0) }
        return ethernet(to: guestMAC, from: serverMAC, .ipv4,
                        udp(from: server, to: leased, sourcePort: DHCPPacket.serverPort, destinationPort: DHCPPacket.clientPort,
                            payload: body))
    }

    static func arpRequest(from mac: MACAddress, _ address: IPv4Address, for target: IPv4Address) -> [UInt8] {
        let message = ARPMessage(operation: .request, senderHardwareAddress: mac, senderProtocolAddress: address,
                                 targetHardwareAddress: .zero, targetProtocolAddress: target)
        var bytes = [UInt8](repeating: 0, count: message.encodedLength)
        bytes.withUnsafeMutableBytes { try? message.emit(into: $0) }
        return ethernet(to: .broadcast, from: mac, .arp, bytes)
    }

    static func udp(from source: IPv4Address, to destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                    payload: [UInt8]) -> [UInt8] {
        let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
        var datagram = [UInt8](repeating: 0, count: header.length)
        datagram.withUnsafeMutableBytes { buffer in
            try? header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[UDPDatagram.headerLength...]).copyBytes(from: payload)
            UDPHeader.fillChecksum(datagram: buffer, source: source, destination: destination)
        }
        return ipv4(from: source, to: destination, .udp, datagram)
    }

    static func ipv4(from source: IPv4Address, to destination: IPv4Address, _ protocolNumber: IPProtocol, _ payload: [UInt8]) -> [UInt8] {
        let header = IPv4Header(source: source, destination: destination, protocol: protocolNumber,
                                payloadLength: payload.count, timeToLive: 64, identification: 1)
        var packet = [UInt8](repeating: 0, count: header.totalLength)
        packet.withUnsafeMutableBytes { buffer in
            try? header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[header.headerLength...]).copyBytes(from: payload)
        }
        return packet
    }

    static func ethernet(to destination: MACAddress, from source: MACAddress, _ type: EtherType, _ payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: max(EthernetFrame.minimumLength, EthernetFrame.headerLength + payload.count))
        frame.withUnsafeMutableBytes { buffer in
            try? EthernetHeader(destination: destination, source: source, etherType: type).emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[EthernetFrame.headerLength...]).copyBytes(from: payload)
        }
        return frame
    }
}
