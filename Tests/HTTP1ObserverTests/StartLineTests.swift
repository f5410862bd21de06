/// The start-line check byte by byte and over a whole line agree (the parser uses either, depending on delivery cuts).
import Testing

@testable import HTTP1Observer

@Suite struct StartLineTests {
    private func incremental(_ line: [UInt8], kind: StartLineKind) -> Bool? {
        var scanner = StartLineScanner(kind: kind)
        for b in line + [0x0A] {
            switch scanner.step(b) {
            case .more: continue
            case .rejected: return nil
            case .accepted(let isRequest): return isRequest
            }
        }
        return nil
    }

    private func whole(_ line: [UInt8], kind: StartLineKind) -> Bool? {
        line.withUnsafeBytes { StartLineScanner.classifyWholeLine($0, kind: kind) }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1", true as Bool?), ("GET / HTTP/1.1\r", true), ("M-SEARCH * HTTP/1.1", true),
        ("HTTP/1.1 200 OK", false), ("HTTP/1.0 204", false), ("HTTP/1.1 200 OK\r", false), ("HTTP/1.1 200\t", nil),
        ("get / HTTP/1.1", nil), ("GET  / HTTP/1.1", nil), ("GET / HTTP/2.0", nil), ("GET / HTTP/1.1 ", nil),
        ("HTTP/1.1 20 OK", nil), ("GET /\u{7F} HTTP/1.1", nil), ("GET / HTTP/1.1\r\r", nil), ("A / HTTP/1.1", true),
    ])
    func knownLines(text: String, expected: Bool?) {
        let line = Array(text.utf8)
        #expect(incremental(line, kind: .either) == expected)
        #expect(whole(line, kind: .either) == expected)
    }

    @Test func mutatedLinesAreJudgedAlike() {
        var rng = SeededGenerator(seed: 42)
        let seeds = ["GET /a?b=1 HTTP/1.1", "HTTP/1.1 200 OK", "POST http://h:1/x HTTP/1.0\r", "HTTP/1.0 404 Not Found\r"]
        let alphabet: [UInt8] = Array(" \r\t/1.20HTTPGETx-_é".utf8) + [0x7F, 0x00]
        var accepted = 0
        for _ in 0..<20_000 {
            var line = Array(seeds.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                let at = Int.random(in: 0..<line.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: line[at] = alphabet.randomElement(using: &rng)!
                case 1: line.insert(alphabet.randomElement(using: &rng)!, at: at)
                default: if line.count > 1 { line.remove(at: at) }
                }
            }
            for kind in [StartLineKind.request, .response, .either] {
                let expected = incremental(line, kind: kind)
                if expected != nil { accepted += 1 }
                #expect(whole(line, kind: kind) == expected, "\(String(decoding: line, as: UTF8.self).debugDescription) \(kind)")
            }
        }
        // Both outcomes are exercised.
        #expect(accepted > 10_000 && accepted < 50_000)
    }

    /// A long target (read eight bytes at a time by `classifyWholeLine`) with each byte replaced by each
    /// value: the whole-line check and the byte-by-byte one still agree.
    @Test func longTargetsWithEveryByteAtEveryPlaceAreJudgedAlike() {
        let line = Array("GET /api/v1/orders/list?id=10086&page=2&sort=desc HTTP/1.1".utf8)
        var accepted = 0
        for at in 4..<(line.count - 9) {
            var changed = line
            for value in 0...255 {
                changed[at] = UInt8(value)
                let expected = incremental(changed, kind: .request)
                if expected != nil { accepted += 1 }
                #expect(whole(changed, kind: .request) == expected, "byte \(at) = \(value)")
            }
        }
        // Every value but SP, the controls and DEL keeps the line a request line (minus the cases
        // where SP ends the target early and the rest no longer parses as a version).
        #expect(accepted == (line.count - 13) * (256 - 34))
    }

    /// Status lines whose reason phrase (read eight bytes at a time by `classifyWholeLine`, the last
    /// eight overlapping) has each byte replaced by each value, for reasons of 0 to 24 bytes: the
    /// whole-line check and the byte-by-byte one agree (HTAB, obs-text and SP pass; controls and DEL do not).
    @Test func reasonsWithEveryByteAtEveryPlaceAreJudgedAlike() {
        let reason = Array("Service Temporarily Unav".utf8)
        var accepted = 0
        var rejected = 0
        for length in 0...reason.count {
            for crlf in [false, true] {
                let line = Array("HTTP/1.1 503 ".utf8) + reason[0..<length] + (crlf ? [0x0D] : [])
                #expect(whole(line, kind: .response) == incremental(line, kind: .response))
                for at in 13..<(13 + length) {
                    var changed = line
                    // (Not LF: a whole line ends at its first LF, where the byte-by-byte check stops.)
                    for value in 0...255 where value != 0x0A {
                        changed[at] = UInt8(value)
                        let expected = incremental(changed, kind: .response)
                        if expected == nil { rejected += 1 } else { accepted += 1 }
                        #expect(whole(changed, kind: .response) == expected, "length \(length) byte \(at) = \(value)")
                    }
                }
            }
        }
        #expect(accepted > 0 && rejected > 0)
    }

    /// The method's end by a word equals the byte loop: each byte value at each of the eight places,
    /// the others random method bytes or any bytes.
    @Test func methodEndByWordEqualsByteLoop() {
        func reference(_ bytes: [UInt8]) -> Int {
            bytes.firstIndex { !(($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x2D || $0 == 0x5F) } ?? 8
        }
        var rng = SeededGenerator(seed: 0x4D)
        let methodBytes = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ-_".utf8)
        for at in 0..<8 {
            for value in 0...255 {
                for anyOthers in [false, true] {
                    var bytes = (0..<8).map { _ in
                        anyOthers ? UInt8.random(in: 0...255, using: &rng) : methodBytes.randomElement(using: &rng)!
                    }
                    bytes[at] = UInt8(value)
                    let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    #expect(StartLineScanner.methodEnd(word) == reference(bytes), "\(bytes)")
                }
            }
        }
    }

    /// The word test flags every word holding SP, a control byte or DEL (no false negatives).
    @Test func wordTestFlagsEveryByteThatMayEndATarget() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<20_000 {
            var bytes = (0..<8).map { _ in UInt8.random(in: 0x21...0xFF, using: &rng) }
            for i in bytes.indices where bytes[i] == 0x7F { bytes[i] = 0x41 }
            let clean = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            #expect(!StartLineScanner.mayEndTarget(UInt64(littleEndian: clean)) || bytes.contains(0x7F))
            let at = Int.random(in: 0..<8, using: &rng)
            bytes[at] = [0x20, 0x7F, 0x00, 0x0D, 0x0A, 0x09, UInt8.random(in: 0...0x20, using: &rng)].randomElement(using: &rng)!
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            #expect(StartLineScanner.mayEndTarget(UInt64(littleEndian: word)), "\(bytes)")
        }
    }

    /// The lowest flagged lane of the word test is the first byte below 0x21 or DEL exactly (the
    /// request-line scan jumps to it), whatever the bytes after it; no lane when there is none.
    @Test func wordTestsLowestLaneIsTheFirstByteThatMayEndATarget() {
        var rng = SeededGenerator(seed: 11)
        let interesting: [UInt8] = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x7E, 0x7F, 0x80, 0xA0, 0xFF]
        for _ in 0..<50_000 {
            let bytes = (0..<8).map { _ in
                Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...0xFF, using: &rng)
            }
            let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            let lanes = StartLineScanner.targetEndLanes(word)
            let expected = bytes.firstIndex { $0 < 0x21 || $0 == 0x7F }
            #expect((lanes == 0 ? nil : lanes.trailingZeroBitCount >> 3) == expected, "\(bytes)")
        }
    }
}
