import Testing
@testable import Wire

/// Feeds bytes to every view and, when one parses, reads every accessor, builds the value and emits it again.
/// Returns how many views accepted the bytes. Nothing here may trap.
private func exerciseEveryView(_ bytes: UnsafeRawBufferPointer) -> Int {
    var parsed = 0
    func emitBack(_ length: Int, _ emit: (UnsafeMutableRawBufferPointer) throws -> Void) {
        var buffer = [UInt8](repeating: 0xA5, count: length)
        buffer.withUnsafeMutableBytes { out in
            do { try emit(out) } catch { Issue.record("a value made from a view failed to emit: \(error)") }
        }
    }
    if let frame = try? EthernetFrame(bytes) {
        parsed += 1
        _ = (frame.destination, frame.source, frame.etherType, frame.payload.count)
        let value = EthernetHeader(frame)
        emitBack(value.encodedLength) { try value.emit(into: $0) }
    }
    if let packet = try? ARPPacket(bytes) {
        parsed += 1
        _ = (packet.operation, packet.senderHardwareAddress, packet.senderProtocolAddress)
        _ = (packet.targetHardwareAddress, packet.targetProtocolAddress)
        let value = ARPMessage(packet)
        emitBack(value.encodedLength) { try value.emit(into: $0) }
    }
    if let packet = try? IPv4Packet(bytes) {
        parsed += 1
        _ = (packet.version, packet.headerLength, packet.typeOfService, packet.totalLength, packet.identification)
        _ = (packet.dontFragment, packet.moreFragments, packet.fragmentOffset, packet.timeToLive, packet.protocol)
        _ = (packet.headerChecksum, packet.source, packet.destination, packet.options.count, packet.payload.count)
        _ = packet.isHeaderChecksumValid
        let value = IPv4Header(packet)
        emitBack(value.encodedLength) { try value.emit(into: $0) }
    }
    if let packet = try? ICMPv4Packet(bytes) {
        parsed += 1
        _ = (packet.type, packet.code, packet.checksum, packet.restOfHeader, packet.identifier, packet.sequenceNumber)
        _ = (packet.payload.count, packet.isChecksumValid)
        let value = ICMPv4Message(packet)
        emitBack(value.encodedLength) { try value.emit(into: $0) }
    }
    if let datagram = try? UDPDatagram(bytes) {
        parsed += 1
        _ = (datagram.sourcePort, datagram.destinationPort, datagram.length, datagram.checksum, datagram.payload.count)
        _ = datagram.isChecksumValid(source: Fixture.udpSource, destination: Fixture.udpDestination)
        let value = UDPHeader(datagram)
        emitBack(value.encodedLength) { try value.emit(into: $0) }
    }
    if let packet = try? DHCPPacket(bytes) {
        parsed += 1
        _ = (packet.op, packet.hardwareType, packet.hardwareAddressLength, packet.hops, packet.transactionID)
        _ = (packet.seconds, packet.flags, packet.isBroadcast, packet.clientAddress, packet.yourAddress)
        _ = (packet.serverAddress, packet.relayAgentAddress, packet.clientHardwareAddress)
        _ = (packet.serverName.count, packet.bootFileName.count, packet.optionsField.count)
        _ = try? packet.options()
        if let value = try? DHCPMessage(packet) {
            _ = (value.messageType, value.serverIdentifier, value.requestedIPAddress, value.ipAddressLeaseTime)
            _ = (value.renewalTime, value.rebindingTime, value.subnetMask, value.routers, value.domainNameServers)
            _ = (value.hostName, value.domainName, value.interfaceMTU, value.message, value.maximumMessageSize)
            _ = (value.parameterRequestList, value.clientIdentifier, value.broadcastAddress)
            emitBack(value.encodedLength) { try value.emit(into: $0) }
        }
    }
    for size in [VirtioNetHeader.legacySize, VirtioNetHeader.size] {
        if let view = try? VirtioNetHeaderView(bytes, size: size) {
            parsed += 1
            _ = (view.flags, view.gsoType, view.headerLength, view.gsoSize, view.checksumStart, view.checksumOffset)
            _ = (view.numBuffers, view.payload.count)
            let value = VirtioNetHeader(view)
            emitBack(size) { try value.emit(into: $0, size: size) }
        }
    }
    parsed += exerciseIPv6Views(bytes)
    _ = InternetChecksum.checksum(bytes)
    return parsed
}

/// The IPv6 family: every view, accessor and value, emitted back. Nothing here may trap.
private func exerciseIPv6Views(_ bytes: UnsafeRawBufferPointer) -> Int {
    var parsed = 0
    let source = Fixture.hostLinkLocal, destination = IPv6Address.allNodes
    func emitBack(_ length: Int, _ emit: (UnsafeMutableRawBufferPointer) throws -> Void) {
        var buffer = [UInt8](repeating: 0xA5, count: length)
        buffer.withUnsafeMutableBytes { out in
            do { try emit(out) } catch { Issue.record("a value made from a view failed to emit: \(error)") }
        }
    }
    if bytes.count >= 16 {
        let address = IPv6Address(bytes, at: 0)
        _ = (address.description, address.isLinkLocal, address.isMulticast, address.solicitedNodeMulticast, address.multicastMAC)
        #expect(IPv6Address(address.description) == address)
    }
    if let packet = try? IPv6Packet(bytes) {
        parsed += 1
        _ = (packet.version, packet.trafficClass, packet.flowLabel, packet.payloadLength, packet.nextHeader)
        _ = (packet.hopLimit, packet.source, packet.destination, packet.header.count, packet.payload.count)
        if let upper = try? packet.upperLayer() {
            _ = (upper.nextHeader, upper.extensionHeadersLength, upper.payload.count, upper.isFragment)
            _ = upper.fragment.map { ($0.nextHeader, $0.fragmentOffset, $0.moreFragments, $0.identification) }
            _ = try? upper.hopByHopOptions?.options()
        }
        let value = IPv6Header(packet)
        emitBack(value.encodedLength) { try value.emit(into: $0) }
    }
    for first in [IPProtocol.hopByHop, .destinationOptions, .routing, .ipv6Fragment] {
        if let upper = try? IPv6UpperLayer(nextHeader: first, payload: bytes) {
            _ = (upper.nextHeader, upper.payload.count, upper.isFragment, upper.hopByHopOptions?.headerLength)
        }
    }
    if let header = try? IPv6OptionsHeaderView(bytes) {
        parsed += 1
        _ = (header.nextHeader, header.headerLength, header.optionsArea.count)
        if let value = try? IPv6OptionsHeader(header) {
            _ = value.routerAlert
            emitBack(value.encodedLength) { try value.emit(into: $0) }
        }
    }
    if let fragment = try? IPv6FragmentHeaderView(bytes) {
        _ = (fragment.nextHeader, fragment.fragmentOffset, fragment.moreFragments, fragment.identification, fragment.isAtomic)
    }
    if let packet = try? ICMPv6Packet(bytes) {
        parsed += 1
        _ = (packet.type, packet.code, packet.checksum, packet.body.count, packet.identifier, packet.sequenceNumber)
        _ = packet.isChecksumValid(source: source, destination: destination)
        let value = ICMPv6Message(packet)
        emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
    }
    // The typed ICMPv6 views also parse bytes whose type byte is forced, so their deeper checks run often.
    var forced = Array(bytes)
    for type in [ICMPv6Type.routerSolicitation, .routerAdvertisement, .neighborSolicitation, .neighborAdvertisement,
                 .version2MulticastListenerReport, .multicastListenerQuery] where !forced.isEmpty {
        forced[0] = type.rawValue
        parsed += forced.withUnsafeBytes { exerciseICMPv6Views($0, source: source, destination: destination, emitBack: emitBack) }
    }
    if let packet = try? DHCPv6Packet(bytes) {
        parsed += 1
        _ = (packet.messageType, packet.transactionID, packet.optionsArea.count)
        if let value = try? DHCPv6Message(packet) {
            _ = (value.clientIdentifier, value.serverIdentifier, value.identityAssociations, value.optionRequest)
            _ = (value.preference, value.elapsedTime, value.status, value.rapidCommit, value.dnsServers, value.domainList)
            _ = (value.informationRefreshTime, value.solMaxRT)
            for duid in [value.clientIdentifier, value.serverIdentifier].compactMap({ $0 }) {
                _ = (duid.type, duid.hardwareType, duid.time, duid.linkLayerAddress, duid.macAddress, duid.enterpriseNumber)
                _ = (duid.identifier, duid.uuid, duid.hasValidLength, duid.description)
            }
            for association in value.identityAssociations {
                _ = (association.status, association.addresses.map(\.status))
            }
            for option in value.options {
                _ = try? DHCPv6IANA(data: option.data)
                _ = try? DHCPv6IAAddress(data: option.data)
                _ = try? DHCPv6Status(data: option.data)
            }
            emitBack(value.encodedLength) { try value.emit(into: $0) }
        }
    }
    return parsed
}

private func exerciseICMPv6Views(_ bytes: UnsafeRawBufferPointer, source: IPv6Address, destination: IPv6Address,
                                 emitBack: ((Int, (UnsafeMutableRawBufferPointer) throws -> Void) -> Void)) -> Int {
    var parsed = 0
    if let packet = try? RouterSolicitationPacket(bytes) {
        parsed += 1
        _ = (packet.code, packet.checksum, packet.optionsArea.count)
        if let value = try? RouterSolicitation(packet) {
            emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
        }
    }
    if let packet = try? RouterAdvertisementPacket(bytes) {
        parsed += 1
        _ = (packet.code, packet.checksum, packet.currentHopLimit, packet.managedAddressConfiguration, packet.otherConfiguration)
        _ = (packet.routerLifetime, packet.reachableTime, packet.retransTimer, packet.optionsArea.count)
        if let value = try? RouterAdvertisement(packet) {
            _ = (value.options.sourceLinkLayerAddress, value.options.prefixInformation.map(\.ipv6Prefix), value.options.mtu)
            emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
        }
    }
    if let packet = try? NeighborSolicitationPacket(bytes) {
        parsed += 1
        _ = (packet.code, packet.checksum, packet.targetAddress, packet.optionsArea.count)
        if let value = try? NeighborSolicitation(packet) {
            emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
        }
    }
    if let packet = try? NeighborAdvertisementPacket(bytes) {
        parsed += 1
        _ = (packet.code, packet.checksum, packet.router, packet.solicited, packet.override, packet.targetAddress)
        if let value = try? NeighborAdvertisement(packet) {
            _ = value.options.targetLinkLayerAddress
            emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
        }
    }
    if let packet = try? MLDv2ReportPacket(bytes) {
        parsed += 1
        _ = (packet.checksum, packet.numberOfRecords)
        if let value = try? MLDv2Report(packet) {
            emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
        }
    }
    if let packet = try? MLDQueryPacket(bytes) {
        parsed += 1
        _ = (packet.code, packet.checksum, packet.isVersion2, packet.maximumResponseCode, packet.maximumResponseDelay)
        _ = (packet.multicastAddress, packet.suppressRouterSideProcessing, packet.querierRobustnessVariable)
        _ = (packet.querierQueryIntervalCode, packet.querierQueryInterval, packet.sources)
        let value = MLDQuery(packet)
        emitBack(value.encodedLength) { try value.emit(into: $0, source: source, destination: destination) }
    }
    return parsed
}

@Suite("no input traps")
struct NoCrashTests {
    static let fixtures: [[UInt8]] = [
        Fixture.ethernetARPFrame, Fixture.arpRequest, Fixture.ipv4EchoRequest, Fixture.icmpEchoRequest,
        Fixture.udpDatagram, Fixture.dhcpOffer, Fixture.virtioNetHeader,
        Fixture.ipv6EchoRequest, Fixture.ipv6WithHopByHop, Fixture.icmpv6EchoRequest, Fixture.routerAdvertisement,
        Fixture.neighborSolicitation, Fixture.neighborAdvertisement, Fixture.mldv2Report, Fixture.mldv2Query,
        Fixture.dhcpv6Solicit, Fixture.dhcpv6Reply,
    ]

    @Test("every prefix of every fixture and 10,000 seeded random buffers go through every view without trapping")
    func noTraps() {
        var parsedPrefixes = 0
        for fixture in Self.fixtures {
            for length in 0 ... fixture.count {
                parsedPrefixes += withBytes(Array(fixture.prefix(length))) { exerciseEveryView($0) }
            }
        }
        #expect(parsedPrefixes > 0)

        // Half the buffers are pure noise; half are fixtures with a few bytes changed and a random length, which
        // get past the first checks (versions, cookies) and exercise the deeper ones.
        var random = SplitMix64(seed: 0x7A9_0E11)
        var parsedRandom = 0
        for round in 0 ..< 10_000 {
            var buffer: [UInt8]
            if round % 2 == 0 {
                buffer = random.bytes(count: Int(random.next() % 400))
            } else {
                buffer = Self.fixtures[Int(random.next() % UInt64(Self.fixtures.count))]
                for _ in 0 ..< 1 + Int(random.next() % 4) where !buffer.isEmpty {
                    buffer[Int(random.next() % UInt64(buffer.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                buffer = Array(buffer.prefix(Int(random.next() % UInt64(buffer.count + 20))))
            }
            parsedRandom += withBytes(buffer) { exerciseEveryView($0) }
        }
        #expect(parsedRandom > 0)
    }
}
