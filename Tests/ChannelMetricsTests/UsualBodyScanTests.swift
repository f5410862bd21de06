import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The usual body's label from one block scan (`PythonJSONParser.scanUsualLabel`) and the inner
/// code it decides (`LabelRules.innerCode`, lent and kept bodies): the same label and outcome
/// as the definition — `json.loads`' decoding, the whole document built and searched
/// (`referenceInnerCode`) — at every length 0…300 (none, one, two, three and more blocks,
/// every last-block shape), damaged and cut copies, names the scan matches itself around
/// block edges; and what `scanUsualLabel` says agrees with the general scan.
@Suite struct UsualBodyScanTests {
    typealias Generator = TopLevelKeyScanTests.Generator

    /// `innerCode` by its definition (REFERENCE-BEHAVIOUR §2): no shortcut.
    static func referenceInnerCode(_ body: [UInt8], truncated: Bool, parser: PythonJSONParser) -> (String, BodyCodeOutcome) {
        guard !body.isEmpty else { return ("-1", .empty) }
        guard let text = BodyTextDecoding.pythonJSONBytes(body) else { return ("-1", truncated ? .truncated : .notDecodable) }
        switch parser.parse(utf8: text) {
        case .failure(.tooDeep): return ("-1", .tooDeep)
        case .failure(.integerTooLong): return ("-1", .integerTooLong)
        case .failure: return ("-1", truncated ? .truncated : .notJSON)
        case .success(let document):
            guard let value = FuzzyKeySearch.find(.code, in: document) else { return ("", .notFound) }
            return (value.pythonStr, .found)
        }
    }

    /// What is wrong with `innerCode` of `body` (kept and lent, truncated or not), or nil; with
    /// `scanUsualLabel`'s answer checked against the general scan's.
    @discardableResult
    static func check(_ body: [UInt8], maxDepth: Int = 512, sourceLocation: SourceLocation = #_sourceLocation) -> UsualBodyLabel {
        let rules = LabelRules(maxJSONDepth: maxDepth)
        let text = String(decoding: body, as: UTF8.self).debugDescription
        for truncated in [false, true] {
            let want = referenceInnerCode(body, truncated: truncated, parser: rules.parser)
            let kept = Make.response(body: body, truncated: truncated)
            #expect(rules.innerCode(kept) == want, "kept, truncated \(truncated): \(text)", sourceLocation: sourceLocation)
            var lentSummary = kept
            lentSummary.bodyPrefix = []
            // The lent bytes in a buffer of their own size: the scan may read no byte past them.
            let lent = UnsafeMutableRawBufferPointer.allocate(byteCount: body.count, alignment: 1)
            defer { lent.deallocate() }
            body.withUnsafeBytes { lent.copyMemory(from: $0) }
            #expect(rules.innerCode(lentSummary, lentBody: UnsafeRawBufferPointer(lent)) == want, "lent, truncated \(truncated): \(text)", sourceLocation: sourceLocation)
        }
        return body.withUnsafeBufferPointer { buffer in
            let usual = rules.parser.scanUsualLabel(buffer, for: TopLevelKeySet([.code]))
            let general = rules.parser.scanUsualBody(buffer, for: [.code])
            switch (usual, general) {
            case (.notUsual, nil): break
            case (.notDecodable, (_, false)?): break
            case (.found(let label), (.labels(let labels), true)?):
                #expect(labels.first == label, "\(text)", sourceLocation: sourceLocation)
            case (.validWithoutFirst, (.labels(let labels), true)?):
                #expect(labels.first == nil, "\(text)", sourceLocation: sourceLocation)
            case (.notAnObject, (.notAnObject, _)?): break
            case (.leftToByteByByte, (let scan, _)?):
                #expect(rules.parser.scanTopLevelLabels(byteByByte: buffer, for: [.code]) == scan, "\(text)", sourceLocation: sourceLocation)
            case (.namesNotPlain, _?): break
            default:
                Issue.record("usual \(usual) vs general \(String(describing: general)): \(text)", sourceLocation: sourceLocation)
            }
            return usual
        }
    }

    /// Objects of every length 0…300 (the code first, last, repeated, in a nested object, absent;
    /// compact, spaced, pretty-printed; a high byte in a string), each cut at every length
    /// and with one byte changed at a sample of places: decided as the definition decides.
    @Test func everyLengthUpTo300() {
        var g = Generator(state: 2026)
        var found = 0
        for length in 0...300 {
            for shape in 0..<8 {
                let body = Self.object(length: length, shape: shape)
                if case .found = Self.check(body) { found += 1 }
                for variant in Self.cutAndDamaged(body, length: length, damages: 3, using: &g) { Self.check(variant) }
            }
        }
        #expect(found > 1_200)
    }

    /// `body` cut at every length near the block edges and the end, then `damages` copies with
    /// one byte changed at a random place (to a structural, quote, escape, control or non-ASCII byte).
    static func cutAndDamaged(_ body: [UInt8], length: Int, damages: Int, using g: inout Generator) -> [[UInt8]] {
        var variants: [[UInt8]] = []
        for cut in Set([length - 1, length - 2, 63, 64, 65, 127, 128, 129, length / 2]) where cut >= 0 && cut < body.count {
            variants.append(Array(body.prefix(cut)))
        }
        for _ in 0..<damages where !body.isEmpty {
            var damaged = body
            damaged[g.next(damaged.count)] = [0x00, 0x01, 0x22, 0x5C, 0x7B, 0x7D, 0x2C, 0x3A, 0x80, 0xC3, 0xFF, 0x20, 0x61][g.next(13)]
            variants.append(damaged)
        }
        return variants
    }

    /// A valid object of exactly `length` bytes (for lengths from about 12 on; shorter: a
    /// prefix of one, or the shortest texts), its code placed by `shape`.
    static func object(length: Int, shape: Int) -> [UInt8] {
        let head: String
        let tail: String
        switch shape {
        case 0: (head, tail) = ("{\"code\":0,\"m\":\"", "\"}")
        case 1: (head, tail) = ("{\"m\":\"", "\",\"code\":40001}")
        case 2: (head, tail) = ("{\"code\":1,\"m\":\"", "\",\"Code\":\"x\",\"code\":2}")
        case 3: (head, tail) = ("{\"d\":{\"code\":3,\"s\":\"", "\"},\"n\":null}")
        case 4: (head, tail) = ("{ \"error_code\" : 5 , \"m\" : \"", "\" }")
        case 5: (head, tail) = ("{\n  \"CODE\": \"A1\",\n  \"m\": \"", "\"\n}\n")
        case 6: (head, tail) = ("{\"code\":null,\"m\":\"é", "\"}")
        default: (head, tail) = ("[{\"code\":7},\"", "\"]")
        }
        let fixed = head.utf8.count + tail.utf8.count
        guard length >= fixed else { return Array(Array((head + tail).utf8).prefix(length)) }
        return Array((head + String(repeating: "x", count: length - fixed) + tail).utf8)
    }

    /// k1m-small.pcap's response bodies (103 bytes and the error ones) and their neighbours.
    @Test func benchmarkBodies() {
        let bodies = [
            #"{"code":0,"message":"ok","data":{"id":10,"status":"PAID","amount":686443,"traceId":"643b397af5692bf9"}}"#,
            #"{"code":40001,"message":"invalid parameter","data":{"id":27}}"#,
            #"{"code":40003,"message":"signature mismatch","data":{"id":263}}"#,
            #"{"message":"ok","data":{"code":5}}"#, #"{"co-de":-1.5e3}"#, #"{"c\u006fde":1}"#, #"{"codé":1,"code":2}"#,
            #"{"code":0}"#, "{}", "[]", "7", " ", "{\"code\":0} x", "{\"code\":\"a\u{01}\"}", "\u{FEFF}{\"code\":1}",
        ]
        for body in bodies {
            Self.check(Array(body.utf8))
            for maxDepth in [0, 1, 2] { Self.check(Array(body.utf8), maxDepth: maxDepth) }
        }
        #expect(Self.check(Array(bodies[0].utf8)) == .found(CodeLabel(text: "0", isNumberZero: true)))
        #expect(Self.check(Array(bodies[1].utf8)) == .found(CodeLabel(text: "40001")))
        #expect(Self.check(Array(bodies[3].utf8)) == .validWithoutFirst)
        #expect(Self.check(Array(#"{"c\u006fde":1}"#.utf8)) == .namesNotPlain)
        #expect(Self.check(Array("[]".utf8)) == .notAnObject)
        #expect(Self.check(Array("{\"code\":0} x".utf8)) == .leftToByteByByte)
        #expect(Self.check([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) == .namesNotPlain)
        #expect(Self.check(Array("{\"code\":\"".utf8) + [0xFF] + Array("\"}".utf8)) == .notDecodable)
        #expect(Self.check([]) == .notUsual)
    }

    /// The random documents of `TopLevelKeyScanTests` (names matching `code` in every spelling,
    /// repeated, nested, non-ASCII), damaged and cut.
    @Test func randomDocuments() {
        var g = Generator(state: 8)
        for i in 0..<6_000 {
            let bytes = g.damagedDocument(i, damageDraw: 2, byteLimit: 256)
            Self.check(bytes, maxDepth: [1, 2, 8, 512][g.next(4)])
        }
    }

    /// Many top-level members, around multiples of 16 (`cejson_scan_keys` once took them from the
    /// grammar 16 at a time; `cejson_scan` still hands them back so): `code` (repeated: its last
    /// value) and a name with an escape on both sides of each batch edge.
    @Test func manyMembersAcrossBatches() {
        let batch = 16
        for count in [batch - 1, batch, batch + 1, 2 * batch, 2 * batch + 1, 100] {
            let places = Array(Set([0, 1, batch - 1, batch, batch + 1, 2 * batch, count - 1].filter { $0 < count })).sorted()
            #expect(Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [])) == .validWithoutFirst)
            for a in places {
                Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [a]))
                Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [a], spaced: true))
                Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [0]) { $0 == a ? "c\\u006fde" : "m\($0)" })
                for b in places where b > a {
                    let text = JSONBlockScanMemberTests.object(members: count, codeAt: [a, b])
                    #expect(Self.check(text) == Self.check(JSONBlockScanMemberTests.object(members: count, codeAt: [b])), "\(count): \(a), \(b)")
                }
            }
        }
    }

    /// The names the block scan matches itself (`cejson_scan_keys`): random ASCII names (case,
    /// `-` and `_`, near misses, every printable byte; now and then one with an escape or a
    /// non-ASCII byte, which it leaves to the Swift side), repeated, for one and two keys of
    /// every length up to 16 (and one longer, which it does not take): the same matches as the
    /// byte-by-byte scan, which matches them with `FuzzyKey.matches`.
    @Test func namesMatchedByTheScan() {
        let keys = [
            FuzzyKey.code, .errorCode, .methodCode, FuzzyKey("a"), FuzzyKey("abcdefghijklmnop"), FuzzyKey("abcdefghijklmnopq"),
            FuzzyKey("a1"), FuzzyKey("x-y"), FuzzyKey(""), FuzzyKey("K"),
        ]
        #expect(keys.map { $0.blockKey != nil } == [true, true, true, true, true, false, true, true, true, true])
        let pieces = ["c", "C", "o", "O", "d", "D", "e", "E", "-", "_", "error", "ERROR", "method", "Method", "abcdefgh", "ABCDEFGH", "ijklmnop", "q", "1", "@", "`", "{", "[", "\\u0063", "é"]
            + (0x20..<0x7F).filter { $0 != 0x22 && $0 != 0x5C }.map { String(UnicodeScalar(UInt8($0))) }
        let parser = PythonJSONParser()
        var g = Generator(state: 31)
        var matched = 0
        var notPlain = 0
        for round in 0..<20_000 {
            func name() -> String {
                (0..<g.next(7)).map { _ in g.next(3) == 0 ? pieces[25 + g.next(pieces.count - 25)] : pieces[g.next(g.next(8) == 0 ? 25 : 23)] }.joined()
            }
            let (a, b) = (name(), g.next(4) == 0 ? "code" : name())
            let pad = String(repeating: " ", count: g.next(70))
            let third = g.next(2) == 0 ? a : b
            let text = Array(("{\"" + a + "\":1," + pad + "\"" + b + "\":[2],\"" + third + "\":3}").utf8)
            let key = keys[round % keys.count]
            for pair in [[key], [key, keys[g.next(keys.count)]]] {
                text.withUnsafeBufferPointer { buffer in
                    var search = TopLevelKeySet(pair).search
                    let outcome = parser.scanKeys(buffer, into: &search)
                    var slow = TopLevelScanner(bytes: buffer, maxDepth: 512)
                    var slowMatches = MatchSlots(count: pair.count)
                    #expect((try? slow.scanByteByByte(pair, into: &slowMatches)) == true)
                    guard outcome == CEJSON_VALID else {
                        #expect(outcome == CEJSON_NOT_PLAIN, "\(a) \(b)")
                        notPlain += 1
                        return
                    }
                    var fastMatches = MatchSlots(count: pair.count)
                    for (i, match) in [search.matches.0, search.matches.1].prefix(pair.count).enumerated() where match.name_end != 0 {
                        fastMatches[i] = MatchSlots.Match(range: (match.name_start + 1)..<match.name_end, plain: true, valueStart: match.value_start)
                    }
                    #expect(JSONBlockScanTests.slots(fastMatches, pair.count, in: buffer) == JSONBlockScanTests.slots(slowMatches, pair.count, in: buffer), "\(pair.map(\.normalized)): \(a) \(b)")
                    if fastMatches[0] != nil { matched += 1 }
                }
            }
        }
        #expect(matched > 1_000)
        #expect(notPlain > 1_000)
    }
}
