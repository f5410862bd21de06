import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// `outgoingCode` scans a body without decoding it when requests' text is provably the body
/// itself (`requestsTextIdentity`); it must give exactly what decoding first gives, on every
/// body (ASCII, UTF-8, invalid UTF-8, BOMs, UTF-16/32, cut, damaged) and Content-Type.
@Suite struct OutgoingCodeShortcutTests {
    /// Today's path before the shortcut: requests' text decoded, then scanned (the rest is shared).
    static func decodingFirst(_ rules: LabelRules, _ response: HTTPResponseSummary) -> (String, Bool, BodyCodeOutcome) {
        let body = response.bodyPrefix
        guard !body.isEmpty else { return ("-1", false, .empty) }
        let text = BodyTextDecoding.requestsJSONText(body, contentType: response.contentType)
        let scan = rules.parser.scanTopLevelLabels(utf8: text, for: [.code, .errorCode])
        let code = rules.outgoingCode(text: text, scan: scan, truncated: response.bodyTruncated)
        return (code.label, code.isNumberZero, code.outcome)
    }

    static let contentTypes: [String?] = [
        nil, "", "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8",
        "application/json;charset=\"utf-8\"", "application/problem+json", "application/octet-stream",
        "text/plain", "text/json", "text/html; charset=ISO-8859-1", "application/json; charset=latin-1",
        "application/json; charset=latin1", "application/json; charset=cp819", "application/json; charset=utf-16",
        "application/json; charset=UTF-16LE", "application/json; charset=utf-16-be", "application/json; charset=ascii",
        "application/json; charset=gbk", "application/json; charset=",
    ]

    /// Bodies from the usual to the odd: the benchmark's kind, UTF-8 beyond ASCII, invalid
    /// UTF-8, latin-1 bytes, BOMs, UTF-16/32 with and without BOM, NULs, 1–3 bytes.
    static let bodies: [[UInt8]] = {
        let texts = [
            "{\"code\": 0, \"msg\": \"ok\"}", "{\"code\":\"0000\",\"data\":{\"list\":[1,2,3]}}", "{\"code\": null, \"errorCode\": 0}",
            "{\"errorcode\": \"E1\"}", "{\"a\": 1}", "[{\"code\": 1}]", "0", "\"x\"", "{}", " {\"code\" : 7 } ",
            "{\"code\": 1, \"msg\": \"é中\"}", "{\"msg\": \"中文\", \"code\": -3}", "{\"code\": \"\\u00e9\"}", "not json", "{\"code\": 1",
            "12", "{", "{\"Code\": 1.5e3}", "{\"code\": [1, {\"code\": 2}]}",
        ]
        var all = texts.map { Array($0.utf8) }
        all += [
            [0x7B, 0x22, 0x63, 0x6F, 0x64, 0x65, 0x22, 0x3A, 0x22, 0xE9, 0x22, 0x7D],  // {"code":"é"} in latin-1
            Array("{\"code\": 1, \"m\": \"".utf8) + [0xC3] + Array("\"}".utf8),  // a cut UTF-8 sequence
            Array("{\"code\": 2, \"m\": \"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8),
            Array("{\"code\": 3, \"m\": \"".utf8) + [0xED, 0xA0, 0x80] + Array("\"}".utf8),  // a surrogate
            [0xEF, 0xBB, 0xBF] + Array("{\"code\": 4}".utf8),  // UTF-8 BOM
            Array("{\"code\": 5}\u{0}".utf8), Array("\u{0}{\"code\": 6}".utf8), Array("{\u{0}\"code\": 6}".utf8),
            [0x7B], [0x7B, 0x7D], [0x30, 0x0A], [0xE9], [0xC3, 0xA9], [0, 0x31], [0x31, 0],
        ]
        let wide = "{\"code\": 8, \"m\": \"é中\"}"
        let utf16 = Array(wide.utf16)
        let le = utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let be = utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let scalars = wide.unicodeScalars.map(\.value)
        let le32 = scalars.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let be32 = scalars.flatMap { v in (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        all += [le, be, [0xFF, 0xFE] + le, [0xFE, 0xFF] + be, le32, be32, [0xFF, 0xFE, 0, 0] + le32, [0, 0, 0xFE, 0xFF] + be32]
        all += [Array(le.dropLast()), Array(be32.dropLast(2))]  // odd lengths
        return all
    }()

    static func check(_ rules: LabelRules, _ body: [UInt8], _ contentType: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        for truncated in [false, true] {
            let response = Make.response(contentType: contentType, body: body, truncated: truncated)
            let fast = rules.outgoingCode(response)
            let slow = decodingFirst(rules, response)
            #expect(fast.label == slow.0 && fast.isNumberZero == slow.1 && fast.outcome == slow.2,
                "\(body) \(contentType ?? "nil"): \(fast) != \(slow)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: contentTypes) func everyBodyEveryCut(contentType: String?) {
        let rules = LabelRules(maxJSONDepth: 8)
        for body in Self.bodies {
            for cut in 0...body.count { Self.check(rules, Array(body.prefix(cut)), contentType) }
        }
    }

    /// The identity the shortcut relies on, checked against the decode itself.
    @Test(arguments: contentTypes) func identityHoldsWhereClaimed(contentType: String?) {
        var claims = 0
        for body in Self.bodies {
            for cut in 1...body.count {
                let bytes = Array(body.prefix(cut))
                let text = BodyTextDecoding.requestsJSONText(bytes, contentType: contentType)
                switch BodyTextDecoding.requestsTextIdentity(bytes, contentType: contentType) {
                case .whenValidUTF8 where UTF8Validation.isValid(bytes), .whenASCII where bytes.allSatisfy({ $0 < 0x80 }):
                    claims += 1
                    #expect(text == bytes, "\(bytes) \(contentType ?? "nil")")
                default:
                    break
                }
            }
        }
        // Every Content-Type except the UTF-16 ones claims the ASCII bodies at least.
        #expect((claims > 0) != (contentType?.lowercased().contains("utf-16") ?? false))
    }

    @Test func exactIdentityClasses() {
        let ascii = Array("{\"code\": 0}".utf8)
        #expect(BodyTextDecoding.requestsTextIdentity(ascii, contentType: nil) == .whenValidUTF8)
        #expect(BodyTextDecoding.requestsTextIdentity(ascii, contentType: "application/json") == .whenValidUTF8)
        #expect(BodyTextDecoding.requestsTextIdentity(ascii, contentType: "text/plain") == .whenASCII)
        #expect(BodyTextDecoding.requestsTextIdentity(ascii, contentType: "text/plain; charset=UTF-16") == .unknown)
        #expect(BodyTextDecoding.requestsTextIdentity([0xEF, 0xBB, 0xBF] + ascii, contentType: nil) == .unknown)
        #expect(BodyTextDecoding.requestsTextIdentity([0x7B, 0, 0x7D, 0], contentType: nil) == .unknown)
        #expect(BodyTextDecoding.requestsTextIdentity([0x7B, 0, 0x7D], contentType: nil) == .whenValidUTF8)
        #expect(BodyTextDecoding.requestsTextIdentity([0x7B, 0, 0, 0x7D], contentType: nil) == .whenValidUTF8)  // no guess
    }

    @Test func randomAndDamagedDocuments() {
        var g = TopLevelKeyScanTests.Generator(state: 4242)
        let rules = LabelRules(maxJSONDepth: 8)
        let types: [String?] = [nil, "application/json", "text/plain", "application/json; charset=utf-16le"]
        for _ in 0..<1500 {
            var bytes = Array(g.object(depth: 0).utf8)
            for type in types { Self.check(rules, bytes, type) }
            guard !bytes.isEmpty else { continue }
            let at = g.next(bytes.count)
            switch g.next(4) {
            case 0: bytes[at] = Array("{}[]\",:0-e\\ \u{1}\u{0}".utf8)[g.next(14)]
            case 1: bytes.removeSubrange(at...)
            case 2: bytes[at] = [0x80, 0xC3, 0xE9, 0xFF, 0xEF][g.next(5)]
            default: bytes.remove(at: at)
            }
            for type in types { Self.check(rules, bytes, type) }
        }
    }
}
