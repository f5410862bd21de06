/// The head parser's shortcuts for finding a line's end and a target's query and fragment find what plain searches find.
import Testing

@testable import HTTP1Observer

@Suite("Head parser searches")
struct CommonPathSearchTests {
    /// The head and outcome by `parse` (common path first) and by the general path alone, and whether
    /// the common path took the head.
    private func parseBoth(_ bytes: [UInt8], isRequest: Bool) -> (String, String, Bool) {
        var viaParse = MessageHead(isRequest: false)
        var viaGeneral = MessageHead(isRequest: false)
        let parseCache = SharedParserState()
        let generalCache = SharedParserState()
        var tookCommon = false
        let parsed = bytes.withUnsafeBytes { buffer -> MessageHead.ParseOutcome in
            var probe = MessageHead(isRequest: false)
            tookCommon =
                MessageHead.parseCommon(buffer, isRequest: isRequest, maxHeaderCount: 128, cache: SharedParserState(), into: &probe)
                != nil
            return MessageHead.parse(buffer, isRequest: isRequest, maxHeaderCount: 128, cache: parseCache, into: &viaParse)
        }
        let general = bytes.withUnsafeBytes {
            MessageHead.parseGeneral($0, isRequest: isRequest, maxHeaderCount: 128, cache: generalCache, into: &viaGeneral)
        }
        return (describeHead(viaParse, parsed, parseCache), describeHead(viaGeneral, general, generalCache), tookCommon)
    }

    /// Field lines whose LF falls at each of bytes 12 to 40 after the line's start (the common path
    /// reads the second 16 bytes of a line at once), with the head ending right after them, before
    /// other bytes, or with a bare LF; known and other names, CRLF and bare LF: as the general path.
    @Test func linesEndingAfterTheFirstSixteenBytesParseAsTheGeneralPath() {
        var heads = 0
        for name in ["User-Agent", "Host", "X-Request-Id", "Content-Length", "Content-Type", "Expect"] {
            for valueLength in 8...36 {
                let value = String(repeating: name == "Content-Length" ? "1" : "v", count: valueLength)
                for end in ["\r\n", "\n"] {
                    for tail in ["\r\n", "\r\nbody-bytes-after-the-head-0123456789", "\n"] {
                        let text = "GET /x HTTP/1.1\r\n" + name + ": " + value + end + tail
                        let (viaParse, viaGeneral, tookCommon) = parseBoth(Array(text.utf8), isRequest: true)
                        if viaParse != viaGeneral { Issue.record("\(text.debugDescription): \(viaParse) vs \(viaGeneral)") }
                        #expect(tookCommon, "\(text.debugDescription)")
                        heads += 1
                    }
                }
            }
        }
        #expect(heads == 6 * 29 * 2 * 3)
    }

    /// The one-pass search for a target's `?` and `#` finds what two byte-by-byte searches find: the
    /// first `#`, and the first `?` only when it comes before it; buffers of every length up to 70,
    /// with none, one or several of each among neighbouring bytes, at every place.
    @Test func queryAndFragmentSearchEqualsByteSearches() {
        var rng = SeededGenerator(seed: 35)
        var withQuery = 0
        var withHash = 0
        var queryAfterHash = 0
        let near: [UInt8] = [0x2F, 0x61, 0x3E, 0x22, 0x3D, 0x80, 0x3F ^ 0x80, 0x23 ^ 0x01]
        for length in 0...70 {
            for _ in 0..<80 {
                var bytes = (0..<length).map { _ in near.randomElement(using: &rng)! }
                for _ in 0..<Int.random(in: 0...3, using: &rng) where length > 0 {
                    bytes[Int.random(in: 0..<length, using: &rng)] = Bool.random(using: &rng) ? 0x3F : 0x23
                }
                let hash = bytes.firstIndex(of: 0x23)
                var question = bytes.firstIndex(of: 0x3F)
                if let q = question, let hash, q > hash {
                    question = nil
                    queryAfterHash += 1
                }
                let found = bytes.withUnsafeBytes { $0.queryAndFragmentStarts() }
                if found.questionMark != question || found.hash != hash {
                    Issue.record("\(bytes): \(found) against \(String(describing: question)), \(String(describing: hash))")
                }
                if question != nil { withQuery += 1 }
                if hash != nil { withHash += 1 }
            }
        }
        #expect(withQuery > 1_000 && withHash > 1_000 && queryAfterHash > 100)
    }
}
