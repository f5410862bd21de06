import Testing

@Suite struct PacketDecodingTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
