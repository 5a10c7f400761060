import Testing
@testable import Wire

extension Fixture {
    /// The options of `dhcpOffer`, each on its own line.
    static let dhcpOfferOptions: [UInt8] = [
        53, 1, 2,                                         // message type: DHCPOFFER
        54, 4, 198, 51, 100, 1,                           // server identifier 198.51.100.1
        51, 4, 0x00, 0x00, 0x0E, 0x10,                    // lease time 3600 s
        58, 4, 0x00, 0x00, 0x07, 0x08,                    // renewal (T1) 1800 s
        59, 4, 0x00, 0x00, 0x0C, 0x4E,                    // rebinding (T2) 3150 s
        1, 4, 255, 255, 255, 0,                           // subnet mask 255.255.255.0
        3, 4, 198, 51, 100, 1,                            // router 198.51.100.1
        6, 8, 198, 51, 100, 1, 198, 51, 100, 2,           // DNS 198.51.100.1, 198.51.100.2
        255,                                              // end
    ]

    /// A DHCPOFFER from 198.51.100.1 offering 198.51.100.60 to 52:54:00:12:34:56, as dnsmasq sends it.
    static let dhcpOffer: [UInt8] = [
        0x02,                                             // op: BOOTREPLY
        0x01,                                             // htype: Ethernet
        0x06,                                             // hlen 6
        0x00,                                             // hops
        0x39, 0x03, 0xF3, 0x26,                           // xid 0x3903f326
        0x00, 0x00,                                       // secs
        0x00, 0x00,                                       // flags: unicast
        0, 0, 0, 0,                                       // ciaddr 0.0.0.0
        198, 51, 100, 60,                                 // yiaddr 198.51.100.60
        198, 51, 100, 1,                                  // siaddr 198.51.100.1
        0, 0, 0, 0,                                       // giaddr 0.0.0.0
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56,               // chaddr 52:54:00:12:34:56 ...
    ] + [UInt8](repeating: 0, count: 10)                  // ... and 10 bytes of chaddr padding
      + [UInt8](repeating: 0, count: 64)                  // sname: empty
      + [UInt8](repeating: 0, count: 128)                 // file: empty
      + [99, 130, 83, 99]                                 // magic cookie
      + dhcpOfferOptions                                  // options (50 bytes with end, ending at 290)
      + [UInt8](repeating: 0, count: 10)                  // padding to the 300-byte BOOTP minimum
}

@Suite("DHCP (RFC 2131, RFC 2132)")
struct DHCPPacketTests {
    static let offer = DHCPMessage(
        op: .bootReply, transactionID: 0x3903_F326,
        yourAddress: IPv4Address(198, 51, 100, 60), serverAddress: IPv4Address(198, 51, 100, 1),
        clientHardwareAddress: MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
        options: [
            .messageType(.offer),
            .serverIdentifier(IPv4Address(198, 51, 100, 1)),
            .ipAddressLeaseTime(3600),
            .uint32(.renewalTime, 1800),
            .uint32(.rebindingTime, 3150),
            .address(.subnetMask, IPv4Address(255, 255, 255, 0)),
            .addresses(.router, [IPv4Address(198, 51, 100, 1)]),
            .addresses(.domainNameServer, [IPv4Address(198, 51, 100, 1), IPv4Address(198, 51, 100, 2)]),
        ])

    @Test("decodes every fixed field of a DHCPOFFER")
    func decodesFixedFields() throws {
        #expect(Fixture.dhcpOffer.count == 300)
        try withBytes(Fixture.dhcpOffer) { bytes in
            let packet = try DHCPPacket(bytes)
            #expect(packet.op == .bootReply)
            #expect(packet.hardwareType == 1)
            #expect(packet.hardwareAddressLength == 6)
            #expect(packet.hops == 0)
            #expect(packet.transactionID == 0x3903_F326)
            #expect(packet.seconds == 0)
            #expect(packet.flags == 0)
            #expect(!packet.isBroadcast)
            #expect(packet.clientAddress == .any)
            #expect(packet.yourAddress == IPv4Address(198, 51, 100, 60))
            #expect(packet.serverAddress == IPv4Address(198, 51, 100, 1))
            #expect(packet.relayAgentAddress == .any)
            #expect(packet.clientHardwareAddress == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56))
            #expect(packet.clientHardwareAddressField.count == 16)
            #expect(packet.serverName.count == 64 && packet.serverName.allSatisfy { $0 == 0 })
            #expect(packet.bootFileName.count == 128 && packet.bootFileName.allSatisfy { $0 == 0 })
        }
    }

    @Test("decodes every option of a DHCPOFFER, typed")
    func decodesOptions() throws {
        let message = try withBytes(Fixture.dhcpOffer) { try DHCPMessage(try DHCPPacket($0)) }
        #expect(message.options.map(\.code.rawValue) == [53, 54, 51, 58, 59, 1, 3, 6])
        #expect(message.messageType == .offer)
        #expect(message.serverIdentifier == IPv4Address(198, 51, 100, 1))
        #expect(message.ipAddressLeaseTime == 3600)
        #expect(message.renewalTime == 1800)
        #expect(message.rebindingTime == 3150)
        #expect(message.subnetMask == IPv4Address(255, 255, 255, 0))
        #expect(message.routers == [IPv4Address(198, 51, 100, 1)])
        #expect(message.domainNameServers == [IPv4Address(198, 51, 100, 1), IPv4Address(198, 51, 100, 2)])
        #expect(message.requestedIPAddress == nil)
        #expect(message.hostName == nil)
        #expect(message.domainName == nil)
        #expect(message.interfaceMTU == nil)
        #expect(message.message == nil)
        #expect(message.option(.router)?.data == [198, 51, 100, 1])
        #expect(message.option(.clientIdentifier) == nil)
        #expect(message.serverName.isEmpty && message.bootFileName.isEmpty)
        #expect(message == Self.offer)
    }

    @Test("emits every byte into a 0xA5-filled buffer, padded to 300")
    func emits() throws {
        #expect(Self.offer.encodedLength == 300)
        let bytes = try emitted(length: 300) { try Self.offer.emit(into: $0) }
        #expect(bytes == Fixture.dhcpOffer, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 299) { try Self.offer.emit(into: $0) } }
    }

    @Test("emits past 300 without padding when the options need it")
    func emitsLong() throws {
        var message = Self.offer
        message.options.append(.string(.message, String(repeating: "x", count: 100)))
        #expect(message.encodedLength == 290 + 102)
        let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0) }
        #expect(bytes.last == 255)
        #expect(try withBytes(bytes) { try DHCPMessage(try DHCPPacket($0)) } == message)
    }

    @Test("rejects every truncation of the fixed part; cut options throw .truncated")
    func rejectsTruncation() throws {
        for length in 0 ..< DHCPPacket.minimumLength {
            expectTruncated("prefix \(length)") {
                try withBytes(Array(Fixture.dhcpOffer.prefix(length))) { _ = try DHCPPacket($0) }
            }
        }
        // Option boundaries: a prefix ending on one parses (no end option needed), any other cut is truncated.
        let boundaries: Set<Int> = [240, 243, 249, 255, 261, 267, 273, 279, 289, 290]
        for length in DHCPPacket.minimumLength ... 290 {
            try withBytes(Array(Fixture.dhcpOffer.prefix(length))) { bytes in
                let packet = try DHCPPacket(bytes)
                if boundaries.contains(length) {
                    #expect((try? packet.options()) != nil, "prefix \(length)")
                } else {
                    expectTruncated("options of prefix \(length)") { _ = try packet.options() }
                    expectTruncated("message of prefix \(length)") { _ = try DHCPMessage(packet) }
                }
            }
        }
    }

    @Test("rejects a wrong magic cookie")
    func rejectsCookie() {
        var bytes = Fixture.dhcpOffer
        bytes[239] = 98
        expectMalformed(field: "magicCookie") { try withBytes(bytes) { _ = try DHCPPacket($0) } }
    }

    @Test("round-trips requests with every typed option, broadcast flag and names")
    func roundTrips() throws {
        var discover = DHCPMessage(op: .bootRequest, transactionID: 0xA1B2_C3D4, seconds: 3,
                                   clientHardwareAddress: MACAddress(0x02, 0x00, 0x5E, 0x10, 0x20, 0x30),
                                   options: [.messageType(.discover),
                                             .clientIdentifier(MACAddress(0x02, 0x00, 0x5E, 0x10, 0x20, 0x30)),
                                             .requestedIPAddress(IPv4Address(198, 51, 100, 60)),
                                             .maximumMessageSize(1500),
                                             .hostName("tapvm-guest"),
                                             .parameterRequestList([.subnetMask, .router, .domainNameServer, .interfaceMTU])])
        discover.isBroadcast = true
        #expect(discover.flags == 0x8000)
        var ack = Self.offer
        ack.options[0] = .messageType(.ack)
        ack.options += [.uint16(.interfaceMTU, 1400), .string(.domainName, "example.test"), .address(.broadcastAddress, IPv4Address(198, 51, 100, 255))]
        ack.serverName = Array("dhcp.example.test".utf8)
        ack.bootFileName = Array("pxelinux.0".utf8)
        ack.hops = 2
        ack.relayAgentAddress = IPv4Address(192, 0, 2, 1)
        ack.clientAddress = IPv4Address(198, 51, 100, 60)
        let nak = DHCPMessage(op: .bootReply, transactionID: 1, options: [.messageType(.nak), .string(.message, "wrong network")])
        for message in [discover, ack, nak, Self.offer, DHCPMessage()] {
            let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0) }
            #expect(bytes.count >= 300)
            #expect(try withBytes(bytes) { try DHCPMessage(try DHCPPacket($0)) } == message)
        }
        #expect(discover.requestedIPAddress == IPv4Address(198, 51, 100, 60))
        #expect(discover.hostName == "tapvm-guest")
        #expect(discover.maximumMessageSize == 1500)
        #expect(discover.clientIdentifier == [1, 0x02, 0x00, 0x5E, 0x10, 0x20, 0x30])
        #expect(discover.parameterRequestList == [.subnetMask, .router, .domainNameServer, .interfaceMTU])
        #expect(ack.interfaceMTU == 1400)
        #expect(ack.domainName == "example.test")
        #expect(ack.broadcastAddress == IPv4Address(198, 51, 100, 255))
        #expect(ack.messageType == .ack)
        #expect(nak.message == "wrong network")
    }

    @Test("splits data over 255 bytes into several options and concatenates them back (RFC 3396)")
    func longOptions() throws {
        let data = (0 ..< 600).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let message = DHCPMessage(op: .bootRequest, options: [.messageType(.request), DHCPOption(code: DHCPOptionCode(rawValue: 224), data: data), DHCPOption(code: .hostName, data: [])])
        let bytes = try emitted(length: message.encodedLength) { try message.emit(into: $0) }
        // 224/255, 224/255, 224/90 in a row after option 53.
        #expect(Array(bytes[243 ..< 245]) == [224, 255])
        #expect(Array(bytes[500 ..< 502]) == [224, 255])
        #expect(Array(bytes[757 ..< 759]) == [224, 90])
        #expect(Array(bytes[849 ..< 852]) == [12, 0, 255])
        #expect(try withBytes(bytes) { try DHCPMessage(try DHCPPacket($0)) } == message)
    }

    @Test("concatenates repeated codes in order of first appearance (RFC 3396 §5)")
    func concatenates() throws {
        let options: [UInt8] = [
            6, 4, 198, 51, 100, 1,   // DNS, first part
            0, 0,                    // pads
            53, 1, 5,                // message type ACK
            6, 4, 198, 51, 100, 2,   // DNS, second part
            255, 99, 99,             // end, then garbage that must be ignored
        ]
        let bytes = Array(Fixture.dhcpOffer[0 ..< 240]) + options
        let message = try withBytes(bytes) { try DHCPMessage(try DHCPPacket($0)) }
        #expect(message.options.map(\.code) == [.domainNameServer, .messageType])
        #expect(message.domainNameServers == [IPv4Address(198, 51, 100, 1), IPv4Address(198, 51, 100, 2)])
    }

    @Test("option overload reads file then sname (RFC 2131 §4.1, RFC 2132 §9.3)")
    func overload() throws {
        var bytes = Array(Fixture.dhcpOffer[0 ..< 240]) + [52, 1, 3, 53, 1, 5, 255]
        let fileOptions: [UInt8] = [54, 4, 198, 51, 100, 1, 12, 3, 0x61, 0x62, 0x63, 255]  // server id, host "abc"
        let snameOptions: [UInt8] = [12, 2, 0x64, 0x65, 255]                                 // host name continued "de"
        for (index, byte) in fileOptions.enumerated() { bytes[108 + index] = byte }
        for (index, byte) in snameOptions.enumerated() { bytes[44 + index] = byte }
        let message = try withBytes(bytes) { try DHCPMessage(try DHCPPacket($0)) }
        #expect(message.options.map(\.code) == [.optionOverload, .messageType, .serverIdentifier, .hostName])
        #expect(message.serverIdentifier == IPv4Address(198, 51, 100, 1))
        #expect(message.hostName == "abcde")
        // Overload 1 reads only file.
        bytes[242] = 1
        let fileOnly = try withBytes(bytes) { try DHCPMessage(try DHCPPacket($0)) }
        #expect(fileOnly.hostName == "abc")
        // A truncated option inside file throws.
        bytes[108 + 127] = 12
        for index in 108 + fileOptions.count - 1 ..< 108 + 127 { bytes[index] = 0 }
        expectTruncated("option cut at the end of file") { try withBytes(bytes) { _ = try DHCPPacket($0).options() } }
    }

    @Test("typed accessors return nil or empty for malformed data")
    func malformedTypedOptions() {
        let message = DHCPMessage(options: [
            DHCPOption(code: .messageType, data: [1, 2]),
            DHCPOption(code: .serverIdentifier, data: [1, 2, 3]),
            DHCPOption(code: .ipAddressLeaseTime, data: [0, 0, 1]),
            DHCPOption(code: .router, data: [1, 2, 3, 4, 5]),
            DHCPOption(code: .domainNameServer, data: []),
            DHCPOption(code: .hostName, data: [0xFF, 0xFE]),
            DHCPOption(code: .interfaceMTU, data: [0, 67]),
            DHCPOption(code: .domainName, data: Array("lan".utf8) + [0]),
        ])
        #expect(message.messageType == nil)
        #expect(message.serverIdentifier == nil)
        #expect(message.ipAddressLeaseTime == nil)
        #expect(message.routers == [])
        #expect(message.domainNameServers == [])
        #expect(message.hostName == nil)
        #expect(message.interfaceMTU == nil)
        #expect(message.domainName == "lan")  // a trailing NUL is tolerated
    }

    @Test("refuses to emit oversized names or pad/end options")
    func refusesImpossible() {
        var message = Self.offer
        message.serverName = [UInt8](repeating: 0x41, count: 65)
        expectMalformed(field: "serverName") { _ = try emitted(length: 400) { try message.emit(into: $0) } }
        message = Self.offer
        message.bootFileName = [UInt8](repeating: 0x41, count: 129)
        expectMalformed(field: "bootFileName") { _ = try emitted(length: 400) { try message.emit(into: $0) } }
        message = Self.offer
        message.options.append(DHCPOption(code: .end, data: []))
        expectMalformed(field: "options") { _ = try emitted(length: 400) { try message.emit(into: $0) } }
    }

    @Test("ports and cookie constants")
    func constants() {
        #expect(DHCPPacket.serverPort == 67 && DHCPPacket.clientPort == 68)
        #expect(IPv4Address(rawValue: DHCPPacket.magicCookie) == IPv4Address(99, 130, 83, 99))
    }
}
