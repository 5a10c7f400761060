import Wire

/// ARP in and out (RFC 826, RFC 1122 §2.3.2).
extension NetworkStack {
    /// RFC 826 "Packet Reception": merge the sender into the table if it is there; if we are the target, add it and
    /// answer a request. Anything else is counted as "ARP not for us".
    func receiveARP(_ bytes: UnsafeRawBufferPointer, now: Instant) {
        counters.arp.received += 1
        let packet: ARPPacket
        do { packet = try ARPPacket(bytes) } catch {
            if case .truncated = error { return drop(.arpMalformed) }
            return drop(.arpUnsupported)
        }
        let sender = packet.senderProtocolAddress
        let senderMAC = packet.senderHardwareAddress
        // RFC 5227: the DHCP client's address check sees every ARP packet (it ignores our own MAC itself).
        if dhcpClient.conflictDetection != nil {
            dhcpClient.handleARP(ARPMessage(packet), now: now)
            runDHCP(now: now)
        }
        guard !senderMAC.isMulticast, senderMAC != configuration.mac else { return drop(.arpMalformed) }
        guard packet.operation == .request || packet.operation == .reply else { return drop(.arpUnsupported) }

        var merged = false
        // An ARP probe (sender 0.0.0.0, RFC 5227 §2.1.1) teaches nothing.
        if !sender.isUnspecified, neighbors.contains(sender) {
            releaseQueued(neighbors.update(sender, mac: senderMAC, now: now), to: senderMAC)
            merged = true
        }
        guard let interface, packet.targetProtocolAddress == interface.address else {
            if !merged { drop(.arpNotForUs) }
            return
        }
        if !merged, !sender.isUnspecified {
            releaseQueued(neighbors.update(sender, mac: senderMAC, now: now), to: senderMAC)
        }
        if packet.operation == .request {
            let reply = ARPMessage(operation: .reply,
                                   senderHardwareAddress: configuration.mac, senderProtocolAddress: interface.address,
                                   targetHardwareAddress: senderMAC, targetProtocolAddress: sender)
            sendARP(reply, to: senderMAC)
        }
    }

    /// A who-has for `address`, broadcast, from our address (0.0.0.0 when we have none).
    func sendARPRequest(for address: IPv4Address) {
        let request = ARPMessage(operation: .request,
                                 senderHardwareAddress: configuration.mac,
                                 senderProtocolAddress: interface?.address ?? .any,
                                 targetHardwareAddress: .zero, targetProtocolAddress: address)
        sendARP(request, to: .broadcast)
    }

    func sendARP(_ message: ARPMessage, to destination: MACAddress) {
        guard let bytes = encode(message.encodedLength, { buffer in try message.emit(into: buffer) }) else { return }
        counters.arp.transmitted += 1
        enqueueFrame(to: destination, etherType: .arp, payload: bytes)
    }

    /// Sends the datagrams that waited for `mac`, in order.
    func releaseQueued(_ packets: [[UInt8]], to mac: MACAddress) {
        for packet in packets { enqueueFrame(to: mac, etherType: .ipv4, payload: packet) }
    }
}
