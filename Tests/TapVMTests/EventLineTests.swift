import Testing
@testable import TapVM

@Suite struct EventLineTests {
    @Test func jsonKeepsEventFirstAndKeyOrder() {
        let line = EventLine("lease", [("address", .string("198.51.100.60")), ("prefix_length", .integer(24)),
                                       ("phases_ms", .object([("discover", .number(0.25)), ("bound", .number(1.5))])),
                                       ("router", .null), ("ok", .bool(true))], human: "")
        #expect(line.json == #"{"event":"lease","address":"198.51.100.60","prefix_length":24,"phases_ms":{"discover":0.250,"bound":1.500},"router":null,"ok":true}"#)
    }

    @Test func jsonEscapesControlCharactersAndQuotes() {
        #expect(JSONValue.string("a\"b\\c\n\u{01}").encoded == #""a\"b\\c\n\u0001""#)
        #expect(JSONValue.number(.nan).encoded == "null")
        #expect(JSONValue.array([.integer(-3), .bool(false)]).encoded == "[-3,false]")
    }

    @Test func labNamesAreValidated() {
        #expect(throws: TapVMError.self) { try LabSegment(name: "") }
        #expect(throws: TapVMError.self) { try LabSegment(name: "Upper") }
        #expect(throws: TapVMError.self) { try LabSegment(name: "way-too-long-name") }
        #expect(throws: TapVMError.self) { try LabSegment(name: "-dash") }
        #expect((try? LabSegment(name: "lab-1"))?.clientNamespace == "lab-1-c")
    }

    @Test func pingSummaryIsReadWithPartialReplies() {
        let output = """
            PING 198.51.100.60 (198.51.100.60) 56(84) bytes of data.
            64 bytes from 198.51.100.60: icmp_seq=1 ttl=64 time=0.061 ms

            --- 198.51.100.60 ping statistics ---
            3 packets transmitted, 1 received, 66.6667% packet loss, time 405ms
            rtt min/avg/max/mdev = 0.061/0.061/0.061/0.000 ms
            """
        let result = LabSegment.parsePing(output)
        #expect(result.sent == 3 && result.received == 1 && result.average == .microseconds(61))
        let none = LabSegment.parsePing("3 packets transmitted, 0 received, 100% packet loss, time 2049ms")
        #expect(none.sent == 3 && none.received == 0 && none.average == nil)
    }
}
