import Testing

@Suite struct ChannelExporterTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
