import Testing

@Suite struct ChannelMetricsTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
