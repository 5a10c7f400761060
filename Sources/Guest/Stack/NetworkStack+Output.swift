import Wire

/// Building and routing outgoing datagrams and frames (RFC 791, RFC 1122 §3.3.1).
extension NetworkStack {
    /// A DHCP message from port 68 to port 67: broadcast to 255.255.255.255 or unicast to the server.
    func sendDHCP(_ outgoing: DHCPClient.Outgoing, now: Instant) {
        let message = outgoing.message
        let destination: IPv4Address = switch outgoing.destination {
        case .broadcast: .broadcast
        case let .unicast(address): address
        }
        guard let body = encode(message.encodedLength, { buffer in try message.emit(into: buffer) }) else { return }
        counters.dhcp.transmitted += 1
        sendUDP(sourcePort: DHCPPacket.clientPort, destinationPort: DHCPPacket.serverPort, payload: body,
                source: outgoing.source, destination: destination, now: now)
    }

    /// A UDP datagram with its checksum filled in (RFC 768).
    func sendUDP(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8],
                 source: IPv4Address, destination: IPv4Address, now: Instant) {
        let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
        guard let datagram = encode(header.length, { buffer in
            try header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[UDPDatagram.headerLength...]).copyBytes(from: payload)
            UDPHeader.fillChecksum(datagram: buffer, source: source, destination: destination)
        }) else { return }
        counters.udp.transmitted += 1
        sendIPv4(protocol: .udp, payload: datagram, source: source, destination: destination, now: now)
    }

    /// An ICMP message from our address.
    func sendICMP(_ message: ICMPv4Message, to destination: IPv4Address, now: Instant) {
        guard let interface else { return drop(.noRoute) }
        guard let bytes = encode(message.encodedLength, { buffer in try message.emit(into: buffer) }) else { return }
        counters.icmp.transmitted += 1
        sendIPv4(protocol: .icmp, payload: bytes, source: interface.address, destination: destination, now: now)
    }

    /// Wraps `payload` in an IPv4 header (TTL 64, the next identification) and routes it: the limited broadcast
    /// goes to the Ethernet broadcast address, an on-link destination is resolved with ARP, anything else goes
    /// through the router (RFC 1122 §3.3.1.1).
    func sendIPv4(protocol: IPProtocol, payload: [UInt8], source: IPv4Address, destination: IPv4Address, now: Instant) {
        let header = IPv4Header(source: source, destination: destination, protocol: `protocol`,
                                payloadLength: payload.count, timeToLive: 64, identification: nextIdentification)
        guard let packet = encode(header.totalLength, { buffer in
            try header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[header.headerLength...]).copyBytes(from: payload)
        }) else { return }
        nextIdentification &+= 1
        let hop: IPv4Interface.NextHop
        if destination == .broadcast {
            hop = .broadcast
        } else if let interface {
            hop = interface.route(destination)
        } else {
            hop = .unreachable
        }
        counters.ipv4.transmitted += 1
        switch hop {
        case .broadcast:
            enqueueFrame(to: .broadcast, etherType: .ipv4, payload: packet)
        case let .neighbor(address):
            switch neighbors.resolve(address, packet: packet, now: now) {
            case let .resolved(mac):
                enqueueFrame(to: mac, etherType: .ipv4, payload: packet)
            case let .queued(sendRequest, droppedOldest):
                if droppedOldest { drop(.arpQueueOverflow) }
                if sendRequest { sendARPRequest(for: address) }
            }
        case .unreachable:
            drop(.noRoute)
        }
    }

    /// Puts an Ethernet II frame from our MAC on the transmit queue, zero-padded to the 60-byte minimum
    /// (IEEE 802.3 §3.2.8; RFC 894: pad with zeros). The kernel sends runts as they are (MACVTAP-FACTS §3d),
    /// and switches drop them.
    func enqueueFrame(to destination: MACAddress, etherType: EtherType, payload: [UInt8]) {
        let header = EthernetHeader(destination: destination, source: configuration.mac, etherType: etherType)
        let length = max(header.encodedLength + payload.count, EthernetFrame.minimumLength)
        guard let frame = encode(length, { buffer in
            try header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[header.encodedLength...]).copyBytes(from: payload)
        }) else { return }
        guard transmitQueue.enqueue(frame) else { return drop(.transmitQueueOverflow) }
        counters.ethernet.transmitted += 1
    }

    /// `length` bytes (zeros where `body` writes nothing) written by `body`; nil (and a counted drop) when encoding fails.
    func encode(_ length: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: length)
        do {
            try bytes.withUnsafeMutableBytes { buffer in try body(buffer) }
            return bytes
        } catch {
            drop(.encodeFailed)
            return nil
        }
    }
}
