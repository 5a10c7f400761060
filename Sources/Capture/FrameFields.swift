import Wire

/// An Ethernet frame decoded with Wire into a one-line summary and an ordered list of named fields, for
/// `tapvm replay --explain` and for the first difference `--expect` reports.
///
/// Decodes Ethernet II, ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792), UDP (RFC 768), DHCPv4 (RFC 2131,
/// options by code as RFC 2132 names them), and IPv6 with ICMPv6, NDP, MLDv2 and DHCPv6 (FrameFields+IPv6.swift). The frame is untrusted: a layer that does not parse ends the decoding
/// with a field saying so; nothing traps.
public struct FrameFields: Equatable, Sendable {
    /// One named value, as a person reads it ("option 50" = "198.51.100.61").
    public struct Field: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// What the frame is, short: "DHCPREQUEST xid 0x1a2b3c4d", "ARP request for 198.51.100.61 from 198.51.100.1".
    public var summary: String
    /// The head of `summary` used to introduce a difference: "DHCPREQUEST", "ARP reply", "ICMP echo request".
    public var kind: String
    /// Every decoded field, outermost layer first.
    public var fields: [Field]

    /// Decodes `frame` (starting at the destination MAC).
    public init(_ frame: UnsafeRawBufferPointer) {
        var fields: [Field] = []
        var kind = "Ethernet frame"
        var summary = "Ethernet frame of \(frame.count) bytes"
        Self.decodeEthernet(frame, fields: &fields, kind: &kind, summary: &summary)
        self.fields = fields
        self.kind = kind
        self.summary = summary
    }

    private static func decodeEthernet(_ frame: UnsafeRawBufferPointer, fields: inout [Field], kind: inout String,
                                       summary: inout String) {
        guard let ethernet = try? EthernetFrame(frame) else {
            fields.append(Field("Ethernet", "cut short (\(frame.count) bytes)"))
            summary = "runt frame of \(frame.count) bytes"
            return
        }
        fields += [Field("destination MAC", "\(ethernet.destination)"), Field("source MAC", "\(ethernet.source)"),
                   Field("EtherType", "\(ethernet.etherType)")]
        switch ethernet.etherType {
        case .arp:
            decodeARP(ethernet.payload, fields: &fields, kind: &kind, summary: &summary)
        case .ipv4:
            decodeIPv4(ethernet.payload, fields: &fields, kind: &kind, summary: &summary)
        case .ipv6:
            decodeIPv6(ethernet.payload, fields: &fields, kind: &kind, summary: &summary)
        default:
            kind = "EtherType \(ethernet.etherType)"
            summary = "\(kind) frame from \(ethernet.source)"
        }
        fields.append(Field("length", "\(frame.count)"))
    }

    public init(_ frame: [UInt8]) {
        self = frame.withUnsafeBytes { FrameFields($0) }
    }

    private static func decodeARP(_ bytes: UnsafeRawBufferPointer, fields: inout [Field], kind: inout String,
                                  summary: inout String) {
        guard let arp = try? ARPPacket(bytes) else {
            fields.append(Field("ARP", "malformed"))
            kind = "malformed ARP"
            summary = kind
            return
        }
        let operation = arp.operation == .request ? "request" : arp.operation == .reply ? "reply" : "operation \(arp.operation.rawValue)"
        kind = "ARP \(operation)"
        fields += [Field("ARP operation", operation),
                   Field("sender MAC", "\(arp.senderHardwareAddress)"), Field("sender IP", "\(arp.senderProtocolAddress)"),
                   Field("target MAC", "\(arp.targetHardwareAddress)"), Field("target IP", "\(arp.targetProtocolAddress)")]
        switch arp.operation {
        case .request:
            summary = "ARP request for \(arp.targetProtocolAddress) from \(arp.senderProtocolAddress)"
        case .reply:
            summary = "ARP reply \(arp.senderProtocolAddress) is at \(arp.senderHardwareAddress)"
        default:
            summary = kind
        }
    }

    private static func decodeIPv4(_ bytes: UnsafeRawBufferPointer, fields: inout [Field], kind: inout String,
                                   summary: inout String) {
        guard let ip = try? IPv4Packet(bytes) else {
            fields.append(Field("IPv4", "malformed"))
            kind = "malformed IPv4"
            summary = kind
            return
        }
        fields += [Field("IPv4 source", "\(ip.source)"), Field("IPv4 destination", "\(ip.destination)"),
                   Field("IPv4 identification", hex(ip.identification)), Field("IPv4 TTL", "\(ip.timeToLive)"),
                   Field("IPv4 protocol", "\(ip.protocol)")]
        kind = "IPv4 \(ip.protocol)"
        summary = "IPv4 \(ip.protocol) \(ip.source) > \(ip.destination)"
        guard !ip.isFragment else {
            fields.append(Field("IPv4 fragment offset", "\(ip.fragmentOffset)"))
            summary += " (fragment)"
            return
        }
        switch ip.protocol {
        case .icmp:
            guard let icmp = try? ICMPv4Packet(ip.payload) else {
                fields.append(Field("ICMP", "malformed"))
                return
            }
            let type: String = switch icmp.type {
            case .echoRequest: "echo request"
            case .echoReply: "echo reply"
            case .destinationUnreachable: "destination unreachable"
            default: "type \(icmp.type.rawValue)"
            }
            kind = "ICMP \(type)"
            fields += [Field("ICMP type", type), Field("ICMP code", "\(icmp.code)")]
            if icmp.type == .echoRequest || icmp.type == .echoReply {
                fields += [Field("ICMP identifier", hex(icmp.identifier)), Field("ICMP sequence", "\(icmp.sequenceNumber)"),
                           Field("ICMP payload", hexBytes(icmp.payload))]
                summary = "ICMP \(type) \(ip.source) > \(ip.destination) id \(hex(icmp.identifier)) seq \(icmp.sequenceNumber)"
            } else {
                fields.append(Field("ICMP payload", hexBytes(icmp.payload)))
                summary = "ICMP \(type) code \(icmp.code) \(ip.source) > \(ip.destination)"
            }
        case .udp:
            guard let udp = try? UDPDatagram(ip.payload) else {
                fields.append(Field("UDP", "malformed"))
                return
            }
            describeUDP(udp, source: "\(ip.source)", destination: "\(ip.destination)", fields: &fields, kind: &kind, summary: &summary)
            let ports = [udp.sourcePort, udp.destinationPort]
            if ports.contains(DHCPPacket.serverPort) || ports.contains(DHCPPacket.clientPort) {
                decodeDHCP(udp.payload, fields: &fields, kind: &kind, summary: &summary)
            }
        default:
            break
        }
    }

    /// The UDP header's fields and a one-line summary (addresses already formatted for their family).
    static func describeUDP(_ udp: UDPDatagram, source: String, destination: String, fields: inout [Field],
                            kind: inout String, summary: inout String) {
        fields += [Field("UDP source port", "\(udp.sourcePort)"), Field("UDP destination port", "\(udp.destinationPort)"),
                   Field("UDP checksum", hex(udp.checksum))]
        kind = "UDP"
        summary = "UDP \(source):\(udp.sourcePort) > \(destination):\(udp.destinationPort)"
    }

    private static func decodeDHCP(_ bytes: UnsafeRawBufferPointer, fields: inout [Field], kind: inout String,
                                   summary: inout String) {
        guard let packet = try? DHCPPacket(bytes), let message = try? DHCPMessage(packet) else {
            fields.append(Field("DHCP", "malformed"))
            kind = "malformed DHCP"
            summary = kind
            return
        }
        let type = message.messageType.map { "\($0)" } ?? "BOOTP \(message.op)"
        kind = type
        summary = "\(type) xid \(hex(message.transactionID))"
        if message.yourAddress != .any { summary += " \(message.yourAddress)" }
        if let requested = message.requestedIPAddress { summary += " requesting \(requested)" }
        fields += [Field("DHCP op", "\(message.op)"), Field("xid", hex(message.transactionID)),
                   Field("secs", "\(message.seconds)"), Field("flags", hex(message.flags)),
                   Field("ciaddr", "\(message.clientAddress)"), Field("yiaddr", "\(message.yourAddress)"),
                   Field("siaddr", "\(message.serverAddress)"), Field("giaddr", "\(message.relayAgentAddress)"),
                   Field("chaddr", "\(message.clientHardwareAddress)")]
        for option in message.options {
            fields.append(Field("option \(option.code.rawValue)", optionValue(option)))
        }
        fields.append(Field("options", message.options.map { "\($0.code.rawValue)" }.joined(separator: ",")))
    }

    /// An option's value as RFC 2132 types it: addresses, numbers, text, or bytes.
    static func optionValue(_ option: DHCPOption) -> String {
        let data = option.data
        switch option.code {
        case .messageType where data.count == 1:
            return "\(DHCPMessageType(data[0]))"
        case .subnetMask, .router, .domainNameServer, .broadcastAddress, .requestedIPAddress, .serverIdentifier:
            guard !data.isEmpty, data.count % 4 == 0 else { break }
            return stride(from: 0, to: data.count, by: 4)
                .map { "\(IPv4Address(data[$0], data[$0 + 1], data[$0 + 2], data[$0 + 3]))" }.joined(separator: ",")
        case .ipAddressLeaseTime, .renewalTime, .rebindingTime:
            guard data.count == 4 else { break }
            return "\(data.bigEndian(UInt32.self, at: 0)) s"
        case .maximumMessageSize, .interfaceMTU:
            guard data.count == 2 else { break }
            return "\(data.bigEndian(UInt16.self, at: 0))"
        case .hostName, .domainName, .message:
            return "\"\(Self.printable(String(decoding: data, as: UTF8.self)))\""
        case .parameterRequestList:
            return data.map(String.init).joined(separator: ",")
        default:
            break
        }
        return hexBytes(data)
    }
}

extension FrameFields {
    /// `text` (a string the network chose: DHCP options 12, 15, 56) made safe for a terminal line: control
    /// characters (C0, DEL, C1), `"` and `\` are escaped as in a Swift literal (`\n`, `\u{1b}`), so a server cannot
    /// move the cursor, forge a line, or end the quoted value.
    public static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value):
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

/// The first difference between two frames, as `tapvm replay --expect` reports it.
public enum FrameDifference {
    /// nil when the frames are equal; otherwise "DHCPREQUEST option 50 198.51.100.61, expected 198.51.100.60": the
    /// actual frame's kind, the first field that differs with its actual value, and the expected value. When every
    /// decoded field agrees, the first differing byte offset.
    public static func describe(actual: [UInt8], expected: [UInt8]) -> String? {
        guard actual != expected else { return nil }
        let mine = FrameFields(actual)
        let theirs = FrameFields(expected)
        if mine.kind != theirs.kind {
            return "\(mine.summary), expected \(theirs.summary)"
        }
        let expectedByName = Dictionary(theirs.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        for field in mine.fields {
            let other = expectedByName[field.name]
            if other != field.value {
                return "\(mine.kind) \(field.name) \(field.value), expected \(other ?? "no \(field.name)")"
            }
        }
        let mineNames = Set(mine.fields.map(\.name))
        if let missing = theirs.fields.first(where: { !mineNames.contains($0.name) }) {
            return "\(mine.kind) has no \(missing.name), expected \(missing.value)"
        }
        let offset = (0..<min(actual.count, expected.count)).first { actual[$0] != expected[$0] } ?? min(actual.count, expected.count)
        let got = offset < actual.count ? hex(actual[offset]) : "end of frame"
        let want = offset < expected.count ? hex(expected[offset]) : "end of frame"
        return "\(mine.kind) byte \(offset) \(got), expected \(want)"
    }
}

func hex<T: FixedWidthInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
}

func hexBytes<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    guard !bytes.isEmpty else { return "(none)" }
    let table = Array("0123456789abcdef")
    var text = ""
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(table[Int(byte >> 4)])
        text.append(table[Int(byte & 0xf)])
    }
    return text
}
