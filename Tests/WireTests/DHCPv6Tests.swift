import Testing
@testable import Wire

extension Fixture {
    /// A DHCPv6 Solicit from the client with MAC 02:00:00:00:00:0a.
    static let dhcpv6Solicit: [UInt8] = [
        0x01,                                             // msg-type 1: SOLICIT
        0x5A, 0x6B, 0x7C,                                 // transaction-id 0x5a6b7c
        0x00, 0x01, 0x00, 0x0A,                           // OPTION_CLIENTID, length 10
        0x00, 0x03,                                       //   DUID-LL
        0x00, 0x01,                                       //   hardware type 1 (Ethernet)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0A,               //   02:00:00:00:00:0a
        0x00, 0x08, 0x00, 0x02,                           // OPTION_ELAPSED_TIME, length 2
        0x00, 0x96,                                       //   150 hundredths of a second
        0x00, 0x06, 0x00, 0x06,                           // OPTION_ORO, length 6
        0x00, 0x17, 0x00, 0x18, 0x00, 0x52,               //   23 (DNS servers), 24 (domain list), 82 (SOL_MAX_RT)
        0x00, 0x03, 0x00, 0x0C,                           // OPTION_IA_NA, length 12
        0x1A, 0x2B, 0x3C, 0x4D,                           //   IAID 0x1a2b3c4d
        0x00, 0x00, 0x00, 0x00,                           //   T1 0
        0x00, 0x00, 0x00, 0x00,                           //   T2 0
    ]

    /// The server's Reply: an address, its lifetimes and status, DNS server and domain list.
    static let dhcpv6Reply: [UInt8] = [
        0x07,                                             // msg-type 7: REPLY
        0x5A, 0x6B, 0x7C,                                 // transaction-id 0x5a6b7c
        0x00, 0x02, 0x00, 0x0E,                           // OPTION_SERVERID, length 14
        0x00, 0x01,                                       //   DUID-LLT
        0x00, 0x01,                                       //   hardware type 1 (Ethernet)
        0x2C, 0x3D, 0x4E, 0x5F,                           //   time 0x2c3d4e5f
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01,               //   02:00:00:00:00:01
        0x00, 0x01, 0x00, 0x0A,                           // OPTION_CLIENTID, length 10
        0x00, 0x03, 0x00, 0x01,                           //   DUID-LL, Ethernet
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0A,               //   02:00:00:00:00:0a
        0x00, 0x03, 0x00, 0x30,                           // OPTION_IA_NA, length 48
        0x1A, 0x2B, 0x3C, 0x4D,                           //   IAID 0x1a2b3c4d
        0x00, 0x00, 0x07, 0x08,                           //   T1 1800 s
        0x00, 0x00, 0x0B, 0x40,                           //   T2 2880 s
        0x00, 0x05, 0x00, 0x20,                           //   OPTION_IAADDR, length 32
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         //     2001:db8:1::1000 ...
        0, 0, 0, 0, 0, 0, 0x10, 0x00,                     //     ...
        0x00, 0x00, 0x0E, 0x10,                           //     preferred lifetime 3600 s
        0x00, 0x00, 0x1C, 0x20,                           //     valid lifetime 7200 s
        0x00, 0x0D, 0x00, 0x04,                           //     OPTION_STATUS_CODE, length 4
        0x00, 0x00,                                       //       Success
        0x6F, 0x6B,                                       //       "ok"
        0x00, 0x17, 0x00, 0x10,                           // OPTION_DNS_SERVERS, length 16
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         //   2001:db8:1::1 ...
        0, 0, 0, 0, 0, 0, 0, 0x01,                        //   ...
        0x00, 0x18, 0x00, 0x0D,                           // OPTION_DOMAIN_LIST, length 13
        0x07, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65,   //   "example"
        0x03, 0x63, 0x6F, 0x6D, 0x00,                     //   "com", root
    ]
}

@Suite("DHCPv6 (RFC 8415, RFC 3646)")
struct DHCPv6Tests {
    static let clientDUID = DUID.linkLayer(Fixture.hostMAC)
    static let serverDUID = DUID.linkLayerPlusTime(Fixture.routerMAC, time: 0x2C3D_4E5F)
    static let solicit = DHCPv6Message(messageType: .solicit, transactionID: 0x5A6B7C, options: [
        .clientIdentifier(clientDUID),
        .elapsedTime(hundredthsOfSecond: 150),
        .optionRequest([.dnsServers, .domainList, .solMaxRT]),
        .iaNA(DHCPv6IANA(iaid: 0x1A2B_3C4D)),
    ])
    static let address = DHCPv6IAAddress(address: IPv6Address("2001:db8:1::1000")!, preferredLifetime: 3600, validLifetime: 7200,
                                         options: [.statusCode(DHCPv6Status(code: .success, message: "ok"))])
    static func reply() throws -> DHCPv6Message {
        DHCPv6Message(messageType: .reply, transactionID: 0x5A6B7C, options: [
            .serverIdentifier(serverDUID),
            .clientIdentifier(clientDUID),
            .iaNA(DHCPv6IANA(iaid: 0x1A2B_3C4D, t1: 1800, t2: 2880, options: [.iaAddress(address)])),
            .dnsServers([Fixture.ipv6Router]),
            try .domainList(["example.com"]),
        ])
    }

    @Test("Solicit: decodes every field")
    func decodesSolicit() throws {
        try withBytes(Fixture.dhcpv6Solicit) { bytes in
            let packet = try DHCPv6Packet(bytes)
            #expect(packet.messageType == .solicit && packet.transactionID == 0x5A6B7C)
            let message = try DHCPv6Message(packet)
            #expect(message.options.map(\.code) == [.clientIdentifier, .elapsedTime, .optionRequest, .iaNA])
            let duid = try #require(message.clientIdentifier)
            #expect(duid.type == .linkLayer && duid.hardwareType == 1 && duid.macAddress == Fixture.hostMAC)
            #expect(duid.time == nil && duid.enterpriseNumber == nil && duid.uuid == nil && duid.hasValidLength)
            #expect(message.serverIdentifier == nil)
            #expect(message.elapsedTime == 150)
            #expect(message.optionRequest == [.dnsServers, .domainList, .solMaxRT])
            #expect(message.identityAssociations == [DHCPv6IANA(iaid: 0x1A2B_3C4D, t1: 0, t2: 0)])
            #expect(!message.rapidCommit && message.status == nil && message.preference == nil)
            #expect(message == Self.solicit)
        }
    }

    @Test("Reply: decodes every field, nested options included")
    func decodesReply() throws {
        try withBytes(Fixture.dhcpv6Reply) { bytes in
            let message = try DHCPv6Message(DHCPv6Packet(bytes))
            #expect(message.messageType == .reply && message.transactionID == 0x5A6B7C)
            let server = try #require(message.serverIdentifier)
            #expect(server.type == .linkLayerPlusTime && server.time == 0x2C3D_4E5F && server.macAddress == Fixture.routerMAC)
            #expect(server.description == "00:01:00:01:2c:3d:4e:5f:02:00:00:00:00:01")
            #expect(message.clientIdentifier == Self.clientDUID)
            let association = try #require(message.identityAssociations.first)
            #expect(association.iaid == 0x1A2B_3C4D && association.t1 == 1800 && association.t2 == 2880)
            #expect(association.status == nil)
            #expect(association.addresses == [Self.address])
            #expect(association.addresses.first?.status == DHCPv6Status(code: .success, message: "ok"))
            #expect(message.dnsServers == [Fixture.ipv6Router])
            #expect(message.domainList == ["example.com"])
            #expect(message == (try Self.reply()))
        }
    }

    @Test("emits every byte of both messages into a 0xA5-filled buffer")
    func emits() throws {
        #expect(Self.solicit.encodedLength == 50)
        let solicit = try emitted(length: 50) { try Self.solicit.emit(into: $0) }
        #expect(solicit == Fixture.dhcpv6Solicit, "\(hex(solicit))")
        let reply = try Self.reply()
        #expect(reply.encodedLength == 125)
        let bytes = try emitted(length: 125) { try reply.emit(into: $0) }
        #expect(bytes == Fixture.dhcpv6Reply, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 124) { try reply.emit(into: $0) } }
        expectMalformed(field: "transactionID") { _ = try emitted(length: 4) { try DHCPv6Message(messageType: .solicit, transactionID: 0x100_0000).emit(into: $0) } }
        expectMalformed(field: "options") {
            let huge = DHCPv6Message(messageType: .reply, transactionID: 1, options: [DHCPv6Option(code: .dnsServers, data: Array(repeating: 0, count: 65536))])
            _ = try emitted(length: huge.encodedLength) { try huge.emit(into: $0) }
        }
    }

    @Test("rejects every truncation, at the top level and nested")
    func rejectsTruncation() throws {
        for fixture in [Fixture.dhcpv6Solicit, Fixture.dhcpv6Reply] {
            // Option boundaries are valid shorter messages; every other cut is truncated.
            var boundaries: Set<Int> = [4]
            var offset = 4
            while offset < fixture.count {
                offset += 4 + Int(fixture[offset + 2]) << 8 + Int(fixture[offset + 3])
                boundaries.insert(offset)
            }
            for length in 0 ..< fixture.count where !boundaries.contains(length) {
                expectTruncated("prefix \(length)") { try withBytes(Array(fixture.prefix(length))) { _ = try DHCPv6Packet($0).options() } }
            }
        }
        expectTruncated("IA_NA") { _ = try DHCPv6IANA(data: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]) }
        expectTruncated("IA_NA nested") { _ = try DHCPv6IANA(data: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24, 0]) }
        expectTruncated("IAADDR") { _ = try DHCPv6IAAddress(data: Array(repeating: 0, count: 23)) }
        expectTruncated("status") { _ = try DHCPv6Status(data: [0]) }
        // A truncated nested option makes the typed accessor skip that IA_NA, never trap.
        let message = DHCPv6Message(messageType: .reply, transactionID: 1, options: [DHCPv6Option(code: .iaNA, data: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24, 0])])
        #expect(message.identityAssociations.isEmpty)
    }

    @Test("round-trips every message type and option helper")
    func roundTrips() throws {
        var messages = [Self.solicit, try Self.reply()]
        for type in 1 ... 11 {
            messages.append(DHCPv6Message(messageType: DHCPv6MessageType(UInt8(type)), transactionID: UInt32(type) * 0x10101, options: [
                .clientIdentifier(.enterpriseNumber(32473, identifier: [1, 2, 3])),
                .serverIdentifier(.uuid(Array(0 ..< 16))),
                .preference(255), .rapidCommit, .informationRefreshTime(86400), .solMaxRT(3600),
                .statusCode(DHCPv6Status(code: .noAddressesAvailable, message: "no addresses, sorry ✓")),
                DHCPv6Option(code: DHCPv6OptionCode(0xFFFF), data: []),
            ]))
        }
        for message in messages {
            let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0) }
            try withBytes(bytes) { raw throws in #expect(try DHCPv6Message(DHCPv6Packet(raw)) == message) }
        }
        let typed = messages[2]
        #expect(typed.clientIdentifier?.enterpriseNumber == 32473 && typed.clientIdentifier?.identifier == [1, 2, 3])
        #expect(typed.serverIdentifier?.uuid == Array(0 ..< 16))
        #expect(typed.preference == 255 && typed.rapidCommit && typed.informationRefreshTime == 86400 && typed.solMaxRT == 3600)
        #expect(typed.status == DHCPv6Status(code: .noAddressesAvailable, message: "no addresses, sorry ✓"))
    }

    @Test("elapsed time saturates at 0xffff; DUID layouts")
    func helpers() {
        #expect(DHCPv6Option.elapsedTime(hundredthsOfSecond: 70_000).data == [0xFF, 0xFF])
        #expect(DHCPv6Option.elapsedTime(hundredthsOfSecond: 0xFFFF).data == [0xFF, 0xFF])
        #expect(DHCPv6Option.elapsedTime(hundredthsOfSecond: -5).data == [0, 0])
        #expect(DHCPv6Option.elapsedTime(hundredthsOfSecond: 0x1234).data == [0x12, 0x34])
        #expect(Self.clientDUID.bytes == [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x0A])
        #expect(DUID(bytes: [0]).type == nil && !DUID(bytes: [0, 3]).hasValidLength)
        #expect(DUID(bytes: [0, 1, 0, 1]).time == nil && DUID(bytes: [0, 1, 0, 1]).linkLayerAddress == nil)
        #expect(DUID(bytes: [0, 9, 1]).type == DUIDType(9) && DUID(bytes: [0, 9, 1]).macAddress == nil)
    }
}

@Suite struct ByteOrderArrayTests {
    @Test func bigEndianReadsArraysAndSlicesFromTheirStart() {
        let bytes: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 0x01, 0x02]
        #expect(bytes.bigEndian(UInt32.self, at: 0) == 0xdead_beef)
        #expect(bytes.bigEndian(UInt16.self, at: 4) == 0x0102)
        // A slice counts offsets from its own start, not from the base array's.
        let slice = bytes[2...]
        #expect(slice.bigEndian(UInt16.self, at: 0) == 0xbeef && slice.bigEndian(UInt32.self, at: 0) == 0xbeef_0102)
        #expect(bigEndianBytes(UInt32(0xdead_beef)) == [0xde, 0xad, 0xbe, 0xef])
    }

    @Test func serverUnicastAndInformationMaxRTAreTyped() {
        let server: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x53]
        var message = DHCPv6Message(messageType: .reply, transactionID: 1,
                                    options: [DHCPv6Option(code: DHCPv6OptionCode(12), data: server),
                                              DHCPv6Option(code: DHCPv6OptionCode(83), data: [0, 0, 0x0e, 0x10])])
        #expect(message.serverUnicast == IPv6Address(bytes: server) && message.informationMaxRT == 3600)
        #expect(DHCPv6OptionCode.serverUnicast.description == "OPTION_UNICAST")
        #expect(DHCPv6OptionCode.informationMaxRT.description == "OPTION_INF_MAX_RT")
        message.options = [DHCPv6Option(code: .serverUnicast, data: [1, 2, 3]), DHCPv6Option(code: .informationMaxRT, data: [1])]
        #expect(message.serverUnicast == nil && message.informationMaxRT == nil)
    }
}
