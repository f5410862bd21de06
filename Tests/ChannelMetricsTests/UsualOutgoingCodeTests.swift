import CJSONBlocks
import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// The outgoing calls' code from one block scan (`PythonJSONParser.scanUndecodedLabel`) and what
/// `LabelRules.outgoingCode` decides from it (lent and kept bodies, truncated or not): the same
/// label, `status` flag and outcome as the definition — requests' text, the whole document
/// built and searched for `code`, else `errorcode` (`referenceOutgoingCode`, REFERENCE-BEHAVIOUR
/// §3–§4, §6) — for both keys, a null `code` then `errorcode`, nested and repeated matches, every
/// length 0…300 cut and damaged, many members across the scan's batches, the Content-Types that
/// keep the body as its text (UTF-8, ISO-8859-1) and one that decodes it (UTF-16).
@Suite struct UsualOutgoingCodeTests {
    typealias Generator = TopLevelKeyScanTests.Generator
    typealias Code = (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome)

    static let contentTypes: [String?] = [nil, "application/json", "text/plain", "application/json; charset=utf-16"]

    /// `outgoingCode` by its definition: requests' text, parsed whole, `code` else `errorcode`.
    static func referenceOutgoingCode(_ body: [UInt8], contentType: String?, truncated: Bool, parser: PythonJSONParser) -> Code {
        guard !body.isEmpty else { return ("-1", false, .empty) }
        let text = BodyTextDecoding.requestsJSONText(body, contentType: contentType)
        switch parser.parse(utf8: text) {
        case .failure(.tooDeep): return ("-1", false, .tooDeep)
        case .failure(.integerTooLong): return ("-1", false, .integerTooLong)
        case .failure: return ("-1", false, truncated ? .truncated : .notJSON)
        case .success(let document):
            guard let value = FuzzyKeySearch.findFirst([.code, .errorCode], in: document) else { return ("-1", false, .notFound) }
            return (value.pythonStr, value.equalsNumberZero, .found)
        }
    }

    /// Checks `outgoingCode` of `body` (kept and lent, truncated or not, every Content-Type of
    /// `contentTypes`) against the definition; returns what `scanUndecodedLabel` said for JSON.
    @discardableResult
    static func check(_ body: [UInt8], maxDepth: Int = 512, sourceLocation: SourceLocation = #_sourceLocation) -> UsualBodyLabel {
        let rules = LabelRules(maxJSONDepth: maxDepth)
        let text = String(decoding: body, as: UTF8.self).debugDescription
        for contentType in contentTypes {
            for truncated in [false, true] {
                let want = referenceOutgoingCode(body, contentType: contentType, truncated: truncated, parser: rules.parser)
                let kept = Make.response(contentType: contentType, body: body, truncated: truncated)
                let keptCode = rules.outgoingCode(kept)
                #expect(keptCode == want, "kept, \(contentType ?? "nil"), truncated \(truncated): \(text)", sourceLocation: sourceLocation)
                var lentSummary = kept
                lentSummary.bodyPrefix = []
                // The lent bytes in a buffer of their own size: the scan may read no byte past them.
                let lent = UnsafeMutableRawBufferPointer.allocate(byteCount: body.count, alignment: 1)
                defer { lent.deallocate() }
                body.withUnsafeBytes { lent.copyMemory(from: $0) }
                let lentCode = rules.outgoingCode(lentSummary, lentBody: UnsafeRawBufferPointer(lent))
                #expect(lentCode == want, "lent, \(contentType ?? "nil"), truncated \(truncated): \(text)", sourceLocation: sourceLocation)
            }
        }
        return body.withUnsafeBufferPointer { rules.parser.scanUndecodedLabel($0, contentType: "application/json", for: keySet) }
    }

    static let keySet = TopLevelKeySet([.code, .errorCode])

    /// Both keys, a null `code` then `errorcode` (at the top level, nested, absent, null),
    /// repeated names (the first name, its last value), nested matches (the last in document
    /// order), damaged and cut: with what the scan answers, so the one-call path is proved taken.
    @Test func bothKeys() {
        let cases: [(String, UsualBodyLabel)] = [
            (#"{"code":0,"errorcode":5}"#, .found(CodeLabel(text: "0", isNumberZero: true))),
            (#"{"errorcode":5,"code":"A1"}"#, .found(CodeLabel(text: "A1"))),
            (#"{"code":null,"errorcode":7}"#, .found(CodeLabel(text: "7"))),
            (#"{"error_code":false,"Code":null}"#, .found(CodeLabel(text: "False", isNumberZero: true))),
            (#"{"code":null,"errorCode":null}"#, .found(CodeLabel(text: "None", isNull: true))),
            (#"{"code":null,"d":{"errorcode":8}}"#, .validWithoutFirst),
            (#"{"code":null,"d":{"code":3}}"#, .validWithoutFirst),
            (#"{"code":null}"#, .validWithoutFirst),
            (#"{"errorcode":4}"#, .validWithoutFirst),
            (#"{"errorcode":4,"d":[{"code":2},{"code":null}]}"#, .validWithoutFirst),
            (#"{"d":{"code":1},"e":{"code":2},"errorcode":0}"#, .validWithoutFirst),
            (#"{"d":{"code":null},"ERROR-CODE":0}"#, .validWithoutFirst),
            (#"{"code":1,"code":null,"errorcode":9}"#, .found(CodeLabel(text: "9"))),
            (#"{"co_de":null,"code":2.50}"#, .validWithoutFirst),
            (#"{"code":null,"errorcode":9,"error-code":0.0}"#, .found(CodeLabel(text: "9"))),
            (#"{"code":[0]}"#, .found(CodeLabel(text: "[0]"))),
            (#"{"code":"é","m":"中"}"#, .found(CodeLabel(text: "é"))),
            (#"{"c\u006fde":1,"errorcode":2}"#, .namesNotPlain),
            ("[{\"code\":1}]", .notAnObject),
            ("{\"code\":null,\"errorcode\":1} x", .leftToByteByByte),
            ("{\"code\":null,\"errorcode\":\"a\u{01}\"}", .leftToByteByByte),
            ("{\"code\":\"\u{FFFD}\"}", .found(CodeLabel(text: "\u{FFFD}"))),
        ]
        for (body, label) in cases {
            let bytes = Array(body.utf8)
            #expect(Self.check(bytes) == label, "\(body)")
            for maxDepth in [0, 1, 2] { Self.check(bytes, maxDepth: maxDepth) }
            for cut in 0..<bytes.count { Self.check(Array(bytes.prefix(cut))) }
        }
        // Not well-formed UTF-8: requests decodes it with replacements (the general path).
        #expect(Self.check(Array("{\"code\":\"".utf8) + [0xFF] + Array("\"}".utf8)) == .notDecodable)
        #expect(Self.check(Array("[\"".utf8) + [0xC3] + Array("\"]".utf8)) == .notAnObject)
        // Declared UTF-8 keeps a BOM in the text (not JSON); guessed, it is decoded.
        #expect(Self.check([0xEF, 0xBB, 0xBF] + Array("{\"code\":1}".utf8)) == .notAnObject)
        #expect(Self.check([]) == .notUsual)
    }

    /// Declared ISO-8859-1 (`text/plain`): only an ASCII body is its own text.
    @Test func latin1OnlyWhenASCII() {
        let parser = PythonJSONParser()
        func label(_ body: [UInt8], _ contentType: String?) -> UsualBodyLabel {
            body.withUnsafeBufferPointer { parser.scanUndecodedLabel($0, contentType: contentType, for: Self.keySet) }
        }
        let ascii = Array(#"{"code":null,"errorcode":0}"#.utf8)
        let accented = Array(#"{"code":"é"}"#.utf8)
        #expect(label(ascii, "text/plain") == .found(CodeLabel(text: "0", isNumberZero: true)))
        #expect(label(accented, "text/plain") == .notUsual)
        #expect(label(accented, nil) == .found(CodeLabel(text: "é")))
        #expect(label(Array("[1]".utf8), "text/plain") == .notUsual)
        #expect(label(Array("{\"code\":1".utf8), "text/plain") == .notUsual)
        #expect(label(ascii, "application/json; charset=utf-16") == .notUsual)
        #expect(label([0xEF, 0xBB, 0xBF] + ascii, nil) == .notUsual)
        Self.check(accented)
        Self.check([0x7B, 0x22, 0x63, 0x6F, 0x64, 0x65, 0x22, 0x3A, 0x22, 0xE9, 0x22, 0x7D])  // {"code":"é"} in latin-1
    }

    /// Objects of every length 0…300 (`UsualBodyScanTests.object`'s shapes, and `code` null
    /// with `errorcode` after it, at the top level or nested), cut near the block edges and
    /// damaged at a sample of places.
    @Test func everyLengthUpTo300() {
        var g = Generator(state: 2027)
        var found = 0
        for length in 0...300 {
            for shape in 0..<10 {
                let body: [UInt8]
                switch shape {
                case 8: body = Self.padded(length, head: "{\"code\":null,\"m\":\"", tail: "\",\"errorCode\":-7}")
                case 9: body = Self.padded(length, head: "{\"code\":null,\"d\":{\"errorcode\":0,\"s\":\"", tail: "\"}}")
                default: body = UsualBodyScanTests.object(length: length, shape: shape)
                }
                if case .found = Self.check(body) { found += 1 }
                for variant in UsualBodyScanTests.cutAndDamaged(body, length: length, damages: 2, using: &g) { Self.check(variant) }
            }
        }
        #expect(found > 1_200)
    }

    static func padded(_ length: Int, head: String, tail: String) -> [UInt8] {
        let fixed = head.utf8.count + tail.utf8.count
        guard length >= fixed else { return Array(Array((head + tail).utf8).prefix(length)) }
        return Array((head + String(repeating: "x", count: length - fixed) + tail).utf8)
    }

    /// `TopLevelKeyScanTests`' random documents (names matching `code` in every spelling,
    /// repeated, nested, non-ASCII), damaged and cut.
    @Test func randomDocuments() {
        var g = Generator(state: 88)
        for i in 0..<3_000 {
            let bytes = g.damagedDocument(i, damageDraw: 2, byteLimit: 256)
            Self.check(bytes, maxDepth: [1, 2, 8, 512][g.next(4)])
        }
    }

    /// Many top-level members, around multiples of 16 (`cejson_scan_keys` once took them 16 at a
    /// time): `code` (null at some places: then `errorcode`) and `errorcode` on both sides of
    /// each batch edge.
    @Test func manyMembersAcrossBatches() {
        let batch = 16
        for count in [batch - 1, batch, batch + 1, 2 * batch + 1, 100] {
            let places = Array(Set([0, 1, 4, batch - 1, batch, batch + 1, batch + 4, 2 * batch, count - 1].filter { $0 < count })).sorted()
            #expect(Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [])) == .validWithoutFirst)
            for a in places {
                Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [a]))
                Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [], errorAt: a))
                for b in places where b != a {
                    Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [a], errorAt: b, spaced: b > a))
                    Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [a, b]))
                }
            }
        }
    }
}
