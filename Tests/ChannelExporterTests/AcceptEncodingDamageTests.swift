// Accept-Encoding as a scraper (or anyone reaching /metrics) may send it: long, repetitive, odd.
import ChannelExporter
import Testing

@Suite struct AcceptEncodingDamageTests {
    @Test func longAndRepetitiveFieldsAreRead() {
        let many = Array(repeating: "br;q=0.9", count: 100_000).joined(separator: ", ")
        #expect(ContentCoding.negotiate(acceptEncoding: many + ", gzip;q=0.001") == .gzip)
        #expect(ContentCoding.negotiate(acceptEncoding: Array(repeating: "gzip;q=0;q=1;q=0", count: 50_000).joined(separator: ",")) == .identity)
        #expect(ContentCoding.negotiate(acceptEncoding: String(repeating: " \t,;=", count: 200_000)) == .identity)
        #expect(ContentCoding.negotiate(acceptEncoding: "gzip" + String(repeating: ";a=b", count: 100_000)) == .gzip)
        #expect(ContentCoding.negotiate(acceptEncoding: "\t GZIP \t;\t Q = 0.5 \t, identity;q=0.4") == .gzip)
        #expect(ContentCoding.negotiate(acceptEncoding: "gzip;q=0.5000, identity;q=1.") == .identity)
    }

    /// Random fields from pieces of the grammar and bytes around it: gzip or identity, never a trap.
    @Test func randomFieldsNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["gzip", "x-gzip", "identity", "*", "br", ";", ",", "=", "q", "Q", "0", "1", ".", "000", "0.5", " ", "\t",
                      "\r\n", "\u{0}", "é", "\u{301}", "\u{FEFF}", "q=", ";q", "1.0001", "-1", "=="]
        var gzip = 0
        for _ in 0..<50_000 {
            var field = ""
            for _ in 0..<Int.random(in: 0...12, using: &rng) { field += pieces.randomElement(using: &rng)! }
            if ContentCoding.negotiate(acceptEncoding: field) == .gzip { gzip += 1 }
        }
        #expect(gzip > 0)
    }
}
