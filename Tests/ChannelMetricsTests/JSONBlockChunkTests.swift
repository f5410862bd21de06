import CJSONBlocks
import Testing

@testable import ChannelMetrics

/// The first pass reads `CEJSON_FIRST_BLOCKS` blocks, then `CEJSON_CHUNK_BLOCKS` at a time,
/// ahead of the grammar, which jumps by a value's first byte: long texts (many reads, a
/// member batch full in the middle of one, an anomaly or an error in a late one), every
/// layout of whitespace, and every first byte of a value in each context — every level
/// agrees with the portable one, the byte-by-byte scan and the reference validator
/// (`JSONBlockScanTests.check`), and with the byte-at-a-time token starts.
@Suite struct JSONBlockChunkTests {
    typealias Generator = TopLevelKeyScanTests.Generator

    /// Blocks of text the first pass reads at once, in bytes: texts below are made to cross
    /// several such reads.
    static let firstRead = Int(CEJSON_FIRST_BLOCKS) * 64
    static let laterRead = Int(CEJSON_CHUNK_BLOCKS) * 64

    /// `text` with its whitespace between tokens replaced: none, single spaces, newlines and
    /// indentation (pretty-printed), or runs of every whitespace byte.
    static func relaid(_ text: String, style: Int) -> [UInt8] {
        var out: [UInt8] = []
        var inString = false
        var escaped = false
        var depth = 0
        let gaps: [[UInt8]] = [[], [0x20], [0x0A], [0x20, 0x09, 0x0D, 0x0A, 0x20]]
        for b in text.utf8 {
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D: continue  // the layout is the style's
            case 0x22:
                inString = true
                out.append(b)
            case 0x7B, 0x5B:
                depth += 1
                out.append(b)
                if style == 2 { out += [0x0A] + [UInt8](repeating: 0x20, count: 2 * depth) } else { out += gaps[style] }
            case 0x7D, 0x5D:
                depth -= 1
                if style == 2 { out += [0x0A] + [UInt8](repeating: 0x20, count: 2 * max(depth, 0)) } else { out += gaps[style] }
                out.append(b)
            case 0x2C, 0x3A:
                if style == 3 { out += gaps[3] }
                out.append(b)
                if style == 2 { out += b == 0x2C ? [0x0A] + [UInt8](repeating: 0x20, count: 2 * depth) : [0x20] } else { out += gaps[style] }
            default:
                out.append(b)
            }
        }
        return out
    }

    /// A long object: `members` top-level members, the values random (nested objects, arrays,
    /// numbers, escapes, non-ASCII), some long strings and long arrays of objects.
    static func longObject(_ g: inout Generator, members: Int) -> String {
        let body = (0..<members).map { i -> String in
            let key = i % 7 == 0 ? "code" : "k\(i)"
            let value: String
            switch g.next(5) {
            case 0: value = "\"" + String(repeating: "x", count: g.next(200)) + "\""
            case 1: value = "[" + (0..<g.next(12)).map { n in "{\"sku\":\"S\(n)\",\"n\":\(n * 37),\"p\":-\(n).5}" }.joined(separator: ",") + "]"
            default: value = g.value(depth: 0)
            }
            return "\"\(key)\":\(value)"
        }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// Valid long objects in every layout, 1 to about 40 blocks: decided as valid at every
    /// level, with the byte-by-byte scan's matches; damaged or cut copies agree too.
    @Test func longDocumentsInEveryLayout() {
        var g = Generator(state: 7)
        var longest = 0
        for round in 0..<400 {
            let text = Self.longObject(&g, members: 1 + g.next(round % 4 == 0 ? 60 : 20))
            for style in 0..<4 {
                let bytes = Self.relaid(text, style: style)
                longest = max(longest, bytes.count)
                #expect(JSONBlockScanTests.check(bytes) == .valid, "style \(style): \(String(decoding: bytes, as: UTF8.self))")
                var damaged = bytes
                for _ in 0...g.next(2) { damaged[g.next(damaged.count)] = UInt8(g.next(128)) }
                JSONBlockScanTests.check(damaged)
                JSONBlockScanTests.check(Array(bytes.prefix(g.next(bytes.count))))
            }
        }
        #expect(longest > Self.firstRead + 2 * Self.laterRead)
    }

    /// More top-level members than one call hands back (`memberBatch`), with long values: the
    /// scan stops with a full batch in the middle of a read and goes on from there.
    @Test func manyMembersAcrossReads() {
        for members in [15, 16, 17, 31, 32, 33, 100] {
            for width in [0, 30, 61, 64, 130] {
                let filler = String(repeating: "y", count: width)
                let text = "{" + (0..<members).map { "\"m\($0)\":\"\(filler)\",\"code\":\($0)" }.joined(separator: ",") + "}"
                #expect(JSONBlockScanTests.check(Array(text.utf8)) == .valid, "\(members) members, width \(width)")
                JSONBlockScanTests.check(Array(text.utf8).dropLast())
            }
        }
    }

    /// An anomaly (a control byte in a string, an invalid escape) or an error in a late read,
    /// at every offset of its block: undecided, as the byte-by-byte scan rejects.
    @Test func lateAnomaliesAndErrors() {
        for head in [Self.firstRead - 70, Self.firstRead + Self.laterRead - 70, Self.firstRead + 3 * Self.laterRead - 70] {
            for pad in 0..<140 {
                for flaw in ["\"\u{01}\"", "\"\\x\"", "01", "[1,]", "tru", "\"a\\ud83d\"", "1"] {
                    let text = "{\"p\":\"" + String(repeating: "a", count: head + pad) + "\",\"code\":" + flaw + "}"
                    let outcome = JSONBlockScanTests.check(Array(text.utf8))
                    if flaw == "1" || flaw == "\"a\\ud83d\"" { #expect(outcome == .valid) } else { #expect(outcome == .undecided) }
                }
            }
        }
    }

    /// Every byte as the first byte of a value in each context (the top-level object, a nested
    /// object, an array, after a comma in an array), followed by nothing, a delimiter or more.
    @Test func everyFirstByteOfAValue() {
        for value in 0...255 {
            let b = String(decoding: [UInt8(value)], as: UTF8.self)
            let bytes = [UInt8(value)]
            for (head, tail) in [("{\"code\":", "}"), ("{\"a\":{\"code\":", "}}"), ("{\"a\":[", "]}"), ("{\"a\":[1,", "]}"), ("{\"a\":[{},", "]}")] {
                for follower in ["", "1", "}", "]", " ", "\"", ",2"] {
                    for pad in [0, 58, 60] {
                        let start = "{\"p\":\"" + String(repeating: "a", count: pad) + "\","
                        JSONBlockScanTests.check(Array((start + head.dropFirst()).utf8) + bytes + Array((follower + tail).utf8))
                    }
                }
            }
            _ = b
        }
    }

    /// Integers of 1 to 70 digits ending on both sides of a block edge, of the first read's
    /// edge and of a later read's, followed by a delimiter, a fraction, an exponent, a letter
    /// or the end: decided from the next block's digits when the first pass has read it, else
    /// byte by byte, with the same outcome.
    @Test func integersAcrossBlockAndReadEdges() {
        for edge in [64, 128, Self.firstRead, Self.firstRead + Self.laterRead] {
            for digits in [1, 2, 3, 9, 20, 63, 64, 65, 70] {
                for shift in -3...3 {
                    let pad = edge + shift - 15 - digits  // `{"p":"` and `","code":` are 15 bytes
                    guard pad >= 0 else { continue }
                    let number = "1" + String(repeating: "7", count: digits - 1)
                    for follower in ["}", "", ",\"code\":1}", ".5}", "e3}", "x}", " }", "\"}", "]}", "0}"] {
                        let text = "{\"p\":\"" + String(repeating: "a", count: pad) + "\",\"code\":" + number + follower
                        let outcome = JSONBlockScanTests.check(Array(text.utf8))
                        if ["}", ",\"code\":1}", ".5}", "e3}", " }", "0}"].contains(follower) {
                            #expect(outcome == .valid, "\(digits) digits ending at \(edge + shift): \(follower)")
                        }
                    }
                }
            }
        }
    }

    /// Random bytes from JSON's significant ones, up to about 50 blocks: the same token starts
    /// and anomaly at every level as byte at a time (reads of the first pass end at no fixed
    /// place in a text: every block edge is a read's edge somewhere).
    @Test func longTokenStreams() {
        let alphabet: [UInt8] = Array("{}[]:,\"\\ \t\n\r0123456789.eE+-truefalsnNIy/bu".utf8) + [0x01, 0x80, 0xC3, 0xA9]
        var g = Generator(state: 13)
        for _ in 0..<600 {
            let length = g.next(Self.firstRead + 3 * Self.laterRead)
            var bytes = (0..<length).map { _ in alphabet[g.next(alphabet.count)] }
            // Mostly without anomalies, so that the stream runs to the end or a late one.
            bytes = bytes.map { $0 == 0x01 && g.next(200) != 0 ? 0x20 : $0 }
            if g.next(2) == 0 { bytes = bytes.map { $0 == 0x5C ? 0x61 : $0 } }
            JSONBlockTokenTests.expectSameTokens(bytes)
        }
    }
}
