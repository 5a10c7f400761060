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
    _ = InternetChecksum.checksum(bytes)
    return parsed
}

@Suite("no input traps")
struct NoCrashTests {
    static let fixtures: [[UInt8]] = [
        Fixture.ethernetARPFrame, Fixture.arpRequest, Fixture.ipv4EchoRequest, Fixture.icmpEchoRequest,
        Fixture.udpDatagram, Fixture.dhcpOffer, Fixture.virtioNetHeader,
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
