/// A multipart body of more than Flask's `MAX_FORM_PARTS` (1,000) parts: werkzeug raises inside the
/// reference's before-request hook, its after-request hook then fails and records nothing, unless a
/// `Method-Code` header answers first or a query argument keeps `request.form` unread (run with the
/// library: 1,000 parts recorded, 1,001 and 1,002 not, 1,001 with the header or `?q=1` recorded).
import ChannelMetrics
import HTTP1Observer
import Testing

@Suite struct FormPartsTests {
    static func multipart(parts: Int) -> [UInt8] {
        var body = Array("--BB\r\nContent-Disposition: form-data; name=\"method_code\"\r\n\r\nM\r\n".utf8)
        for i in 1..<parts {
            body += Array("--BB\r\nContent-Disposition: form-data; name=\"f\(i)\"\r\n\r\n1\r\n".utf8)
        }
        return body + Array("--BB--\r\n".utf8)
    }

    @Test(arguments: [
        (1_000, "/api/f/2", [(String, String)](), true),
        (1_001, "/api/f/1", [], false),
        (1_002, "/api/f/5", [], false),
        (1_001, "/api/f/3", [("Method-Code", "H3")], true),
        (1_001, "/api/f/4?q=1", [], true),
        (1_001, "/api/f/6?", [], false),  // `?` alone: no argument, the form is read
        (1_001, "/api/f/7", [("Method-Code", "")], false),  // empty: falls through to the data
    ])
    func moreThanAThousandPartsAreNotRecorded(parts: Int, target: String, headers: [(String, String)], recorded: Bool) {
        let metrics = ChannelMetrics(configuration: Make.configuration())
        let request = Make.request(
            method: "POST", target: target, headers: headers + [("Content-Type", "multipart/form-data; boundary=BB")],
            body: Self.multipart(parts: parts))
        metrics.observe(Make.exchange(serverPort: 8080, request: request, response: Make.response(body: Array(#"{"code":0}"#.utf8))))
        let statistics = metrics.statistics()
        #expect(statistics.recorded[.inbound] == (recorded ? 1 : nil))
        #expect(statistics.skipped[.requestDataFailed] == (recorded ? nil : 1))
    }

    static let methodCodePart = "--BB\r\nContent-Disposition: form-data; name=\"method_code\"\r\n\r\nM\r\n"
    static let noDisposition = "--BB\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    static let noName = "--BB\r\nContent-Disposition: form-data\r\n\r\nx\r\n"

    /// Run with the library: a part without Content-Disposition empties the whole form (werkzeug's
    /// ValueError, silenced): `""`; a field without a name is the key `None`, on which FuzzyGet raises
    /// when it comes before the match: nothing recorded; after it, or with the header, recorded.
    @Test(arguments: [
        (methodCodePart + noDisposition, [(String, String)](), "", true),
        (methodCodePart + noName, [], "M", true),
        (noName + methodCodePart, [], "", false),
        (noName + methodCodePart, [("Method-Code", "H11")], "H11", true),
    ])
    func partsWerkzeugCannotReadAsFields(parts: String, headers: [(String, String)], methodCode: String, recorded: Bool) {
        let request = Make.request(
            method: "POST", target: "/api/f", headers: headers + [("Content-Type", "multipart/form-data; boundary=BB")],
            body: Array((parts + "--BB--\r\n").utf8))
        let rules = LabelRules()
        #expect(rules.inboundRequestDataFails(request) == !recorded)
        if recorded { #expect(rules.inboundMethodCode(request) == methodCode) }
    }

    @Test func partsAreCountedAsWerkzeugCountsThem() {
        let body = Self.multipart(parts: 3)
        #expect(MultipartFormFields.partCount(body, boundary: "BB", upTo: 1_000) == 3)
        #expect(MultipartFormFields.partCount(body, boundary: "BB", upTo: 1) == 2)  // stops past the limit
        #expect(MultipartFormFields.partCount(body, boundary: "XX", upTo: 1_000) == 0)
        // A part whose headers end in the prefix counts, its content cut off or not.
        let cut = Array(body.prefix(body.count - 9))  // "--BB--\r\n" and the last content's LF
        #expect(MultipartFormFields.partCount(cut, boundary: "BB", upTo: 1_000) == 3)
    }
}
