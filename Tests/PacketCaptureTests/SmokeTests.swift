import Testing

@Suite struct PacketCaptureTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
