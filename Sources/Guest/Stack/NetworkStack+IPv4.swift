import Wire

/// IPv4, ICMP and UDP in (RFC 791, RFC 1122 §3.2, RFC 792, RFC 768).
extension NetworkStack {
    /// `linkLayerBroadcast`: the frame went to the Ethernet broadcast address (no ICMP error may answer it).
    func receiveIPv4(_ bytes: UnsafeRawBufferPointer, linkLayerBroadcast: Bool, now: Instant) {
        counters.ipv4.received += 1
        let packet: IPv4Packet
        do { packet = try IPv4Packet(bytes) } catch { return drop(.ipv4Malformed) }
        guard packet.isHeaderChecksumValid else { return drop(.ipv4HeaderChecksum) }
        // RFC 1122 §3.2.1.3: a broadcast or multicast source is discarded.
        guard packet.source != .broadcast, !packet.source.isMulticast else { return drop(.ipv4BadSource) }
        let forUs = interface?.accepts(packet.destination) ?? false
        // Without an address, DHCP replies may come unicast to the offered address (RFC 2131 §4.1).
        let maybeDHCP = interface == nil && packet.protocol == .udp
        guard forUs || maybeDHCP else { return drop(.ipv4NotForUs) }
        guard !packet.isFragment else { return drop(.ipv4Fragment) }
        switch packet.protocol {
        case .icmp:
            guard forUs else { return drop(.ipv4NotForUs) }
            receiveICMP(packet, now: now)
        case .udp:
            receiveUDP(packet, forUs: forUs, linkLayerBroadcast: linkLayerBroadcast, now: now)
        default:
            drop(.ipv4UnsupportedProtocol)
        }
    }

    /// Echo requests to our address are answered with the same identifier, sequence and data (RFC 1122
    /// §3.2.2.6); echo replies go to the pinger.
    func receiveICMP(_ ip: IPv4Packet, now: Instant) {
        counters.icmp.received += 1
        let icmp: ICMPv4Packet
        do { icmp = try ICMPv4Packet(ip.payload) } catch { return drop(.icmpMalformed) }
        guard icmp.isChecksumValid else { return drop(.icmpChecksum) }
        switch icmp.type {
        case .echoRequest:
            // RFC 1122 §3.2.2.6: an echo request to a broadcast address MAY be silently discarded (Linux does).
            guard ip.destination == interface?.address else { return drop(.icmpBroadcastEcho) }
            let reply = ICMPv4Message.echoReply(identifier: icmp.identifier, sequenceNumber: icmp.sequenceNumber,
                                                payload: Array(icmp.payload))
            sendICMP(reply, to: ip.source, now: now)
        case .echoReply:
            guard let event = pinger.match(source: ip.source, identifier: icmp.identifier,
                                           sequence: icmp.sequenceNumber, now: now) else {
                return drop(.icmpUnmatchedReply)
            }
            events.append(event)
            runPinger(now: now)
        default:
            drop(.icmpUnhandledType)
        }
    }

    /// Checks the UDP checksum when present (RFC 768; offloads are off so it is complete) and delivers port 68 to
    /// the DHCP client when it comes from port 67 (RFC 2131 §4.1: servers send from the DHCP server port). Any
    /// other port is closed: a counted drop answered with a port unreachable (RFC 1122 §4.1.3.1).
    func receiveUDP(_ ip: IPv4Packet, forUs: Bool, linkLayerBroadcast: Bool, now: Instant) {
        counters.udp.received += 1
        let udp: UDPDatagram
        do { udp = try UDPDatagram(ip.payload) } catch { return drop(.udpMalformed) }
        guard udp.isChecksumValid(source: ip.source, destination: ip.destination) else { return drop(.udpChecksum) }
        guard udp.destinationPort == DHCPPacket.clientPort else {
            guard forUs else { return drop(.ipv4NotForUs) }
            drop(.udpNoListener)
            sendPortUnreachable(for: ip, linkLayerBroadcast: linkLayerBroadcast, now: now)
            return
        }
        guard udp.sourcePort == DHCPPacket.serverPort else { return drop(.dhcpWrongSourcePort) }
        counters.dhcp.received += 1
        let message: DHCPMessage
        do { message = try DHCPMessage(DHCPPacket(udp.payload)) } catch { return drop(.dhcpMalformed) }
        if case let .ignored(reason) = dhcpClient.handle(message, now: now) { drop(reason) }
        runDHCP(now: now)
    }
}

extension NetworkStack {
    /// RFC 1122 §4.1.3.1: a datagram to a closed UDP port SHOULD be answered with ICMP destination unreachable,
    /// code 3 (port unreachable), quoting the IP header and the first 8 bytes of the datagram (RFC 792).
    ///
    /// Never (RFC 1122 §3.2.2) for a datagram sent to an IP broadcast or multicast address or to the Ethernet
    /// broadcast address, nor when the source does not name a single host (0/8, loopback, broadcast, multicast,
    /// class E, or the network or broadcast address of our own subnet). Never about an ICMP error: only UDP comes
    /// here. Paced by `icmpErrorLimiter`; what it holds back is counted in `counters.icmpErrorsRateLimited`.
    func sendPortUnreachable(for ip: IPv4Packet, linkLayerBroadcast: Bool, now: Instant) {
        guard let interface, ip.destination == interface.address, !linkLayerBroadcast else { return }
        let sourceMask = interface.isOnLink(ip.source) ? interface.subnetMask : nil
        guard ip.source.isUnicastHostAddress(subnetMask: sourceMask) else { return }
        guard icmpErrorLimiter.allow(now: now) else {
            counters.icmpErrorsRateLimited += 1
            return
        }
        let quoted = Array(ip.header) + Array(ip.payload.prefix(8))
        let message = ICMPv4Message(type: .destinationUnreachable, code: ICMPv4Message.portUnreachableCode,
                                    restOfHeader: 0, payload: quoted)
        sendICMP(message, to: ip.source, now: now)
    }
}

extension ICMPv4Message {
    /// Destination unreachable code 3, "port unreachable" (RFC 792).
    static let portUnreachableCode: UInt8 = 3
}
