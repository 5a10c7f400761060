import Testing
@testable import Guest
import Wire

// IPv6 fixtures: addresses on the lab link, frame builders from Wire values, parsers of what the stack sent, and a
// harness with IPv6 on.

enum Lab6 {
    static let routerMAC = Lab.serverMAC
    static let router = IPv6Address("fe80::1")!
    static let router2MAC = MACAddress(0x02, 0x00, 0x5e, 0x10, 0x20, 0x02)
    static let router2 = IPv6Address("fe80::2")!
    static let peerMAC = Lab.peerMAC
    static let peer = IPv6Address("fe80::42")!
    static let prefix = IPv6Address("2001:db8:1::")!
    static let dns = IPv6Address("2001:db8:1::53")!
    static let clientIdentifier = IPv6Address.interfaceIdentifier(modifiedEUI64: Lab.clientMAC)
    static let clientLinkLocal = IPv6Address.linkLocal(interfaceIdentifier: clientIdentifier)
    static let clientGlobal = IPv6Address(prefix: prefix, interfaceIdentifier: clientIdentifier)
}

/// An IPv6 frame; `hopByHop` adds that header before the payload.
func ipv6Frame(from sourceMAC: MACAddress, to destinationMAC: MACAddress, source: IPv6Address, destination: IPv6Address,
               nextHeader: IPProtocol, hopLimit: UInt8 = 64, payload: [UInt8]) throws -> [UInt8] {
    let header = IPv6Header(source: source, destination: destination, nextHeader: nextHeader, payloadLength: payload.count,
                            hopLimit: hopLimit)
    let packet = try bytes(40 + payload.count) { buffer in
        try header.emit(into: buffer)
        UnsafeMutableRawBufferPointer(rebasing: buffer[40...]).copyBytes(from: payload)
    }
    return try ethernetFrame(to: destinationMAC, from: sourceMAC, type: .ipv6, payload: packet)
}

/// An ICMPv6 message (`emit` writes it with its checksum) in an IPv6 frame.
func icmpv6Frame(from sourceMAC: MACAddress, to destinationMAC: MACAddress? = nil, source: IPv6Address, destination: IPv6Address,
                 hopLimit: UInt8 = 255, length: Int,
                 _ emit: (UnsafeMutableRawBufferPointer, IPv6Address, IPv6Address) throws -> Void) throws -> [UInt8] {
    let body = try bytes(length) { try emit($0, source, destination) }
    let mac = destinationMAC ?? (destination.isMulticast ? destination.multicastMAC : Lab.clientMAC)
    return try ipv6Frame(from: sourceMAC, to: mac, source: source, destination: destination, nextHeader: .icmpv6,
                         hopLimit: hopLimit, payload: body)
}

func icmpv6Frame(_ message: ICMPv6Message, from sourceMAC: MACAddress, source: IPv6Address, destination: IPv6Address,
                 hopLimit: UInt8 = 64) throws -> [UInt8] {
    try icmpv6Frame(from: sourceMAC, source: source, destination: destination, hopLimit: hopLimit, length: message.encodedLength) {
        try message.emit(into: $0, source: $1, destination: $2)
    }
}

func routerAdvertisementFrame(_ ra: RouterAdvertisement, from source: IPv6Address = Lab6.router, mac: MACAddress = Lab6.routerMAC,
                              destination: IPv6Address = .allNodes, hopLimit: UInt8 = 255) throws -> [UInt8] {
    try icmpv6Frame(from: mac, source: source, destination: destination, hopLimit: hopLimit, length: ra.encodedLength) {
        try ra.emit(into: $0, source: $1, destination: $2)
    }
}

func neighborSolicitationFrame(target: IPv6Address, source: IPv6Address, mac: MACAddress, destination: IPv6Address? = nil,
                               options: [NDPOption]? = nil) throws -> [UInt8] {
    let ns = NeighborSolicitation(targetAddress: target, options: options ?? (source.isUnspecified ? [] : [.sourceLinkLayerAddress(mac)]))
    return try icmpv6Frame(from: mac, source: source, destination: destination ?? target.solicitedNodeMulticast, length: ns.encodedLength) {
        try ns.emit(into: $0, source: $1, destination: $2)
    }
}

func neighborAdvertisementFrame(target: IPv6Address, source: IPv6Address, mac: MACAddress, destination: IPv6Address,
                                solicited: Bool, override: Bool = true, router: Bool = false, tlla: MACAddress? = nil) throws -> [UInt8] {
    let na = NeighborAdvertisement(router: router, solicited: solicited, override: override, targetAddress: target,
                                   options: [.targetLinkLayerAddress(tlla ?? mac)])
    return try icmpv6Frame(from: mac, source: source, destination: destination, length: na.encodedLength) {
        try na.emit(into: $0, source: $1, destination: $2)
    }
}

func prefixOption(_ prefix: IPv6Address = Lab6.prefix, length: UInt8 = 64, valid: UInt32 = 86400, preferred: UInt32 = 14400,
                  autonomous: Bool = true, onLink: Bool = true) -> NDPOption {
    .prefixInformation(NDPPrefixInformation(prefixLength: length, onLink: onLink, autonomous: autonomous,
                                            validLifetime: valid, preferredLifetime: preferred, prefix: prefix))
}

// MARK: Parsing what the stack sent

struct ParsedIPv6 {
    var ethernet: EthernetHeader
    var header: IPv6Header
    var hopByHop: IPv6OptionsHeader?
    var upperNextHeader: IPProtocol
    var upper: [UInt8]
}

func parseIPv6(_ frame: [UInt8]) throws -> ParsedIPv6 {
    let (ethernet, payload) = try parseEthernet(frame)
    return try payload.withUnsafeBytes { raw in
        let view = try IPv6Packet(raw)
        let upper = try view.upperLayer()
        return ParsedIPv6(ethernet: ethernet, header: IPv6Header(view), hopByHop: try upper.hopByHopOptions.map { try IPv6OptionsHeader($0) },
                          upperNextHeader: upper.nextHeader, upper: Array(upper.payload))
    }
}

struct ParsedICMPv6 {
    var ip: ParsedIPv6
    var message: ICMPv6Message
    var checksumValid: Bool
}

func parseICMPv6(_ frame: [UInt8]) throws -> ParsedICMPv6 {
    let ip = try parseIPv6(frame)
    return try ip.upper.withUnsafeBytes { raw in
        let view = try ICMPv6Packet(raw)
        return ParsedICMPv6(ip: ip, message: ICMPv6Message(view),
                            checksumValid: view.isChecksumValid(source: ip.header.source, destination: ip.header.destination))
    }
}

func isIPv6(_ frame: [UInt8]) -> Bool { (try? parseEthernet(frame).header.etherType) == .ipv6 }

func icmpv6Type(_ frame: [UInt8]) -> ICMPv6Type? { try? parseICMPv6(frame).message.type }

extension ParsedICMPv6 {
    func neighborSolicitation() throws -> NeighborSolicitation {
        try message.bytesForView { try NeighborSolicitation(NeighborSolicitationPacket($0)) }
    }
    func neighborAdvertisement() throws -> NeighborAdvertisement {
        try message.bytesForView { try NeighborAdvertisement(NeighborAdvertisementPacket($0)) }
    }
    func routerSolicitation() throws -> RouterSolicitation {
        try message.bytesForView { try RouterSolicitation(RouterSolicitationPacket($0)) }
    }
    func report() throws -> MLDv2Report {
        try message.bytesForView { try MLDv2Report(MLDv2ReportPacket($0)) }
    }
}

extension ICMPv6Message {
    /// The message's bytes (checksum zero) for a typed view.
    func bytesForView<T>(_ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let raw = [type.rawValue, code, 0, 0] + self.body
        return try raw.withUnsafeBytes { try body($0) }
    }
}

// MARK: Harness

/// A stack with IPv6 on (and DHCPv4 running alongside, its frames ignored).
final class IPv6Harness {
    let base: StackHarness

    init(seed: UInt64 = 7, configure: (inout StackConfiguration) -> Void = { _ in }) {
        base = StackHarness(seed: seed) { configuration in
            configuration.ipv6.enabled = true
            configure(&configuration)
        }
    }

    var stack: NetworkStack { base.stack }
    var now: Instant { base.now }
    func start() { base.start() }
    func receive(_ frame: [UInt8]) { base.receive(frame) }
    func advance(by duration: Duration) { base.advance(by: duration) }

    /// IPv6 frames queued since the last call.
    func sent6() -> [[UInt8]] { base.sent().filter(isIPv6) }

    /// IPv6 frames sent until `limit`, with their instants.
    func run(until limit: Instant, respond: ([UInt8]) throws -> [[UInt8]] = { _ in [] }) throws -> [(at: Instant, frame: [UInt8])] {
        try base.run(until: limit, respond: respond).filter { isIPv6($0.frame) }
    }

    /// IPv6 events since the last call.
    func events6() -> [IPv6Event] {
        base.drainEvents().compactMap { if case let .ipv6(event) = $0 { event } else { nil } }
    }

    /// Starts and runs until the link-local address is preferred (DAD: ≤ 1 s delay + 1 s); returns the log.
    @discardableResult
    func bootLinkLocal() throws -> [(at: Instant, frame: [UInt8])] {
        start()
        var log = sent6().map { (at: now, frame: $0) }
        log += try run(until: .boot + .milliseconds(2001))
        #expect(stack.ipv6LinkLocalAddress == Lab6.clientLinkLocal)
        return log
    }
}

extension IPv6Event {
    var addressInfo: IPv6AddressInfo? { if case let .address(info) = self { info } else { nil } }
}
