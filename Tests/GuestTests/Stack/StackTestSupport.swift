import Testing
@testable import Guest
import Wire

// Shared fixtures for the stack tests: addresses, frame builders and parsers built from Wire values, a fake DHCP
// server, and a harness that steps a manual clock.

enum Lab {
    static let clientMAC = MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0xaa)
    static let serverMAC = MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0x01)
    static let peerMAC = MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0x42)
    static let server = IPv4Address(198, 51, 100, 1)
    static let offered = IPv4Address(198, 51, 100, 23)
    static let peer = IPv4Address(198, 51, 100, 66)
    static let dns = IPv4Address(198, 51, 100, 53)
}

// MARK: Builders

func bytes(_ length: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows -> [UInt8] {
    var array = [UInt8](repeating: 0, count: length)
    try array.withUnsafeMutableBytes { try body($0) }
    return array
}

func ethernetFrame(to destination: MACAddress, from source: MACAddress, type: EtherType, payload: [UInt8]) throws -> [UInt8] {
    let header = EthernetHeader(destination: destination, source: source, etherType: type)
    return try bytes(header.encodedLength + payload.count) { buffer in
        try header.emit(into: buffer)
        UnsafeMutableRawBufferPointer(rebasing: buffer[14...]).copyBytes(from: payload)
    }
}

func arpFrame(_ message: ARPMessage, to destination: MACAddress) throws -> [UInt8] {
    let body = try bytes(message.encodedLength) { try message.emit(into: $0) }
    return try ethernetFrame(to: destination, from: message.senderHardwareAddress, type: .arp, payload: body)
}

func ipv4Packet(source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, payload: [UInt8]) throws -> [UInt8] {
    let header = IPv4Header(source: source, destination: destination, protocol: `protocol`, payloadLength: payload.count,
                            identification: 0x1234)
    return try bytes(header.totalLength) { buffer in
        try header.emit(into: buffer)
        UnsafeMutableRawBufferPointer(rebasing: buffer[header.headerLength...]).copyBytes(from: payload)
    }
}

func udpDatagram(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8], source: IPv4Address, destination: IPv4Address) throws -> [UInt8] {
    let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
    return try bytes(header.length) { buffer in
        try header.emit(into: buffer)
        UnsafeMutableRawBufferPointer(rebasing: buffer[8...]).copyBytes(from: payload)
        UDPHeader.fillChecksum(datagram: buffer, source: source, destination: destination)
    }
}

func icmpFrame(_ message: ICMPv4Message, from source: IPv4Address, sourceMAC: MACAddress, to destination: IPv4Address) throws -> [UInt8] {
    let body = try bytes(message.encodedLength) { try message.emit(into: $0) }
    let packet = try ipv4Packet(source: source, destination: destination, protocol: .icmp, payload: body)
    return try ethernetFrame(to: Lab.clientMAC, from: sourceMAC, type: .ipv4, payload: packet)
}

// MARK: Parsers (of what the stack sent)

func parseEthernet(_ frame: [UInt8]) throws -> (header: EthernetHeader, payload: [UInt8]) {
    try frame.withUnsafeBytes { raw in
        let view = try EthernetFrame(raw)
        return (EthernetHeader(view), Array(view.payload))
    }
}

func parseARP(_ frame: [UInt8]) throws -> ARPMessage {
    let (header, payload) = try parseEthernet(frame)
    #expect(header.etherType == .arp)
    return try payload.withUnsafeBytes { ARPMessage(try ARPPacket($0)) }
}

struct ParsedIPv4 {
    var ethernet: EthernetHeader
    var header: IPv4Header
    var headerChecksumValid: Bool
    var payload: [UInt8]
}

func parseIPv4(_ frame: [UInt8]) throws -> ParsedIPv4 {
    let (ethernet, payload) = try parseEthernet(frame)
    return try payload.withUnsafeBytes { raw in
        let view = try IPv4Packet(raw)
        return ParsedIPv4(ethernet: ethernet, header: IPv4Header(view), headerChecksumValid: view.isHeaderChecksumValid,
                          payload: Array(view.payload))
    }
}

struct ParsedUDP {
    var ip: ParsedIPv4
    var header: UDPHeader
    var checksum: UInt16
    var checksumValid: Bool
    var payload: [UInt8]
}

func parseUDP(_ frame: [UInt8]) throws -> ParsedUDP {
    let ip = try parseIPv4(frame)
    #expect(ip.header.protocol == .udp)
    return try ip.payload.withUnsafeBytes { raw in
        let view = try UDPDatagram(raw)
        return ParsedUDP(ip: ip, header: UDPHeader(view), checksum: view.checksum,
                         checksumValid: view.isChecksumValid(source: ip.header.source, destination: ip.header.destination),
                         payload: Array(view.payload))
    }
}

func parseDHCP(_ frame: [UInt8]) throws -> DHCPMessage {
    let udp = try parseUDP(frame)
    return try udp.payload.withUnsafeBytes { try DHCPMessage(DHCPPacket($0)) }
}

func parseICMP(_ frame: [UInt8]) throws -> (ip: ParsedIPv4, message: ICMPv4Message, checksumValid: Bool) {
    let ip = try parseIPv4(frame)
    return try ip.payload.withUnsafeBytes { raw in
        let view = try ICMPv4Packet(raw)
        return (ip, ICMPv4Message(view), view.isChecksumValid)
    }
}

func isDHCP(_ frame: [UInt8]) -> Bool { (try? parseDHCP(frame)) != nil }
func isARP(_ frame: [UInt8]) -> Bool { (try? parseEthernet(frame).header.etherType) == .arp }

// MARK: A fake DHCP server built from Wire values

struct FakeDHCPServer {
    var mac = Lab.serverMAC
    var address = Lab.server
    var offered = Lab.offered
    var subnetMask = IPv4Address.mask(prefixLength: 24)
    var router: IPv4Address? = Lab.server
    var dnsServers = [Lab.dns]
    var leaseSeconds: UInt32 = 3600
    var renewalSeconds: UInt32?
    var rebindingSeconds: UInt32?
    var sourcePort: UInt16 = 67

    /// An OFFER, ACK or NAK answering `request`, as a frame to the client (unicast to yiaddr, NAK broadcast).
    /// `destination` overrides the IPv4 destination (a renewal's ACK goes to ciaddr, RFC 2131 §4.1).
    func reply(_ type: DHCPMessageType, to request: DHCPMessage, transactionID: UInt32? = nil,
               clientHardwareAddress: MACAddress? = nil, destination: IPv4Address? = nil) throws -> [UInt8] {
        var options: [DHCPOption] = [.messageType(type), .serverIdentifier(address)]
        if type != .nak {
            options += [.ipAddressLeaseTime(leaseSeconds), .address(.subnetMask, subnetMask),
                        .addresses(.domainNameServer, dnsServers)]
            if let router { options.append(.addresses(.router, [router])) }
            if let renewalSeconds { options.append(.uint32(.renewalTime, renewalSeconds)) }
            if let rebindingSeconds { options.append(.uint32(.rebindingTime, rebindingSeconds)) }
        }
        let message = DHCPMessage(op: .bootReply, transactionID: transactionID ?? request.transactionID,
                                  flags: request.flags, clientAddress: type == .nak ? .any : request.clientAddress,
                                  yourAddress: type == .nak ? .any : offered, serverAddress: address,
                                  clientHardwareAddress: clientHardwareAddress ?? request.clientHardwareAddress,
                                  options: options)
        let body = try bytes(message.encodedLength) { try message.emit(into: $0) }
        let destination = destination ?? (type == .nak ? IPv4Address.broadcast : offered)
        let udp = try udpDatagram(sourcePort: sourcePort, destinationPort: 68, payload: body, source: address, destination: destination)
        let packet = try ipv4Packet(source: address, destination: destination, protocol: .udp, payload: udp)
        return try ethernetFrame(to: type == .nak ? .broadcast : request.clientHardwareAddress, from: mac, type: .ipv4, payload: packet)
    }

    /// Answers the ARP requests for the server's address in `frame`, if it is one.
    func answerARP(_ frame: [UInt8]) throws -> [[UInt8]] {
        guard isARP(frame) else { return [] }
        let message = try parseARP(frame)
        guard message.operation == .request, message.targetProtocolAddress == address else { return [] }
        return [try arpReply(to: message)]
    }

    /// The server's answer to an ARP request for its address.
    func arpReply(to request: ARPMessage) throws -> [UInt8] {
        try arpFrame(ARPMessage(operation: .reply, senderHardwareAddress: mac, senderProtocolAddress: address,
                                targetHardwareAddress: request.senderHardwareAddress,
                                targetProtocolAddress: request.senderProtocolAddress),
                     to: request.senderHardwareAddress)
    }
}

// MARK: Harness

/// A stack on a manual clock: feeds frames, collects what it sends with the instant it was sent.
final class StackHarness {
    let clock = ManualClock()
    let stack: NetworkStack
    var server = FakeDHCPServer()
    var events: [StackEvent] = []

    init(seed: UInt64 = 7, configure: (inout StackConfiguration) -> Void = { _ in }) {
        var configuration = StackConfiguration(mac: Lab.clientMAC, hostname: "tapvm-guest")
        // The IPv4 tests count every frame sent; IPv6 tests turn it back on (IPv6Harness).
        configuration.ipv6.enabled = false
        configure(&configuration)
        stack = NetworkStack(configuration: configuration, random: SeededGenerator(seed: seed))
    }

    var now: Instant { clock.now() }

    func start() { stack.start(now: now) }

    func receive(_ frame: [UInt8]) {
        frame.withUnsafeBytes { stack.receive(frame: $0, now: now) }
    }

    /// Frames queued for transmission since the last call.
    func sent() -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = stack.dequeueTransmit() { frames.append(frame) }
        return frames
    }

    func drainEvents() -> [StackEvent] {
        let new = stack.drainEvents()
        events += new
        return new
    }

    func advance(by duration: Duration) {
        clock.advance(by: duration)
        stack.poll(now: now)
    }

    /// Steps from deadline to deadline until `limit`, returning every frame sent with the instant it was sent.
    /// `respond` answers a sent frame at the same instant (for example a peer answering ARP).
    func run(until limit: Instant) -> [(at: Instant, frame: [UInt8])] {
        // The responder never throws, so neither does this.
        (try? run(until: limit, respond: { _ in [] })) ?? []
    }

    func run(until limit: Instant, respond: ([UInt8]) throws -> [[UInt8]]) throws -> [(at: Instant, frame: [UInt8])] {
        var log: [(Instant, [UInt8])] = []
        for _ in 0 ..< 10_000 {
            guard let deadline = stack.nextDeadline(), deadline <= limit else { break }
            clock.advance(to: deadline)
            stack.poll(now: now)
            var pending = sent()
            while !pending.isEmpty {
                let frame = pending.removeFirst()
                log.append((now, frame))
                for reply in try respond(frame) { receive(reply) }
                pending += sent()
            }
        }
        clock.advance(to: limit)
        return log
    }

    /// Runs DISCOVER/OFFER/REQUEST/ACK with the fake server (10 ms per hop) and returns the lease.
    @discardableResult
    func bind() throws -> DHCPLease {
        start()
        let discover = try parseDHCP(try #require(sent().first(where: isDHCP)))
        advance(by: .milliseconds(10))
        receive(try server.reply(.offer, to: discover))
        let request = try parseDHCP(try #require(sent().first(where: isDHCP)))
        advance(by: .milliseconds(10))
        receive(try server.reply(.ack, to: request))
        return try #require(stack.lease)
    }
}

extension StackEvent {
    var transition: DHCPClient.Transition? {
        if case let .dhcp(transition) = self { return transition }
        return nil
    }
}
