import Wire

/// IPv6 for `FrameFields`: the fixed header (RFC 8200), ICMPv6 echo and errors (RFC 4443), neighbour discovery
/// (RFC 4861: RS, RA with its prefixes, MTU and RDNSS/DNSSL of RFC 8106, NS, NA), MLDv2 reports (RFC 3810) and
/// DHCPv6 messages on UDP 546/547 (RFC 8415), decoded with Wire's views. Untrusted bytes: a layer that does not
/// parse ends the decoding with a field saying so.
extension FrameFields {
    static func decodeIPv6(_ bytes: UnsafeRawBufferPointer, fields: inout [Field], kind: inout String, summary: inout String) {
        guard let ip = try? IPv6Packet(bytes) else {
            fields.append(Field("IPv6", "malformed"))
            kind = "malformed IPv6"
            summary = kind
            return
        }
        fields += [Field("IPv6 source", "\(ip.source)"), Field("IPv6 destination", "\(ip.destination)"),
                   Field("IPv6 hop limit", "\(ip.hopLimit)"), Field("IPv6 next header", "\(ip.nextHeader)")]
        kind = "IPv6 \(ip.nextHeader)"
        summary = "IPv6 \(ip.nextHeader) \(ip.source) > \(ip.destination)"
        guard let upper = try? ip.upperLayer() else {
            fields.append(Field("IPv6 extension headers", "malformed"))
            return
        }
        guard !upper.isFragment else {
            summary += " (fragment)"
            return
        }
        if upper.extensionHeadersLength > 0 { fields.append(Field("IPv6 extension headers", "\(upper.extensionHeadersLength) bytes")) }
        switch upper.nextHeader {
        case .icmpv6:
            decodeICMPv6(upper.payload, ip: ip, fields: &fields, kind: &kind, summary: &summary)
        case .udp:
            guard let udp = try? UDPDatagram(upper.payload) else {
                fields.append(Field("UDP", "malformed"))
                return
            }
            describeUDP(udp, source: "[\(ip.source)]", destination: "[\(ip.destination)]", fields: &fields, kind: &kind, summary: &summary)
            let ports = [udp.sourcePort, udp.destinationPort]
            if ports.contains(DHCPv6Packet.clientPort) || ports.contains(DHCPv6Packet.serverPort) {
                decodeDHCPv6(udp.payload, fields: &fields, kind: &kind, summary: &summary)
            }
        default:
            break
        }
    }

    static func decodeICMPv6(_ bytes: UnsafeRawBufferPointer, ip: IPv6Packet, fields: inout [Field], kind: inout String,
                             summary: inout String) {
        guard let icmp = try? ICMPv6Packet(bytes) else {
            fields.append(Field("ICMPv6", "malformed"))
            kind = "malformed ICMPv6"
            summary = kind
            return
        }
        fields += [Field("ICMPv6 type", "\(icmp.type)"), Field("ICMPv6 code", "\(icmp.code)"),
                   Field("ICMPv6 checksum", hex(icmp.checksum))]
        let route = "\(ip.source) > \(ip.destination)"
        switch icmp.type {
        case .echoRequest, .echoReply:
            let name = icmp.type == .echoRequest ? "echo request" : "echo reply"
            kind = "ICMPv6 \(name)"
            guard let identifier = icmp.identifier, let sequence = icmp.sequenceNumber else {
                summary = "\(kind) (short) \(route)"
                return
            }
            fields += [Field("ICMPv6 identifier", hex(identifier)), Field("ICMPv6 sequence", "\(sequence)"),
                       Field("ICMPv6 payload", hexBytes(icmp.body.dropFirst(4)))]
            summary = "ICMPv6 \(name) \(route) id \(hex(identifier)) seq \(sequence)"
        case .neighborSolicitation:
            kind = "ICMPv6 neighbor solicitation"
            guard let ns = try? NeighborSolicitation(NeighborSolicitationPacket(bytes)) else { return malformed(kind, &fields, &summary) }
            fields.append(Field("NS target", "\(ns.targetAddress)"))
            ndpOptions(ns.options, fields: &fields)
            summary = ip.source.isUnspecified ? "NS for \(ns.targetAddress) from :: (duplicate address detection)"
                : "NS for \(ns.targetAddress) from \(ip.source)"
        case .neighborAdvertisement:
            kind = "ICMPv6 neighbor advertisement"
            guard let na = try? NeighborAdvertisement(NeighborAdvertisementPacket(bytes)) else { return malformed(kind, &fields, &summary) }
            let flags = [na.router ? "R" : nil, na.solicited ? "S" : nil, na.override ? "O" : nil].compactMap { $0 }.joined()
            fields += [Field("NA target", "\(na.targetAddress)"), Field("NA flags", flags.isEmpty ? "none" : flags)]
            ndpOptions(na.options, fields: &fields)
            summary = "NA \(na.targetAddress)" + (na.options.targetLinkLayerAddress.map { " is at \($0)" } ?? "") +
                (flags.isEmpty ? "" : " [\(flags)]") + " to \(ip.destination)"
        case .routerSolicitation:
            kind = "ICMPv6 router solicitation"
            guard let rs = try? RouterSolicitation(RouterSolicitationPacket(bytes)) else { return malformed(kind, &fields, &summary) }
            ndpOptions(rs.options, fields: &fields)
            summary = "RS from \(ip.source)"
        case .routerAdvertisement:
            kind = "ICMPv6 router advertisement"
            guard let ra = try? RouterAdvertisement(RouterAdvertisementPacket(bytes)) else { return malformed(kind, &fields, &summary) }
            fields += [Field("RA hop limit", "\(ra.currentHopLimit)"), Field("RA M", ra.managedAddressConfiguration ? "1" : "0"),
                       Field("RA O", ra.otherConfiguration ? "1" : "0"), Field("RA router lifetime", "\(ra.routerLifetime) s"),
                       Field("RA reachable time", "\(ra.reachableTime) ms"), Field("RA retrans timer", "\(ra.retransTimer) ms")]
            ndpOptions(ra.options, fields: &fields)
            let prefixes = ra.options.prefixInformation.map { "\($0.prefix)/\($0.prefixLength)" }
            summary = "RA from \(ip.source) lifetime \(ra.routerLifetime) s M=\(ra.managedAddressConfiguration ? 1 : 0) " +
                "O=\(ra.otherConfiguration ? 1 : 0)" + (prefixes.isEmpty ? "" : " prefix \(prefixes.joined(separator: ","))")
        case .version2MulticastListenerReport:
            kind = "MLDv2 report"
            guard let report = try? MLDv2Report(MLDv2ReportPacket(bytes)) else { return malformed(kind, &fields, &summary) }
            for (index, record) in report.records.enumerated() {
                fields.append(Field("MLD record \(index + 1)", "\(record.recordType) \(record.multicastAddress)" +
                                    (record.sources.isEmpty ? "" : " sources \(record.sources.map { "\($0)" }.joined(separator: ","))")))
            }
            summary = "MLDv2 report " + report.records.map { "\($0.recordType) \($0.multicastAddress)" }.joined(separator: ", ")
        default:
            kind = "ICMPv6 \(icmp.type)"
            fields.append(Field("ICMPv6 body", hexBytes(icmp.body)))
            summary = "ICMPv6 \(icmp.type) code \(icmp.code) \(route)"
        }
    }

    private static func malformed(_ what: String, _ fields: inout [Field], _ summary: inout String) {
        fields.append(Field(what, "malformed"))
        summary = "malformed \(what)"
    }

    /// NDP options by type (RFC 4861 §4.6, RFC 8106 §5).
    static func ndpOptions(_ options: [NDPOption], fields: inout [Field]) {
        for option in options {
            let value: String = switch option {
            case let .sourceLinkLayerAddress(mac), let .targetLinkLayerAddress(mac): "\(mac)"
            case let .prefixInformation(information):
                "\(information.prefix)/\(information.prefixLength) L=\(information.onLink ? 1 : 0) A=\(information.autonomous ? 1 : 0) " +
                    "valid \(information.validLifetime) s preferred \(information.preferredLifetime) s"
            case let .mtu(mtu): "\(mtu)"
            case let .recursiveDNSServer(lifetime, addresses): "\(addresses.map { "\($0)" }.joined(separator: ",")) lifetime \(lifetime) s"
            case let .dnsSearchList(lifetime, names): "\(names.joined(separator: ",")) lifetime \(lifetime) s"
            case let .other(_, data): hexBytes(data)
            case let .invalid(_, data): "invalid (ignored) " + hexBytes(data)
            }
            fields.append(Field("NDP option \(option.type)", value))
        }
    }

    /// A DHCPv6 message (RFC 8415 §8): type, transaction id, options by code.
    static func decodeDHCPv6(_ bytes: UnsafeRawBufferPointer, fields: inout [Field], kind: inout String, summary: inout String) {
        guard let packet = try? DHCPv6Packet(bytes), let message = try? DHCPv6Message(packet) else {
            fields.append(Field("DHCPv6", "malformed"))
            kind = "malformed DHCPv6"
            summary = kind
            return
        }
        kind = "DHCPv6 \(message.messageType)"
        // The transaction id is 24 bits (RFC 8415 §8): six hex digits.
        let digits = String(message.transactionID, radix: 16)
        let transaction = "0x" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        summary = "DHCPv6 \(message.messageType) xid \(transaction)"
        let addresses = message.identityAssociations.flatMap(\.addresses).map { "\($0.address)" }
        if !addresses.isEmpty { summary += " " + addresses.joined(separator: ",") }
        fields += [Field("DHCPv6 message type", "\(message.messageType)"), Field("DHCPv6 transaction id", transaction)]
        for option in message.options {
            fields.append(Field("DHCPv6 option \(option.code.rawValue)", hexBytes(option.data)))
        }
        if !addresses.isEmpty { fields.append(Field("DHCPv6 addresses", addresses.joined(separator: ","))) }
    }
}
