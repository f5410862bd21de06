import ChannelMetrics
import Testing

/// REFERENCE-BEHAVIOUR §6: the fuzzy key search, and the JSON parser under it.
@Suite struct JSONKeySearchTests {
    static func code(_ json: String, _ key: FuzzyKey = .code) -> String? {
        guard case .success(let document) = PythonJSONParser().parse(utf8: json.bytes) else { return "<not json>" }
        return FuzzyKeySearch.find(key, in: document)?.pythonStr
    }

    @Test(arguments: [
        // key at the top level wins over nested ones
        ("{\"a\": {\"code\": 1}, \"code\": 2}", "2"),
        ("{\"code\": 2, \"a\": {\"code\": 1}}", "2"),
        // otherwise the last match in document order
        ("{\"a\": {\"code\": 1}, \"b\": [{\"x\": {\"code\": 3}}]}", "3"),
        // a later null makes it "not found"; a later value after a null wins again
        ("{\"a\": {\"code\": 1}, \"b\": {\"code\": null}}", nil),
        ("{\"a\": {\"code\": null}, \"b\": {\"code\": 4}}", "4"),
        // first matching key of an object taken; the rest of that object not visited
        ("{\"a\": {\"Code\": 5, \"code\": 6, \"z\": {\"code\": 7}}}", "5"),
        // keys before the match are searched into (then replaced by the match)
        ("{\"a\": {\"x\": {\"code\": 8}, \"code\": 9}}", "9"),
        // arrays inside arrays
        ("{\"a\": [[{\"code\": 10}], [{\"code\": 11}]]}", "11"),
        // top-level array searched as {"data": [...]}
        ("[{\"code\": 12}, {\"code\": 13}]", "13"),
        ("[]", nil),
        // top-level scalar: not found
        ("5", nil), ("\"code\"", nil), ("null", nil),
        // names ignore case, '-' and '_'
        ("{\"C-O_d-E\": 14}", "14"),
        // duplicate keys: Python's dict keeps the first position with the last value
        ("{\"code\": 1, \"code\": 2}", "2"),
        ("{\"a\": {\"code\": 1}, \"b\": 2, \"a\": {\"x\": 3}}", nil),
        // values rendered as str()
        ("{\"code\": NaN}", "nan"), ("{\"code\": Infinity}", "inf"), ("{\"code\": true}", "True"),
        ("{\"code\": 0.0}", "0.0"), ("{\"code\": 1e5}", "100000.0"), ("{\"code\": {\"a\": 1}}", "{'a': 1}"),
        ("{\"code\": [1, \"x\"]}", "[1, 'x']"), ("{\"code\": \"0000\"}", "0000"),
    ] as [(String, String?)])
    func search(_ json: String, _ expected: String?) {
        #expect(Self.code(json) == expected)
    }

    @Test func topLevelArrayIsFoundUnderTheKeyData() {
        #expect(Self.code("[1, 2]", FuzzyKey("DATA")) == "[1, 2]")
    }

    @Test func errorCodeMatchesItsSpellings() {
        for name in ["errorCode", "error_code", "ERROR-CODE", "errorcode"] {
            #expect(Self.code("{\"\(name)\": 1}", .errorCode) == "1")
        }
        #expect(FuzzyKey("t_code").matches("T-Code"))
        #expect(!FuzzyKey("code").matches("codes"))
    }

    @Test func depthBoundRejectsInsteadOfRecursing() {
        let parser = PythonJSONParser(maxDepth: 512)
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let veryDeep = String(repeating: "{\"a\":", count: 100_000)
        #expect((try? parser.parse(utf8: ok.bytes).get()) != nil)
        #expect(parser.parse(utf8: deep.bytes) == .failure(.tooDeep))
        #expect(parser.parse(utf8: veryDeep.bytes) == .failure(.tooDeep))
    }

    @Test(arguments: [
        "", " ", "{", "{\"a\" 1}", "{\"a\": 1,}", "[1,]", "01", "1.", ".5", "1e", "-", "+1", "tru", "nul",
        "{\"a\": \"x\ty\"}", "\"\\x\"", "\"\\u12\"", "{} {}", "'a'", "{a: 1}", "Infinity1", "-NaN",
    ])
    func notJSON(_ text: String) {
        #expect(PythonJSONParser().parse(utf8: text.bytes) == .failure(.syntax))
    }

    @Test func integerDigitLimitIsPythons() {
        let ok = "{\"code\": " + String(repeating: "1", count: 4300) + "}"
        let tooLong = "{\"code\": " + String(repeating: "1", count: 4301) + "}"
        #expect(Self.code(ok) == String(repeating: "1", count: 4300))
        #expect(PythonJSONParser().parse(utf8: tooLong.bytes) == .failure(.integerTooLong))
    }

    @Test func surrogatePairsAndEscapes() {
        #expect(Self.code("{\"code\": \"\\ud83d\\ude00\\u00e9\\n\"}") == "😀é\n")
        #expect(Self.code("{\"code\": \"\\ud800x\"}") == "\u{FFFD}x")
    }
}
