import Testing

@Suite struct AMQPObserverTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
