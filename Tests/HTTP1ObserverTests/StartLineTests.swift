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
}
