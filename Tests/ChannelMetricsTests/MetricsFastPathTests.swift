import Testing

@testable import ChannelMetrics

/// The shortcuts taken for every exchange must answer as the general rules do.
@Suite struct MetricsFastPathTests {
    /// A deterministic generator (tests must be repeatable).
    typealias Dice = TopLevelKeyScanTests.Generator

    @Test(arguments: [
        ("application/json", "application/json", [String: String]()),
        ("Application/JSON", "application/json", [:]),
        (" application/json", "application/json", [:]),
        ("application/json\t", "application/json", [:]),
        ("application/json; charset=UTF-8", "application/json", ["charset": "UTF-8"]),
        ("", "", [:]),
        ("text/plain;charset=\"latin-1\"", "text/plain", ["charset": "latin-1"]),
        ("application/vnd.api+json", "application/vnd.api+json", [:]),
    ])
    func mediaTypeExamples(header: String, mimeType: String, parameters: [String: String]) {
        let media = MediaType(header)
        #expect(media.mimeType == mimeType)
        #expect(media.parameters == parameters)
        #expect(media == MediaType(parsingInFull: header))
    }

    @Test func mediaTypeShortcutAgreesWithTheFullParseOnRandomHeaders() {
        let pieces = [
            "application", "/", "json", "JSON", "x-www-form-urlencoded", "multipart", "form-data", "+json", ";", "; ",
            "charset", "=", "utf-8", "\"", " ", "\t", "\r\n", "é", "\u{301}", "A", "z", "-",
        ]
        var dice = Dice(state: 11)
        var shortcuts = 0
        for _ in 0..<20_000 {
            let header = (0..<dice.next(7)).map { _ in pieces[dice.next(pieces.count)] }.joined()
            if MediaType.isPlainLowercaseASCII(header) { shortcuts += 1 }
            #expect(MediaType(header) == MediaType(parsingInFull: header), "\(header.debugDescription)")
        }
        #expect(shortcuts > 1_000)  // the shortcut was exercised, not only the full parse
    }

    /// The word-at-a-time ASCII test against the byte rule: every length to 40, one high
    /// byte at every place (0x80 and 0xFF), and none.
    @Test func asciiTestFindsEveryHighByte() {
        for length in 0...40 {
            var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(bytes.withUnsafeBufferPointer { $0.isASCII })
            for place in 0..<length {
                for high: UInt8 in [0x80, 0xFF] {
                    bytes[place] = high
                    #expect(!bytes.withUnsafeBufferPointer { $0.isASCII }, "length \(length), place \(place)")
                    #expect(!String(decoding: bytes, as: UTF8.self).utf8IsASCII)
                }
                bytes[place] = 0x7F
                #expect(bytes.withUnsafeBufferPointer { $0.isASCII })
                bytes[place] = UInt8(ascii: "a")
            }
        }
    }

    @Test func portSetAgreesWithTheConfiguredSet() {
        var dice = Dice(state: 9)
        for size in [0, 1, 3, 100] {
            var ports = Set((0..<size).map { _ in UInt16(dice.next(65_536)) })
            if size > 0 { ports.formUnion([0, 63, 64, 65_535]) }
            let set = PortSet(ports)
            for port in 0...UInt16.max { #expect(set.contains(port) == ports.contains(port)) }
        }
    }
}

/// The partner table's length filter must answer as the dictionary of hosts does.
@Suite struct PartnerLookupTests {
    @Test func agreesWithTheHostDictionaryOnRandomAuthorities() throws {
        let pieces = ["api", ".", "example", "com", ":", "8080", "172.16.50.35", "d110", "youtu", "é", "\u{212A}", "K", "x"]
        var dice = TopLevelKeyScanTests.Generator(state: 3)
        func randomAuthority() -> String { (0..<dice.next(6)).map { _ in pieces[dice.next(pieces.count)] }.joined() }
        let builtIn = try PartnerTable.builtIn()
        for round in 0..<40 {
            // The built-in table, then random ones, some with non-ASCII or 63+ byte hosts.
            let table =
                round == 0
                ? builtIn
                : PartnerTable(entries: (0..<(1 + dice.next(4))).map { i in
                    var hosts = (0..<(1 + dice.next(3))).map { _ in randomAuthority() }
                    if dice.next(5) == 0 { hosts.append(String(repeating: "h", count: 60 + dice.next(10))) }
                    return .init(hosts: hosts, partner: "\(i)", actions: [:])
                })
            var byHost: [String: PartnerTable.Entry] = [:]
            for entry in table.entries { for host in entry.hosts where byHost[host] == nil { byHost[host] = entry } }
            var probes = (0..<500).map { _ in randomAuthority() } + byHost.keys
            probes += ["", String(repeating: "h", count: 63), String(repeating: "h", count: 64), "\u{212A}", "K"]
            for authority in probes {
                #expect(table.lookup(authority: authority) == byHost[authority], "\(authority.debugDescription)")
            }
        }
    }
}
