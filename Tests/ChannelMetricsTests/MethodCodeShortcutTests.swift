import HTTP1Observer
import Testing

@testable import ChannelMetrics

/// The `method_code` rules skip parsing a JSON body that provably has no matching name
/// (`FuzzyKey.isProvablyAbsent(fromJSON:)`); they must answer exactly as parsing every body
/// does, on every body (matching names in every spelling and depth, escaped names, non-ASCII,
/// BOMs, UTF-16, invalid JSON, cut) and with or without a header or query.
@Suite struct MethodCodeShortcutTests {
    typealias Dice = TopLevelKeyScanTests.Generator

    static let names = [
        "method_code", "Method-Code", "METHODCODE", "methodCode", "method__code_", "-methodcode", "methodcod", "ethodcode",
        "methodcodes", "m", "code", "\\u006dethod_code", "method\\u005fcode", "m\\\"ethodcode", "méthodcode", "\u{212A}",
        "amount", "channel", "",
    ]
    static let values = [
        "\"M01\"", "\"\"", "0", "1", "null", "true", "false", "[]", "{}", "\"a\\\"b\"", "\"method_code\"", "\"é\"", "1.5",
        "[\"x\", {\"methodCode\": \"N\"}]",
    ]

    static func randomValue(_ dice: inout Dice, depth: Int) -> String {
        switch dice.next(depth > 2 ? 3 : 5) {
        case 0, 1, 2: return values[dice.next(values.count)]
        case 3: return "[" + (0..<dice.next(3)).map { _ in randomValue(&dice, depth: depth + 1) }.joined(separator: ",") + "]"
        default: return randomObject(&dice, depth: depth + 1)
        }
    }

    static func randomObject(_ dice: inout Dice, depth: Int) -> String {
        "{" + (0..<dice.next(4)).map { _ in "\"\(names[dice.next(names.count)])\": \(randomValue(&dice, depth: depth))" }
            .joined(separator: ", ") + "}"
    }

    static func randomBody(_ dice: inout Dice) -> [UInt8] {
        var text = dice.next(6) == 0 ? randomValue(&dice, depth: 0) : randomObject(&dice, depth: 0)
        if dice.next(8) == 0 { text = String(text.prefix(dice.next(text.count + 1))) }  // cut, or damaged
        if dice.next(10) == 0 { text = " " + text + "\n" }
        let utf8 = Array(text.utf8)
        switch dice.next(12) {
        case 0: return utf8.flatMap { [$0, 0] }  // UTF-16LE of ASCII
        case 1: return [0xEF, 0xBB, 0xBF] + utf8
        case 2: return utf8 + [0xFF]
        default: return utf8
        }
    }

    @Test func shortcutAnswersAsParsingEveryBody() {
        let rules = LabelRules(maxJSONDepth: 512)
        let contentTypes: [String?] = [nil, "application/json", "application/vnd.api+json", "text/plain", "application/json; charset=utf-8"]
        let targets = ["/api", "/api?x=1", "/api?method_code=Q"]
        var dice = Dice(state: 77)
        var skipped = 0
        var found = 0
        for _ in 0..<20_000 {
            let body = Self.randomBody(&dice)
            var headers: [(String, String)] = []
            if let contentType = contentTypes[dice.next(contentTypes.count)] { headers.append(("Content-Type", contentType)) }
            if dice.next(10) == 0 { headers.append(("Method-Code", dice.next(2) == 0 ? "" : "H")) }
            let request = Make.request(method: "POST", target: targets[dice.next(targets.count)], headers: headers, body: body)
            if FuzzyKey.methodCode.isProvablyAbsent(fromJSON: body) { skipped += 1 }
            let text = String(decoding: body, as: UTF8.self).debugDescription
            let inbound = rules.inboundMethodCode(request, shortcut: true)
            #expect(inbound == rules.inboundMethodCode(request, shortcut: false), "inbound \(text)")
            let outgoing = rules.outgoingMethodCode(request, shortcut: true)
            #expect(outgoing == rules.outgoingMethodCode(request, shortcut: false), "outgoing \(text)")
            if !inbound.isEmpty || !outgoing.isEmpty { found += 1 }
        }
        #expect(skipped > 2_000)  // the shortcut was taken …
        #expect(found > 2_000)  // … and names were found where it was not
    }

    @Test(arguments: [
        (#"{"orderId":"ORD1","amount":12800,"channel":"wechat"}"#, true),
        (#"{"a": {"Method-Code": 1}}"#, false),
        (#"{"a": "method_code"}"#, false),  // a value like a name: not proved absent (the parse decides)
        (#"{"\u006dethodcode": 1}"#, false),
        (#"{"methodcode" 1}"#, false),
        (#"{"a": "é"}"#, false),
        (#"{"methodcod": 1, "ethodcode": 2}"#, true),
        (#"{"a": 1"#, true),
        (#""#, false),
    ])
    func provablyAbsentExamples(text: String, absent: Bool) {
        #expect(FuzzyKey.methodCode.isProvablyAbsent(fromJSON: Array(text.utf8)) == absent)
    }
}
