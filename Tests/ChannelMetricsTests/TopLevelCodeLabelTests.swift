import Testing

@testable import ChannelMetrics

/// The labels read straight from the bytes (`scanTopLevelLabels`) must be what the general
/// path gives (`scanTopLevel`, then `pythonStr`, `== .null`, `equalsNumberZero` of the built
/// value), on every input: valid or damaged, every value kind, duplicates, any depth bound.
@Suite struct TopLevelCodeLabelTests {
    /// What the general path says, in the fast path's form.
    static func general(_ bytes: [UInt8], _ parser: PythonJSONParser, _ keys: [FuzzyKey]) -> TopLevelLabelScan {
        switch parser.scanTopLevel(utf8: bytes, for: keys) {
        case .failure(let rejection): return .rejected(rejection)
        case .success(.notAnObject): return .notAnObject
        case .success(.values(let values)):
            var labels = TopLevelCodeLabels()
            labels.first = values[0].map(CodeLabel.init)
            if keys.count == 2, values[0] == .null { labels.second = values[1].map(CodeLabel.init) }
            return .labels(labels)
        }
    }

    /// A label as compared: NaN's text is `nan` on both sides, so texts compare exactly.
    static func check(_ bytes: [UInt8], _ parser: PythonJSONParser, sourceLocation: SourceLocation = #_sourceLocation) {
        for keys: [FuzzyKey] in [[.code], [.code, .errorCode]] {
            let fast = parser.scanTopLevelLabels(utf8: bytes, for: keys)
            let slow = general(bytes, parser, keys)
            #expect(fast == slow, "\(String(decoding: bytes, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
        }
    }

    static let codes = [
        "0", "-0", "7", "-12", "200", "123456789012345678", "1234567890123456789", "-1234567890123456789",
        String(repeating: "9", count: 4300), String(repeating: "9", count: 4301), "1.5", "1e5", "1E+2", "0.0", "-0.0", "2e-3",
        "\"\"", "\"0000\"", "\"ok\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"é中\"", "\"x\\ny\"", "null", "true", "false",
        "NaN", "Infinity", "-Infinity", "[]", "[0]", "{}", "{\"code\": 1}", "[[[[[[[[[1]]]]]]]]]",
    ]

    @Test(arguments: codes) func everyValueKind(code: String) {
        let parser = PythonJSONParser(maxDepth: 8)
        for template in ["{\"code\": CODE}", "{\"a\": 1, \"code\":CODE, \"b\": [2]}", "{\"code\": null, \"errorCode\": CODE}",
            "{\"code\": 3, \"code\": CODE}", "{\"code\": CODE, \"code\": null, \"error_code\": CODE}", "{\"c\\u006fde\": CODE}",
            " {\"CODE\" : CODE } ", "{\"code\": CODE", "[CODE]", "CODE"]
        {
            Self.check(Array(template.replacing("CODE", with: code).utf8), parser)
        }
    }

    @Test func randomAndDamagedDocuments() {
        var g = TopLevelKeyScanTests.Generator(state: 2026)
        for depthBound in [2, 8, 512] {
            let parser = PythonJSONParser(maxDepth: depthBound)
            for _ in 0..<1500 {
                var bytes = Array(g.object(depth: 0).utf8)
                Self.check(bytes, parser)
                // Damaged: a byte changed, a cut, a byte dropped.
                guard !bytes.isEmpty else { continue }
                let at = g.next(bytes.count)
                switch g.next(3) {
                case 0: bytes[at] = Array("{}[]\",:0-e\\ \u{1}\u{80}".utf8)[g.next(15)]
                case 1: bytes.removeSubrange(at...)
                default: bytes.remove(at: at)
                }
                Self.check(bytes, parser)
            }
        }
    }
}
