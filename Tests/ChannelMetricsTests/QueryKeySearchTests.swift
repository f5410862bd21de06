import Testing

@testable import ChannelMetrics

/// Searching a query in place must give what parsing every field and searching the
/// list gives, on any query: encoded names, `+`, empty fields, non-ASCII, invalid UTF-8.
@Suite struct QueryKeySearchTests {
    /// The general path the in-place search replaces.
    static func viaFieldList(_ key: FuzzyKey, _ query: String) -> QueryKeyMatch {
        guard let pairs = RequestFields.parseQuery(RequestFields.wireBytes(query)) else { return .unparsable }
        if pairs.isEmpty { return .noFields }
        return FuzzyKeySearch.firstMatch(key, in: RequestFields.firstValues(pairs)).map(QueryKeyMatch.value) ?? .noMatch
    }

    @Test(arguments: [
        ("id=10086", QueryKeyMatch.noMatch),
        ("", .noFields),
        ("&&", .noFields),
        ("method_code=A1", .value("A1")),
        ("id=1&METHOD-CODE=b+c%21", .value("b c!")),
        ("Method_Code", .value("")),
        ("method%5Fcode=x&methodcode=y", .value("x")),
        ("methodcode=first&methodcode=second", .value("first")),
        ("method+code=x", .noMatch),
        ("id=%FF&method_code=%E9", .value("%E9")),
        ("methodcodes=1", .noMatch),
        ("méthodcode=1", .unparsable),  // the wire byte 0xE9 alone is not UTF-8
        // Names passed over by length (fewer bytes than `methodcode`) and the shapes that must still match.
        ("methodcod=1&method=2&code=3", .noMatch),
        ("methodcod=1&MethodCode=2", .value("2")),
        ("m-e_t-h-o-d-c-o-d-e=v", .value("v")),
        ("%6Dethodcode=q", .value("q")),
        ("%6D%65%74%68%6F%64%63%6F%64%65=q", .value("q")),
        ("methodcode", .value("")),
        ("methodcode=", .value("")),
        ("=x&methodcode=y", .value("y")),
        ("id=1&&methodcode=%2B+", .value("+ ")),
    ])
    func examples(query: String, expected: QueryKeyMatch) {
        #expect(RequestFields.firstMatch(.methodCode, inQuery: query) == expected)
        #expect(Self.viaFieldList(.methodCode, query) == expected)
    }

    @Test func agreesWithTheFieldListOnRandomQueries() {
        var texts = RandomJoins(
            seed: 7,
            pieces: [
                "method_code", "Method-Code", "METHODCODE", "method%5Fcode", "meth%6Fdcode", "method+code", "m", "id", "=",
                "=", "&", "&", "&&", "+", "%", "%2", "%41", "%FF", "%C3%A9", "é", "\u{0100}", "x", "-", "_", "1",
            ])
        for _ in 0..<20_000 {
            let query = texts.next(maxPieces: 9)
            #expect(RequestFields.firstMatch(.methodCode, inQuery: query) == Self.viaFieldList(.methodCode, query), "\(query)")
        }
    }

    /// Every query of up to 6 bytes from the bytes that make its fields, `%`-escapes and `+`, and
    /// some of 9 and 10 (`methodcode`'s length and one less): queries shorter than the key
    /// (answered by their length and whether they have a field) and as long as it, as the field
    /// list answers.
    @Test func everyShortQuery() {
        let alphabet = ["&", "=", "m", "%", "+", "1"]
        var queries = [""]
        var all: [String] = [""]
        for _ in 0..<6 {
            queries = queries.flatMap { q in alphabet.map { q + $0 } }
            all += queries
        }
        all += ["methodcod", "&methodcod", "methodcode", "methodcod&", "&&&&&&&&&", "&&&&&&&&&&", "=========", "%6Dethodcod",
                "method_cod", "id=123456", "a=1&b=2&c"]
        for query in all {
            #expect(RequestFields.firstMatch(.methodCode, inQuery: query) == Self.viaFieldList(.methodCode, query), "\(query)")
        }
    }

    /// Other keys: a short one that often matches, one whose normalized form drops `-`, a
    /// non-ASCII one (no ASCII name matches it).
    @Test(arguments: [FuzzyKey("id"), FuzzyKey("M-1"), FuzzyKey("É")])
    func agreesWithTheFieldListForOtherKeys(key: FuzzyKey) {
        var texts = RandomJoins(
            seed: 3,
            pieces: ["id", "ID", "I_d", "i%64", "m1", "M-1", "m+1", "%C3%89", "É", "é", "=", "=", "&", "&", "1", "x", "-", "_", "+", "%"])
        var matches = 0
        for _ in 0..<20_000 {
            let query = texts.next(maxPieces: 8)
            let expected = Self.viaFieldList(key, query)
            if case .value = expected { matches += 1 }
            #expect(RequestFields.firstMatch(key, inQuery: query) == expected, "\(query)")
        }
        #expect(matches > 300)  // measured: 393 for É, 754 for M-1
    }
}

extension QueryKeySearchTests {
    /// The length filter: an ASCII key's normalized length, 0 for any other key.
    @Test(arguments: [(FuzzyKey.methodCode, 10), (FuzzyKey("id"), 2), (FuzzyKey("M-1"), 2), (FuzzyKey("É"), 0), (FuzzyKey("-"), 0)])
    func shortestQueryName(key: FuzzyKey, expected: Int) {
        #expect(key.shortestQueryName == expected)
    }

    /// A key that normalizes to nothing matches an empty name (`=v`, `-=v`): the filter lets it through.
    @Test func emptyKeyMatchesAnEmptyName() {
        #expect(RequestFields.firstMatch(FuzzyKey("-"), inQuery: "a=1&=v") == .value("v"))
        #expect(RequestFields.firstMatch(FuzzyKey("_"), inQuery: "a=1&-_=w") == .value("w"))
        #expect(Self.viaFieldList(FuzzyKey("-"), "a=1&=v") == .value("v"))
    }
}

/// `tcode`'s in-place host rule must give what `hostname` + first label + `is_syscode` give.
@Suite struct SyscodeHostTests {
    static func viaHostname(_ authority: String) -> String {
        guard let host = LabelRules.hostname(authority: authority) else { return "" }
        let first = host.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return LabelRules.isSyscodeLike(first) ? first.uppercased() : ""
    }

    @Test func agreesWithTheGeneralRuleOnRandomAuthorities() {
        var texts = RandomJoins(
            seed: 11,
            pieces: ["b123456789", "B123456789", "c12345678", "1234567890", "x", ".", ".", ":", ":8080", "@", "[", "]", "u:p@", "example", "com", "0", "9"])
        var syscodes = 0
        for _ in 0..<20_000 {
            let authority = texts.next(maxPieces: 6)
            let expected = Self.viaHostname(authority)
            if !expected.isEmpty { syscodes += 1 }
            #expect(LabelRules.asciiSyscodeLabel(authority: authority) == expected, "\(authority)")
        }
        #expect(syscodes > 500)
        #expect(LabelRules.asciiSyscodeLabel(authority: "é.b123456789") == nil)
    }
}
