import Testing
@testable import Wire

extension Fixture {
    /// An MLDv2 report fe80::ff:fe00:a → ff02::16 with two records.
    static let mldv2Report: [UInt8] = [
        0x8F,                                             // type 143: MLDv2 report
        0x00,                                             // reserved
        0xA2, 0x67,                                       // checksum 0xa267 (computed independently with python3)
        0x00, 0x00,                                       // reserved
        0x00, 0x02,                                       // 2 records
        0x04,                                             // record 1: CHANGE_TO_EXCLUDE_MODE (join)
        0x00,                                             //   aux data len 0
        0x00, 0x00,                                       //   0 sources
        0xFF, 0x02, 0, 0, 0, 0, 0, 0,                     //   ff02::1:ff00:a ...
        0, 0, 0, 0x01, 0xFF, 0x00, 0x00, 0x0A,            //   ...
        0x05,                                             // record 2: ALLOW_NEW_SOURCES
        0x01,                                             //   aux data len 1 word
        0x00, 0x01,                                       //   1 source
        0xFF, 0x05, 0, 0, 0, 0, 0, 0,                     //   ff05::1:3 ...
        0, 0, 0, 0, 0, 0x01, 0x00, 0x03,                  //   ...
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         //   source 2001:db8:1::1 ...
        0, 0, 0, 0, 0, 0, 0, 0x01,                        //   ...
        0xDE, 0xAD, 0xBE, 0xEF,                           //   aux data
    ]

    /// An MLDv2 group-and-source-specific query fe80::1 → ff05::1:3.
    static let mldv2Query: [UInt8] = [
        0x82,                                             // type 130: multicast listener query
        0x00,                                             // code 0
        0x21, 0xBA,                                       // checksum 0x21ba (computed independently with python3)
        0x27, 0x10,                                       // maximum response code 10000 (ms)
        0x00, 0x00,                                       // reserved
        0xFF, 0x05, 0, 0, 0, 0, 0, 0,                     // multicast address ff05::1:3 ...
        0, 0, 0, 0, 0, 0x01, 0x00, 0x03,                  // ...
        0x0A,                                             // reserved 0, S set, QRV 2
        0x7D,                                             // QQIC 125 s
        0x00, 0x01,                                       // 1 source
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0, 0,         // source 2001:db8:1::1 ...
        0, 0, 0, 0, 0, 0, 0, 0x01,                        // ...
    ]
}

@Suite("MLD (RFC 3810, RFC 2710)")
struct MLDTests {
    static let group = IPv6Address(0xFF05, 0, 0, 0, 0, 0, 1, 3)
    static let report = MLDv2Report(records: [
        MLDv2MulticastAddressRecord(recordType: .changeToExcludeMode, multicastAddress: Fixture.hostLinkLocal.solicitedNodeMulticast),
        MLDv2MulticastAddressRecord(recordType: .allowNewSources, multicastAddress: group, sources: [Fixture.ipv6Router],
                                    auxiliaryData: [0xDE, 0xAD, 0xBE, 0xEF]),
    ])
    static let query = MLDQuery(maximumResponseCode: 10000, multicastAddress: group,
                                version2: MLDv2QueryFields(suppressRouterSideProcessing: true, querierRobustnessVariable: 2,
                                                           querierQueryIntervalCode: 125, sources: [Fixture.ipv6Router]))

    @Test("report: decodes every field of two records")
    func decodesReport() throws {
        try withBytes(Fixture.mldv2Report) { bytes throws in
            #expect(try ICMPv6Packet(bytes).isChecksumValid(source: Fixture.hostLinkLocal, destination: .allMLDv2Routers))
            let packet = try MLDv2ReportPacket(bytes)
            #expect(packet.checksum == 0xA267 && packet.numberOfRecords == 2)
            let records = try packet.records()
            #expect(records.count == 2)
            #expect(records[0].recordType == .changeToExcludeMode)
            #expect(records[0].multicastAddress.description == "ff02::1:ff00:a")
            #expect(records[0].sources.isEmpty && records[0].auxiliaryData.isEmpty)
            #expect(records[1].recordType == .allowNewSources && records[1].multicastAddress == Self.group)
            #expect(records[1].sources == [Fixture.ipv6Router] && records[1].auxiliaryData == [0xDE, 0xAD, 0xBE, 0xEF])
            #expect(try MLDv2Report(packet) == Self.report)
        }
    }

    @Test("report: emits every byte, rejects every truncation, round-trips")
    func report() throws {
        #expect(Self.report.encodedLength == 68)
        let bytes = try emitted(length: 68) { try Self.report.emit(into: $0, source: Fixture.hostLinkLocal, destination: .allMLDv2Routers) }
        #expect(bytes == Fixture.mldv2Report, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 67) { try Self.report.emit(into: $0, source: Fixture.hostLinkLocal, destination: .allMLDv2Routers) } }
        for length in 0 ..< 68 {
            expectTruncated("prefix \(length)") { try withBytes(Array(bytes.prefix(length))) { _ = try MLDv2ReportPacket($0).records() } }
        }
        var badAux = Self.report
        badAux.records[1].auxiliaryData = [1, 2, 3]
        expectMalformed(field: "auxiliaryData") { _ = try emitted(length: 67) { try badAux.emit(into: $0, source: .unspecified, destination: .allMLDv2Routers) } }
        for report in [Self.report, MLDv2Report(records: []),
                       MLDv2Report(records: (1 ... 6).map { MLDv2MulticastAddressRecord(recordType: MLDv2RecordType(UInt8($0)), multicastAddress: Self.group,
                                                                                          sources: Array(repeating: Fixture.ipv6Host, count: $0)) })] {
            let encoded = try emitted(length: report.encodedLength) { try report.emit(into: $0, source: .unspecified, destination: .allMLDv2Routers) }
            try withBytes(encoded) { raw throws in
                #expect(try ICMPv6Packet(raw).isChecksumValid(source: .unspecified, destination: .allMLDv2Routers))
                #expect(try MLDv2Report(MLDv2ReportPacket(raw)) == report)
            }
        }
    }

    @Test("query: decodes every field of an MLDv2 query")
    func decodesQuery() throws {
        try withBytes(Fixture.mldv2Query) { bytes in
            #expect(try ICMPv6Packet(bytes).isChecksumValid(source: Fixture.routerLinkLocal, destination: Self.group))
            let packet = try MLDQueryPacket(bytes)
            #expect(packet.isVersion2 && packet.code == 0 && packet.checksum == 0x21BA)
            #expect(packet.maximumResponseCode == 10000 && packet.maximumResponseDelay == 10000)
            #expect(packet.multicastAddress == Self.group)
            #expect(packet.suppressRouterSideProcessing && packet.querierRobustnessVariable == 2)
            #expect(packet.querierQueryIntervalCode == 125 && packet.querierQueryInterval == 125)
            #expect(packet.sources == [Fixture.ipv6Router])
            #expect(MLDQuery(packet) == Self.query)
        }
    }

    @Test("query: emits every byte, rejects truncations and odd lengths, round-trips v1 and v2")
    func query() throws {
        #expect(Self.query.encodedLength == 44)
        let bytes = try emitted(length: 44) { try Self.query.emit(into: $0, source: Fixture.routerLinkLocal, destination: Self.group) }
        #expect(bytes == Fixture.mldv2Query, "\(hex(bytes))")
        expectBufferTooSmall { _ = try emitted(length: 43) { try Self.query.emit(into: $0, source: Fixture.routerLinkLocal, destination: Self.group) } }
        for length in 0 ..< 44 where length != 24 && !(25 ... 27).contains(length) {
            expectTruncated("prefix \(length)") { try withBytes(Array(bytes.prefix(length))) { _ = try MLDQueryPacket($0) } }
        }
        for length in 25 ... 27 {
            expectMalformed(field: "length") { try withBytes(Array(bytes.prefix(length))) { _ = try MLDQueryPacket($0) } }
        }
        // The first 24 bytes are an MLDv1 query.
        try withBytes(Array(bytes.prefix(24))) { raw throws in
            let packet = try MLDQueryPacket(raw)
            #expect(!packet.isVersion2 && packet.sources.isEmpty && !packet.suppressRouterSideProcessing)
            #expect(packet.querierRobustnessVariable == 0 && packet.querierQueryIntervalCode == 0 && packet.maximumResponseDelay == 10000)
        }
        let general = MLDQuery(maximumResponseCode: 0x8123, version2: MLDv2QueryFields())
        for query in [Self.query, MLDQuery(maximumResponseCode: 1000), general] {
            let encoded = try emitted(length: query.encodedLength) { try query.emit(into: $0, source: Fixture.routerLinkLocal, destination: .allNodes) }
            try withBytes(encoded) { raw throws in
                #expect(try ICMPv6Packet(raw).isChecksumValid(source: Fixture.routerLinkLocal, destination: .allNodes))
                #expect(MLDQuery(try MLDQueryPacket(raw)) == query)
            }
        }
        var badQRV = Self.query
        badQRV.version2?.querierRobustnessVariable = 8
        expectMalformed(field: "querierRobustnessVariable") { _ = try emitted(length: 44) { try badQRV.emit(into: $0, source: .unspecified, destination: .allNodes) } }
    }

    @Test("exponential codes: maximum response code and QQIC (RFC 3810 §5.1.3, §5.1.9)")
    func exponentialCodes() {
        #expect(MLDQuery.maximumResponseDelay(code: 0x7FFF) == 32767)
        // 0x8000: exp 0, mant 0 → 0x1000 << 3 = 32768.
        #expect(MLDQuery.maximumResponseDelay(code: 0x8000) == 32768)
        // 0x8123: exp 0, mant 0x123 → 0x1123 << 3.
        #expect(MLDQuery.maximumResponseDelay(code: 0x8123) == 0x1123 << 3)
        // 0xFFFF: exp 7, mant 0xfff → 0x1fff << 10 = 8387584.
        #expect(MLDQuery.maximumResponseDelay(code: 0xFFFF) == 8_387_584)
        #expect(MLDQuery.querierQueryInterval(code: 127) == 127)
        #expect(MLDQuery.querierQueryInterval(code: 0x80) == 128)
        #expect(MLDQuery.querierQueryInterval(code: 0xFF) == 31744)
    }
}
