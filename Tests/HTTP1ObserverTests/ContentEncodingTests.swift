/// gzip / deflate response bodies inflated into a bounded prefix; body prefix limits.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite struct ContentEncodingTests {
    /// `{"code":0,"msg":"ok"}` compressed by Python's gzip (mtime 0), zlib and raw deflate.
    static let gzipBody = bytes(hex: "1f8b0800000000000203ab564ace4f4955b232d051ca2d4e57b252cacf56aa05009c3f863f15000000")
    static let zlibBody = bytes(hex: "789cab564ace4f4955b232d051ca2d4e57b252cacf56aa050046460651")
    static let rawDeflateBody = bytes(hex: "ab564ace4f4955b232d051ca2d4e57b252cacf56aa0500")
    /// 1 MiB of zeros, gzip level 9: 1051 bytes.
    static let gzipBomb = bytes(
        hex: "1f8b0800000000000203edc13101000000c2a0f54f6d085fa0" + String(repeating: "00", count: 1016)
            + "3e031cea38a700001000")

    private func respond(encoding: String, body: [UInt8], chunked: Bool = false, configuration: HTTPObserverConfiguration = .init())
        -> RunResult
    {
        var response = Array("HTTP/1.1 200 OK\r\nContent-Encoding: \(encoding)\r\n".utf8)
        if chunked {
            response += Array("Transfer-Encoding: chunked\r\n\r\n".utf8)
            var rest = body[...]
            while !rest.isEmpty {
                let piece = rest.prefix(7)
                rest = rest.dropFirst(7)
                response += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8)
            }
            response += Array("0\r\n\r\n".utf8)
        } else {
            response += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        }
        return runSplitInvariant(
            [.request("GET / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n", at: 1000), .toClient(response, at: 2000)],
            configuration: configuration)
    }

    @Test(arguments: [("gzip", gzipBody), ("x-gzip", gzipBody), ("deflate", zlibBody), ("deflate", rawDeflateBody), ("GZIP", gzipBody)])
    func compressedBodiesAreInflated(encoding: String, body: [UInt8]) {
        for chunked in [false, true] {
            let result = respond(encoding: encoding, body: body, chunked: chunked)
            let response = result.exchanges.first?.response
            #expect(response?.bodyPrefix.text == "{\"code\":0,\"msg\":\"ok\"}")
            #expect(response?.bodyLength == body.count)
            #expect(response?.bodyTruncated == false)
            #expect(response?.contentEncoding == encoding)
            #expect(result.statistics.anomalies.isEmpty)
        }
    }

    @Test func decompressionBombStopsAtTheBound() {
        let result = respond(encoding: "gzip", body: Self.gzipBomb)
        let response = result.exchanges.first?.response
        #expect(response?.bodyPrefix.count == 64 * 1024)
        #expect(response?.bodyPrefix.allSatisfy { $0 == 0 } == true)
        #expect(response?.bodyTruncated == true)
        #expect(response?.bodyLength == 1051)
        #expect(result.statistics.count(of: .decompressionBomb) == 1)
    }

    @Test func inflatedBoundIsConfigurable() {
        var configuration = HTTPObserverConfiguration()
        configuration.maxInflatedBytes = 10
        let result = respond(encoding: "gzip", body: Self.gzipBody, configuration: configuration)
        #expect(result.exchanges[0].response?.bodyPrefix.text == "{\"code\":0,")
        #expect(result.exchanges[0].response?.bodyTruncated == true)
        #expect(result.statistics.count(of: .bodyPrefixTruncated) == 1)
    }

    @Test func corruptCompressedBodyIsCounted() {
        var corrupt = Self.gzipBody
        corrupt[12] ^= 0xFF
        corrupt[13] ^= 0xFF
        let result = respond(encoding: "gzip", body: corrupt)
        #expect(result.exchanges[0].response?.bodyTruncated == true)
        #expect(result.exchanges[0].response?.bodyLength == corrupt.count)
        #expect(result.statistics.count(of: .inflateError) == 1)
    }

    @Test func unknownEncodingIsKeptAsItIs() {
        let result = respond(encoding: "br", body: [1, 2, 3])
        #expect(result.exchanges[0].response?.bodyPrefix == [1, 2, 3])
    }

    @Test func bodyPrefixLimitsAreCountedAndTheWireLengthIsWhole() {
        var configuration = HTTPObserverConfiguration()
        configuration.requestBodyPrefixLimit = 4
        configuration.responseBodyPrefixLimit = 3
        let result = runSplitInvariant(
            [
                .request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", at: 1000),
                .response("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef", at: 2000),
            ], configuration: configuration)
        let e = result.exchanges[0]
        #expect(e.request?.bodyPrefix.text == "0123")
        #expect(e.request?.bodyLength == 10)
        #expect(e.request?.bodyTruncated == true)
        #expect(e.response?.bodyPrefix.text == "abc")
        #expect(e.response?.bodyLength == 6)
        #expect(result.statistics.count(of: .bodyPrefixTruncated) == 2)
    }
}
