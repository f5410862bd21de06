import Testing

@Suite struct HTTP1ObserverTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
