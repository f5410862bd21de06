// The /metrics server's content coding, in process: gzip when the request's Accept-Encoding
// prefers it, identity otherwise; HEAD; the bound on queued answers with compressed ones.
import ChannelExporter
import Foundation
@testable import HTTP1Observer
import Logging
import NIOCore
import Testing

@Suite(.serialized) struct MetricsServerEncodingTests {
    /// One answer as read off the socket.
    struct Answer {
        var status: String
        /// Header names lowercased.
        var headers: [String: String]
        var body: [UInt8]

        /// The answer in `bytes` once it is all there (`head`: no body follows the header).
        static func parse(_ bytes: [UInt8], head: Bool = false) -> Answer? {
            let separator = Array("\r\n\r\n".utf8)
            guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
            let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = head ? 0 : Int(headers["content-length"] ?? "") ?? 0
            let bodyStart = end + separator.count
            guard bytes.count >= bodyStart + length else { return nil }
            return Answer(status: lines[0], headers: headers, body: Array(bytes[bodyStart..<(bodyStart + length)]))
        }
    }

    /// A body of many distinct sample lines, in pieces, like a rendered exposition.
    static let pieces: [String] = (0..<3).map { piece in
        (0..<2000).map { line in
            "family_bucket{path=\"/api/\(piece)/\(line)\",le=\"\(line % 13)00.0\"} \(line * 7 + piece)\n"
        }.joined()
    }

    static func server() throws -> MetricsServer {
        try MetricsServer(host: "127.0.0.1", port: 0, logger: Logger(label: "test")) { _, _ in
            ScrapeResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", pieces: pieces)
        }
    }

    /// Sends one request with these extra header lines and reads its answer.
    static func ask(_ client: RawClient, method: String = "GET", _ headerLines: [String]) throws -> Answer {
        client.send("\(method) /metrics HTTP/1.1\r\nHost: x\r\n" + headerLines.map { $0 + "\r\n" }.joined() + "\r\n")
        let read = client.read(seconds: 10) { Answer.parse($0, head: method == "HEAD") != nil }
        return try #require(Answer.parse(read.bytes, head: method == "HEAD"), "no whole answer in \(read.bytes.count) bytes")
    }

    /// The gzip stream inflated whole (nil when it is not one, or does not end).
    static func inflated(_ compressed: [UInt8]) -> [UInt8]? {
        let inflater = Inflater(limit: 64 << 20)
        compressed.withUnsafeBytes { inflater.feed($0) }
        return inflater.status == .finished && inflater.consumed == compressed.count ? inflater.output : nil
    }

    @Test func aGzipAnswerInflatesToExactlyTheIdentityAnswer() throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let client = try RawClient(port: try #require(server.localAddress?.port))
        let identity = try Self.ask(client, [])
        let gzip = try Self.ask(client, ["Accept-Encoding: gzip"])
        // (Compared first: an expectation on the arrays would print them whole.)
        let identityIsTheBody = identity.body == Array(Self.pieces.joined().utf8)
        #expect(identityIsTheBody, "\(identity.body.count) bytes")
        #expect(identity.headers["content-encoding"] == nil)
        #expect(gzip.status == "HTTP/1.1 200 OK")
        #expect(gzip.headers["content-encoding"] == "gzip")
        #expect(gzip.headers["vary"] == "Accept, Accept-Encoding")
        #expect(gzip.headers["content-type"] == identity.headers["content-type"])
        #expect(gzip.body.starts(with: [0x1F, 0x8B]), "not a gzip stream")
        let inflated = Self.inflated(gzip.body)
        let inflatesToIdentity = inflated == identity.body
        #expect(inflatesToIdentity, "\(inflated?.count ?? -1) bytes inflated, \(identity.body.count) expected")
        #expect(gzip.body.count * 5 < identity.body.count, "\(gzip.body.count) bytes compressed of \(identity.body.count)")
    }

    /// What each Accept-Encoding gets (RFC 9110 §12.5.3), on one keep-alive connection.
    @Test func weightsRefusalsAndIdentityAreRespected() throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let client = try RawClient(port: try #require(server.localAddress?.port))
        let expected = Array(Self.pieces.joined().utf8)
        let cases: [(String, ContentCoding)] = [
            ("gzip;q=0", .identity),
            ("gzip; q=0.000, deflate", .identity),
            ("identity", .identity),
            ("", .identity),
            ("br", .identity),
            ("gzip;q=0.5, identity", .identity),
            ("*, gzip;q=0", .identity),
            ("*;q=0", .identity),  // nothing acceptable: identity rather than a failed scrape
            ("gzip", .gzip),
            ("GZip;Q=0.2", .gzip),  // identity unlisted: acceptable, but last
            ("gzip;q=0.2, identity;q=0.2", .gzip),
            ("gzip;q=0.2, identity;q=0.3", .identity),
            ("x-gzip", .gzip),
            ("*", .gzip),
            ("identity;q=0.5 , gzip;q=0.6", .gzip),
            ("deflate, gzip, identity", .gzip),
            ("gzip;q=2, identity;q=0", .identity),  // an invalid weight: that element is ignored
        ]
        for (field, coding) in cases {
            let answer = try Self.ask(client, ["Accept-Encoding: \(field)"])
            #expect(answer.headers["vary"] == "Accept, Accept-Encoding", "\(field)")
            #expect(answer.headers["content-encoding"] == (coding == .gzip ? "gzip" : nil), "Accept-Encoding: \(field)")
            let body = coding == .gzip ? Self.inflated(answer.body) : answer.body
            let isTheBody = body == expected
            #expect(isTheBody, "Accept-Encoding: \(field): \(body?.count ?? -1) bytes, not the body")
        }
        // Two fields are one list.
        let split = try Self.ask(client, ["Accept-Encoding: identity;q=0.1", "Accept-Encoding: gzip"])
        #expect(split.headers["content-encoding"] == "gzip")
    }

    /// A HEAD says what the GET would: the coding and the compressed length; no body follows, and the
    /// connection goes on.
    @Test func aHeadAnswersTheGetsCodingAndLength() throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let client = try RawClient(port: try #require(server.localAddress?.port))
        let head = try Self.ask(client, method: "HEAD", ["Accept-Encoding: gzip"])
        let get = try Self.ask(client, ["Accept-Encoding: gzip"])
        #expect(head.headers["content-encoding"] == "gzip")
        #expect(head.headers["vary"] == "Accept, Accept-Encoding")
        #expect(head.headers["content-length"] == String(get.body.count))
        #expect(get.headers["content-encoding"] == "gzip")
        let inflated = Self.inflated(get.body)
        let inflatesToTheBody = inflated == Array(Self.pieces.joined().utf8)
        #expect(inflatesToTheBody, "\(inflated?.count ?? -1) bytes inflated")
        let identityHead = try Self.ask(client, method: "HEAD", ["Accept-Encoding: gzip;q=0"])
        #expect(identityHead.headers["content-encoding"] == nil)
        #expect(identityHead.headers["content-length"] == String(Self.pieces.joined().utf8.count))
    }

    /// What waits against the bound on queued answers is the compressed answer: sixteen clients that never
    /// read, each asking gzip for an 8 MiB answer that compresses to about 8 KiB, are all answered under a
    /// 1 MiB bound (each answer fits in the kernel's buffers); asked without gzip, the first answer fills the
    /// bound and the other fifteen wait (`MetricsServerLimitsTests`).
    @Test func theQueuedBoundCountsCompressedBytes() throws {
        let (server, calls) = try MetricsServerLimitsTests.server(bodyBytes: 8 << 20, maxQueuedBytes: 1 << 20)
        defer { server.shutdown() }
        let port = try #require(server.localAddress?.port)
        let stalled = try (0..<16).map { _ in try RawClient(port: port, receiveBuffer: 4096) }
        for client in stalled { client.send("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n") }
        #expect(MetricsServerLimitsTests.waitUntil(seconds: 20) { calls.value.load(ordering: .relaxed) == 16 })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(calls.value.load(ordering: .relaxed) == 16)
    }
}
