import Testing

@Suite struct TCPReassemblyTestsSmoke {
    @Test func builds() { #expect(Bool(true)) }
}
