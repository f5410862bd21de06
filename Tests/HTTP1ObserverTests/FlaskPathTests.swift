/// The request's path as the reference reads it: waitress drops a raw fragment, Werkzeug makes the
/// decoded path's leading `/`s one (captures/parity scenario `edges`, run against the library).
import Testing

@testable import HTTP1Observer

@Suite struct FlaskPathTests {
    /// (target as sent, path, raw path, query): split anew and through the shared caches alike.
    @Test(arguments: [
        ("//api/e/2", "/api/e/2", "//api/e/2", nil),
        ("///api/e/3?method_code=Q3", "/api/e/3", "///api/e/3", "method_code=Q3"),
        ("/%2Fapi/e/4", "/api/e/4", "/%2Fapi/e/4", nil),
        ("/%2F%2F", "/", "/%2F%2F", nil),
        ("api/e/5", "/api/e/5", "api/e/5", nil),
        ("//healthcheck", "/healthcheck", "//healthcheck", nil),
        ("/api/e/6#frag", "/api/e/6", "/api/e/6", nil),
        ("/api/e/7#f?method_code=F7", "/api/e/7", "/api/e/7", nil),
        ("/api/e/8?method_code=Q8#f", "/api/e/8", "/api/e/8", "method_code=Q8"),
        ("//caf%C3%A9?x#", "/caf\u{E9}", "//caf%C3%A9", "x"),
        ("http://h:81//x?q#f", "/x", "//x", "q"),
        // Left as they are: one leading `/`, inner and trailing `//`, a `%23` (not a fragment).
        ("/api//x/", "/api//x/", "/api//x/", nil),
        ("/", "/", "/", nil),
        ("/a%23b?c", "/a#b", "/a%23b", "c"),
    ] as [(String, String, String, String?)])
    func pathIsFlasks(target: String, path: String, rawPath: String, query: String?) {
        let bytes = Array(target.utf8)
        let fresh = bytes.withUnsafeBytes { RequestTarget(bytes: $0) }
        #expect(fresh.path == path && fresh.rawPath == rawPath && fresh.query == query, "\(target)")
        #expect(fresh.target == target)
        let shared = SharedParserState()
        for _ in 0..<2 {
            let cached = bytes.withUnsafeBytes { shared.requestTarget($0) }
            #expect(cached == fresh, "\(target)")
        }
    }

    @Test func usualPathIsTheSameString() {
        let decoded = "/api/v1/orders/cancel"
        #expect(String.sameBits(RequestTarget.flaskPath(decoded), decoded))
        #expect(RequestTarget.flaskPath("") == "/")
        #expect(RequestTarget.flaskPath("////") == "/")
    }
}
