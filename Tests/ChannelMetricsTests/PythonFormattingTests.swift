import ChannelMetrics
import Testing

/// Float and string rendering against tables produced by CPython and prometheus_client.
@Suite struct PythonFormattingTests {
    static let floats = (Fixture.root["python"] as! [String: Any])["floats"] as! [[String]]
    static let strings = (Fixture.root["python"] as! [String: Any])["strings"] as! [[String]]

    @Test(arguments: floats)
    func floatReprAndGoString(_ row: [String]) {
        let value = Double(row[0])!
        #expect(PythonFormatting.floatRepr(value) == row[1])
        #expect(PythonFormatting.goFloat(value) == row[2])
    }

    @Test(arguments: strings)
    func stringRepr(_ row: [String]) {
        let text = String(decoding: Fixture.base64(row[0]), as: UTF8.self)
        #expect(PythonFormatting.stringRepr(text) == row[1])
    }

    @Test func specialFloats() {
        #expect(PythonFormatting.floatRepr(.nan) == "nan")
        #expect(PythonFormatting.floatRepr(.infinity) == "inf")
        #expect(PythonFormatting.floatRepr(-.infinity) == "-inf")
        #expect(PythonFormatting.goFloat(.infinity) == "+Inf")
        #expect(PythonFormatting.goFloat(-.infinity) == "-Inf")
        #expect(PythonFormatting.goFloat(.nan) == "NaN")
    }

    @Test(arguments: [
        ("{\"a\": 1}", "{'a': 1}"),
        ("[1, \"x\"]", "[1, 'x']"),
        ("{\"k\": [true, false, null, 1.5, 1e5, -0, \"it's\"]}", "{'k': [True, False, None, 1.5, 100000.0, 0, \"it's\"]}"),
        ("{\"a\": 1, \"b\": 2, \"a\": 3}", "{'a': 3, 'b': 2}"),
        ("{}", "{}"),
        ("[]", "[]"),
        ("\"0000\"", "0000"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("NaN", "nan"),
        ("-Infinity", "-inf"),
    ])
    func pythonStrOfJSON(_ json: String, _ expected: String) throws {
        let value = try PythonJSONParser().parse(utf8: json.bytes).get()
        #expect(value.pythonStr == expected)
    }
}
