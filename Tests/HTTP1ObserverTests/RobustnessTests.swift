/// Seeded random garbage, truncation and mutation: the observer never crashes, never grows without bound, and counts.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct RobustnessTests {
    /// A valid keep-alive conversation touching most framing paths.
    static let conversation: [Step] = [
        .request("POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", at: 1000),
        .response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n", at: 2000),
        .request("GET /b HTTP/1.1\r\nUser-Agent: x\r\n\r\nHEAD /c HTTP/1.1\r\n\r\n", at: 3000),
        .response("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnopHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", at: 4000),
        .request("GET /d HTTP/1.0\r\n\r\n", at: 5000),
        .response("HTTP/1.0 200 OK\r\n\r\nuntil close", at: 6000),
    ] + Step.endBoth(at: 7000)

    @Test func theConversationItselfIsParsedWhole() {
        let result = runSplitInvariant(Self.conversation)
        #expect(result.exchanges.map { $0.request?.path } == ["/a", "/b", "/c", "/d"])
        #expect(result.exchanges.map { $0.response?.status } == [200, 404, 200, 200])
        #expect(result.exchanges.map { $0.response?.bodyPrefix.text } == ["abc", "nop", "", "until close"])
        #expect(result.statistics.anomalies.isEmpty)
    }

    @Test(arguments: 0..<40)
    func randomGarbageNeverCrashesAndIsCounted(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7919)
        var steps: [Step] = []
        var time: Int64 = 1000
        for _ in 0..<Int.random(in: 1...12, using: &rng) {
            let length = Int.random(in: 0...600, using: &rng)
            // Bias towards bytes that matter to the parser, so the garbage reaches deep states.
            let alphabet = Array("HTTP/1.1 200 GET / \r\n:0123456789abcdefABCDEF;chunked Content-Length Transfer-Encoding\t-".utf8)
            let garbage = (0..<length).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            time += 10
            switch Int.random(in: 0...9, using: &rng) {
            case 0: steps.append(.gap(Bool.random(using: &rng) ? .clientToServer : .serverToClient, Int.random(in: 1...5000, using: &rng), at: time))
            case 1...4: steps.append(.toServer(garbage, at: time))
            default: steps.append(.toClient(garbage, at: time))
            }
        }
        steps += Step.endBoth(at: time + 10)
        var configuration = HTTPObserverConfiguration()
        configuration.maxHeaderBytes = 256
        configuration.maxPendingRequests = 4
        for roleSource in [RoleSource.handshake, .firstSender] {
            let result = runSplitInvariant(steps, configuration: configuration, connection: connectionInfo(roleSource: roleSource))
            let stats = result.statistics
            let unpaired = stats.responsesWithoutRequest + stats.requestsWithoutResponse
            // Every exchange emitted is counted once (upgrades are also complete or unpaired exchanges).
            #expect(result.exchanges.count == stats.exchangesComplete + unpaired)
            for exchange in result.exchanges {
                #expect((exchange.request?.bodyPrefix.count ?? 0) <= configuration.requestBodyPrefixLimit)
                #expect((exchange.response?.bodyPrefix.count ?? 0) <= max(configuration.responseBodyPrefixLimit, configuration.maxInflatedBytes))
            }
            let anythingSent = steps.contains { if case .toServer(let b, _) = $0 { return !b.isEmpty }; if case .toClient(let b, _) = $0 { return !b.isEmpty }; return false }
            if anythingSent && result.exchanges.isEmpty && stats.upgrades == 0 {
                // As anomalies, or (from the handshake, see `HTTPMessageParser+OtherProtocol`) as another protocol.
                #expect(!stats.anomalies.isEmpty || stats.otherProtocolConnections == 1, "garbage that produced nothing must be counted")
            }
        }
    }

    @Test(arguments: 0..<30)
    func randomTruncationAndMutationOfAValidConversation(seed: Int) {
        var rng = SeededGenerator(seed: UInt64(seed) &+ 12345)
        var steps: [Step] = []
        for step in Self.conversation {
            switch step {
            case .toServer(var b, let t), .toClient(var b, let t):
                let isToServer: Bool
                if case .toServer = step { isToServer = true } else { isToServer = false }
                switch Int.random(in: 0...5, using: &rng) {
                case 0: b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
                case 1 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 2 where b.count > 2:
                    // Cut a piece out and report it as a gap, as the reassembler would.
                    let start = Int.random(in: 0..<(b.count - 1), using: &rng)
                    let end = Int.random(in: (start + 1)...b.count, using: &rng)
                    let direction: StreamDirection = isToServer ? .clientToServer : .serverToClient
                    let head = Array(b[..<start]), tail = Array(b[end...])
                    steps.append(isToServer ? .toServer(head, at: t) : .toClient(head, at: t))
                    steps.append(.gap(direction, end - start, at: t))
                    b = tail
                default: break
                }
                steps.append(isToServer ? .toServer(b, at: t) : .toClient(b, at: t))
            case .gap, .end:
                if Int.random(in: 0...3, using: &rng) > 0 { steps.append(step) }
            }
        }
        let result = runSplitInvariant(steps)
        let stats = result.statistics
        #expect(result.exchanges.count == stats.exchangesComplete + stats.responsesWithoutRequest + stats.requestsWithoutResponse)
        #expect(result.exchanges.count <= 6)
    }
}
