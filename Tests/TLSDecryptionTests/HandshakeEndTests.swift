// The end of the TLS handshake, told to the inner consumer as the connection's handshake end:
// `HTTPExchange.callStart` times a connection's first call from its SYN only when the request
// follows that end within 100 ms, and a TLS handshake can take longer than that.

import PacketDecoding
import TCPReassembly
import Testing

@testable import TLSDecryption

@Suite struct HandshakeEndTests {
    /// 60 ms a record: the TLS handshake ends hundreds of ms after the TCP handshake (at 1 ns).
    let step: Int64 = 60_000_000

    @Test func tls13EndsAtTheLastHandshakeRecordBeforeTheClientsData() {
        let c = Conversation.tls13(suite: 0x1301)
        let recorder = c.play(into: c.decryptor(), step: step)
        // Sent in turn: ClientHello, ServerHello, two ChangeCipherSpecs, the client's Finished, the
        // server's first protected handshake record (6th), then the client's request (7th).
        #expect(recorder.handshakeEnds == [Timestamp(nanoseconds: 1), Timestamp(nanoseconds: 1 + 6 * step)])
        #expect(recorder.data(.clientToServer) == c.request)
    }

    @Test func tls12EndsAtTheClientsFinished() {
        let c = Conversation.tls12(suite: 0xc02f)
        let recorder = c.play(into: c.decryptor(), step: step)
        // The client's Finished is the 7th record sent; its request, the 9th, after the server's answer.
        #expect(recorder.handshakeEnds == [Timestamp(nanoseconds: 1), Timestamp(nanoseconds: 1 + 7 * step)])
        #expect(recorder.data(.clientToServer) == c.request)
    }

    @Test func notReadSaysNothingMore() {
        let c = Conversation.tls13(suite: 0x1301)
        let recorder = c.play(into: c.decryptor(keyLog: ""), step: step)
        #expect(recorder.handshakeEnds == [Timestamp(nanoseconds: 1)])
    }
}
