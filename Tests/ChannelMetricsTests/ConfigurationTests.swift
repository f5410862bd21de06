import ChannelMetrics
import Testing

@Suite struct ConfigurationTests {
    @Test func syscodeIsValidatedAndUpperCased() throws {
        let syscode = try Syscode("a123010101")
        #expect(syscode.value == "A123010101")
        #expect(syscode.appid == "A123")
        for bad in ["", "A12301010", "A1230101011", "1123010101", "AB23010101", "A12301010x", "é123010101", "A12301010١"] {
            #expect(throws: Syscode.ValidationError.invalid(bad)) { try Syscode(bad) }
        }
        #expect(Syscode.ValidationError.invalid("x").description.contains("a letter followed by 9 digits"))
    }

    @Test func bucketsAreValidated() throws {
        #expect(Buckets.default.milliseconds == [100, 200, 500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000])
        #expect(throws: Buckets.ValidationError.empty) { try Buckets(milliseconds: []) }
        #expect(throws: Buckets.ValidationError.notAscending(index: 2, previous: 200, value: 200)) {
            try Buckets(milliseconds: [100, 200, 200])
        }
        #expect(throws: Buckets.ValidationError.notFinite(.infinity)) { try Buckets(milliseconds: [1, .infinity]) }
        // The reference multiplies by 0.001 (not / 1000): 700 → 0.7000000000000001 as in Python.
        #expect(try Buckets(milliseconds: [100, 700]).seconds == [0.1, 0.7000000000000001])
    }

    /// The built-in table equals the reference's `partner_interface_config` after its aliasing and merging.
    @Test func builtInPartnerTableEqualsTheReference() throws {
        let table = try PartnerTable.builtIn()
        let reference = Fixture.root["partner_table"] as! [String: [String: Any]]
        var hosts = Set<String>()
        for entry in table.entries { hosts.formUnion(entry.hosts) }
        #expect(hosts == Set(reference.keys))
        for (host, expected) in reference {
            let entry = try #require(table.lookup(authority: host))
            #expect(entry.partner == expected["partner"] as! String, "\(host)")
            #expect(entry.actions == expected["paths"] as! [String: String], "\(host)")
        }
        #expect(table.lookup(authority: "D002.youtu.realname.dzqd.cn:38087") == nil)
        #expect(table.lookup(authority: "d002.youtu.realname.dzqd.cn") == nil)
    }

    @Test func partnerTableFromYAML() throws {
        let table = try PartnerTable(yaml: """
            - hosts: ["api.partner.example:8443", "203.0.113.7:8443"]
              partner: 3
              actions:
                /v1/verify: 901
                /v1/empty: ""
            """)
        let entry = try #require(table.lookup(authority: "203.0.113.7:8443"))
        #expect(entry.partner == "3")
        #expect(entry.actions == ["/v1/verify": "901", "/v1/empty": ""])
        #expect(throws: PartnerTable.LoadError.self) { try PartnerTable(yaml: "- hosts: []\n") }
        #expect(throws: PartnerTable.LoadError.self) { try PartnerTable(yaml: "- hosts: [a]\n  partnr: 1\n") }
    }
}

@Suite struct NegotiationTests {
    @Test(arguments: [
        (nil, ExpositionFormat.prometheusText),
        ("text/plain;version=0.0.4", .prometheusText),
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .openMetrics),
        ("*/*", .prometheusText),
    ] as [(String?, ExpositionFormat)])
    func acceptHeader(_ accept: String?, _ expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }

    @Test func contentTypes() {
        #expect(ExpositionFormat.prometheusText.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }
}
