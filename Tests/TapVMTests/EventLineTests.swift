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
}
