/// Roles guessed without a handshake: swapped when the first sender answers, kept when right or known.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct GuessedRoleTests {
    @Test func guessedRolesAreSwappedWhenTheFirstSenderAnswers() {
        let result = runSplitInvariant(
            [
                // The reassembler took the server for the client: its "client to server" bytes are responses.
                .toServer(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na".utf8), at: 2000),
                .toClient(Array("GET /late HTTP/1.1\r\n\r\n".utf8), at: 3000),
                .toServer(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8), at: 4000),
            ], connection: connectionInfo(roleSource: .firstSender, synTime: nil))
        #expect(result.exchanges.map(\.completeness) == [.responseWithoutRequest, .complete])
        #expect(result.exchanges[1].client == testServer)
        #expect(result.exchanges[1].server == testClient)
        #expect(result.exchanges[1].request?.path == "/late")
        #expect(result.exchanges[1].response?.status == 404)
        #expect(result.statistics.rolesSwapped == 1)
    }

    @Test func guessedRolesStayWhenRight() {
        let result = runSplitInvariant(
            [
                .request("GET / HTTP/1.1\r\n\r\n", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 2000),
            ], connection: connectionInfo(roleSource: .firstSender, synTime: nil))
        #expect(result.exchanges.map(\.client) == [testClient])
        #expect(result.statistics.rolesSwapped == 0)
    }

    /// Roles known from the server port (picked up mid-stream; from the handshake, a client whose first
    /// line is a status line speaks no HTTP/1 at all: `OtherProtocolTests`).
    @Test func knownRolesAreNotSwappedAndWrongLinesAreCounted() {
        let result = runSplitInvariant([
            .toServer(Array("HTTP/1.1 200 OK\r\n\r\n".utf8), at: 1000),
            .request("GET / HTTP/1.1\r\n\r\n", at: 2000),
            .response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", at: 3000),
        ], connection: connectionInfo(roleSource: .configuredPort, synTime: nil))
        #expect(result.exchanges.map(\.completeness) == [.complete])
        #expect(result.statistics.count(of: .badRequestLine) == 1)
        #expect(result.statistics.rolesSwapped == 0)
    }
}
