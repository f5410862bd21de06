/// The head parser's shortcut for finding a line's end finds what the general path finds.
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
}
