// TLS 1.2 CBC suites: records sealed here with swift-crypto (AES-CBC, HMAC), MAC-then-encrypt and
// encrypt-then-MAC; a record whose MAC, padding or ciphertext is wrong is not read.

import Testing

@testable import TLSDecryption

@Suite struct CBCTests {
    static let twoResponses = [
        Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8),
    ]

    /// ECDHE-RSA-AES128-SHA (HMAC-SHA1), ECDHE-RSA-AES128-SHA256, ECDHE-RSA-AES256-SHA384; with and
    /// without encrypt-then-MAC; with the least padding and with more than a block of it.
    @Test(arguments: [0xC013, 0xC027, 0xC028] as [UInt16], [false, true])
    func bothDirectionsAreRead(suite: UInt16, encryptThenMAC: Bool) {
        for padding in [0, 40] {
            let c = Conversation.tls12(suite: suite, encryptThenMAC: encryptThenMAC, padding: padding, responses: Self.twoResponses)
            let decryptor = c.decryptor()
            let r = c.play(into: decryptor, cut: 7)
            #expect(r.data(.clientToServer) == c.request)
            #expect(r.data(.serverToClient) == Self.twoResponses.joined().map { $0 })
            #expect(decryptor.statistics.recordsFailed == 0)
            #expect(decryptor.statistics.decryptedConnections == 1)
        }
    }

    /// One bit of the response's ciphertext changed, or one byte of its padding (the MAC intact: only
    /// the padding check finds it): that record is not read, counted as failed.
    @Test(arguments: [0xC013, 0xC027] as [UInt16], [Sealer.Flaw.ciphertext, .padding])
    func aFlawedRecordIsNotRead(suite: UInt16, flaw: Sealer.Flaw) {
        for encryptThenMAC in [false, true] {
            let c = Conversation.tls12(suite: suite, encryptThenMAC: encryptThenMAC, flaw: flaw, padding: 20)
            let decryptor = c.decryptor()
            let r = c.play(into: decryptor)
            #expect(r.data(.clientToServer) == c.request)
            #expect(r.data(.serverToClient).isEmpty)
            #expect(decryptor.statistics.recordsFailed == 1)
            #expect(decryptor.statistics.recordsDecrypted == 3)
        }
    }

    /// A record lost: reading goes on at the next, whose MAC's sequence number is found.
    @Test func aLostRecordIsAGap() {
        let bodies = Conversation.threeBodies
        let c = Conversation.tls12(suite: 0xC027, responses: bodies)
        let decryptor = c.decryptor()
        // The server's records: hello flight, CCS, Finished, then the three responses: lose the second.
        let r = c.play(into: decryptor, cut: 300, lose: (server: 4, ()))
        #expect(r.data(.serverToClient) == bodies[0] + bodies[2])
        #expect(decryptor.statistics.resynchronisations == 1)
        let gaps = r.calls.compactMap { if case .gap(.serverToClient, let n) = $0 { n } else { nil } }
        // The lost record's plaintext, told within the padding a record may carry (at most 15 bytes more).
        #expect(gaps.count == 1)
        #expect((1000...1015).contains(gaps.first ?? 0), "\(gaps)")
    }
}
