import Testing

@testable import ChannelMetrics

/// The fast path (validate, build only the top-level match) must agree with building the
/// whole document and searching it, on every input: valid or not, any nesting, duplicates.
@Suite struct TopLevelKeyScanTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        static let keys = ["code", "Code", "co_de", "CODE-", "errorCode", "error_code", "ERRORCODE", "a", "data", "list", "é"]
        mutating func value(depth: Int) -> String {
            switch next(depth > 3 ? 7 : 10) {
            case 0: return "null"
            case 1: return ["true", "false", "NaN", "-Infinity", "Infinity"][next(5)]
            case 2: return ["0", "-0", "1.5", "1e5", "0.0", "123456789012345678901234567890", "-12"][next(7)]
            case 3: return ["\"0000\"", "\"\"", "\"a\\\"b\"", "\"\\u00e9\\ud83d\\ude00\"", "\"x\\ny\""][next(5)]
            case 4, 5, 6: return "\"s\(next(100))\""
            case 7, 8: return object(depth: depth + 1)
            default: return "[" + (0..<next(4)).map { _ in value(depth: depth + 1) }.joined(separator: ",") + "]"
            }
        }
        mutating func object(depth: Int) -> String {
            "{" + (0..<next(6)).map { _ in "\"\(Self.keys[next(Self.keys.count)])\": \(value(depth: depth))" }.joined(separator: ", ") + "}"
        }
        /// The `i`th document of a series: every fifth a bare value, else an object; every second
        /// damaged at 1 to `damageDraw` places with bytes below `byteLimit`; every seventh cut.
        mutating func damagedDocument(_ i: Int, damageDraw: Int = 3, byteLimit: Int = 128) -> [UInt8] {
            var bytes = Array((i % 5 == 0 ? value(depth: 0) : object(depth: 0)).utf8)
            if i % 2 == 0, !bytes.isEmpty {
                for _ in 0...next(damageDraw) { bytes[next(bytes.count)] = UInt8(next(byteLimit)) }
            }
            if i % 7 == 0, !bytes.isEmpty { bytes = Array(bytes.prefix(next(bytes.count))) }
            return bytes
        }
    }

    static func agree(_ bytes: [UInt8], parser: PythonJSONParser, keys: [FuzzyKey] = [.code, .errorCode]) -> String? {
        let scanned = parser.scanTopLevel(utf8: bytes, for: keys)
        let parsed = parser.parse(utf8: bytes)
        switch (scanned, parsed) {
        case (.failure(let a), .failure(let b)):
            return a == b ? nil : "rejections differ: \(a) vs \(b)"
        case (.failure(let a), .success):
            return "scan rejected (\(a)) what parse accepted"
        case (.success(.notAnObject), .failure):
            return nil  // not validated by the scan; the caller parses
        case (.success, .failure(let b)):
            return "scan accepted what parse rejected (\(b))"
        case (.success(.notAnObject), .success(let document)):
            if case .object = document { return "an object reported as not an object" }
            return nil
        case (.success(.values(let values)), .success(let document)):
            for (key, value) in zip(keys, values) {
                guard let value else { continue }  // no top-level match: the caller searches the tree
                let expected = FuzzyKeySearch.find(key, in: document)
                let fast = value == .null ? nil : value
                // Compared as the label renders them (NaN != NaN under ==).
                if fast?.pythonStr != expected?.pythonStr { return "\(key.normalized): fast \(String(describing: fast)) vs tree \(String(describing: expected))" }
            }
            return nil
        }
    }

    @Test func agreesWithTheTreeOnRandomDocuments() {
        let parser = PythonJSONParser(maxDepth: 8)
        var g = Generator(state: 42)
        for i in 0..<20_000 {
            var bytes = Array((i % 5 == 0 ? g.value(depth: 0) : g.object(depth: 0)).utf8)
            if i % 3 == 0, !bytes.isEmpty {  // damage a third of them
                for _ in 0...g.next(3) { bytes[g.next(bytes.count)] = UInt8(g.next(128)) }
            }
            if let problem = Self.agree(bytes, parser: parser) {
                Issue.record("\(problem) for \(String(decoding: bytes, as: UTF8.self))")
                return
            }
        }
    }

    @Test(arguments: [
        #"{"code": 1, "x": {"code": 2}, "code": 3}"#,
        #"{"Code": 1, "code": 2, "Code": 3}"#,
        #"{"x": {"code": 2}, "code": null}"#,
        #"{"code": null, "errorCode": "E1"}"#,
        #"{"errorcode": 5, "data": {"code": 7}}"#,
        #"{"a": [[[[[[[[[[1]]]]]]]]]], "code": 0}"#,
        #"{"code": 0} x"#,
        #"{"code": 1e999}"#,
        "{\"code\": \"a\u{01}b\"}",
    ])
    func agreesOnEdgeCases(_ text: String) {
        #expect(Self.agree(Array(text.utf8), parser: PythonJSONParser(maxDepth: 8)) == nil)
    }

    /// Names matched from their bytes (ASCII, no escape) and from their text (escapes,
    /// non-ASCII), repeated in either form; U+212A KELVIN SIGN is canonically equivalent
    /// to `K`, so Swift's `==` (and the tree's object) takes `"\u212Aode"` and `"Kode"` as
    /// one key.
    @Test(arguments: [
        #"{"\u0063ode": 1, "code": 2}"#, #"{"code": 1, "\u0063ode": 2}"#, #"{"c\u006fde": 1, "x": 2}"#, #"{"co\u0301de": 1, "code": 2}"#,
        #"{"code\n": 1, "code": 2}"#, #"{"\u212Aode": 1, "Kode": 2, "kode": 3}"#, #"{"Kode": 1, "\u212Aode": 2}"#,
        "{\"\u{212A}ode\": 1, \"Kode\": 2}", "{\"Kode\": 1, \"\u{212A}ode\": 2}", "{\"é\": 1, \"e\u{301}\": 2, \"code\": 3}",
        #"{"": 1, "code": 2, "": 3}"#, #"{"CODE": 1, "code": 2, "CODE": 3}"#, #"{"error_code": 1, "Error-Code": 2, "error_code": 3}"#,
        #"{"code\": 1}"#, #"{"co\de": 1}"#, "{\"co\u{01}de\": 1}", #"{"ERROR\u005fCODE": 4}"#, "{\"cöde\": 1, \"code\": 2}",
    ])
    func agreesOnNameSpellings(_ text: String) {
        let parser = PythonJSONParser(maxDepth: 8)
        for keys in [[FuzzyKey.code, .errorCode], [FuzzyKey("kode"), FuzzyKey("é")], [FuzzyKey("")], [.code, .errorCode, FuzzyKey("kode")]] {
            #expect(Self.agree(Array(text.utf8), parser: parser, keys: keys) == nil, "\(keys.map(\.normalized))")
        }
        #expect(Self.agree(Array(#"{"\u212Aode": 1, "Kode": 2}"#.utf8), parser: parser, keys: [FuzzyKey("kode")]) == nil)
    }

    /// The repeated-name rule checked by value (not only against the tree).
    @Test func repeatedNamesTakeTheLastValue() {
        let parser = PythonJSONParser(maxDepth: 8)
        func scanned(_ text: String, _ keys: [FuzzyKey]) -> [String?] {
            guard case .success(.values(let values)) = parser.scanTopLevel(utf8: Array(text.utf8), for: keys) else { return [] }
            return values.map { $0?.pythonStr }
        }
        #expect(scanned(#"{"\u0063ode": 1, "code": 2}"#, [.code]) == ["2"])
        #expect(scanned(#"{"Code": 1, "code": 2}"#, [.code]) == ["1"])
        #expect(scanned("{\"\u{212A}ode\": 1, \"Kode\": 2}", [FuzzyKey("kode")]) == ["2"])
        #expect(scanned(#"{"x": 1, "errorCode": 5, "code": 6, "errorCode": 7}"#, [.code, .errorCode, FuzzyKey("x")]) == ["6", "7", "1"])
    }
}
