import AMQPObserver
import ChannelMetrics
import Foundation
import HTTP1Observer
import PacketDecoding
import TCPReassembly

/// Builders for the observers' value types (the observers are written in parallel).
enum Make {
    static let syscode = try! Syscode("a123010101")

    static func configuration(maxSeries: Int = 10_000, partners: PartnerTable? = nil) -> MetricsConfiguration {
        MetricsConfiguration(
            syscode: syscode, inboundPorts: [8080], partners: partners ?? (try! PartnerTable.builtIn()),
            maxSeriesPerFamily: maxSeries)
    }

    static func endpoint(_ ip: String, _ port: UInt16) -> Endpoint { Endpoint(address: IPAddress(ip)!, port: port) }

    static func request(
        method: String = "GET", target: String = "/api", host: String? = "localhost", headers: [(String, String)] = [],
        body: [UInt8] = [], truncated: Bool = false
    ) -> HTTPRequestSummary {
        let (rawPath, query) = split(target)
        func header(_ name: String) -> String? { headers.first { FuzzyKey(name).matches($0.0) }?.1 }
        return HTTPRequestSummary(
            method: method, target: target, rawPath: rawPath, path: percentDecodedPath(rawPath), query: query,
            version: "HTTP/1.1", host: host, userAgent: header("User-Agent"), methodCode: header("Method-Code"),
            tCode: header("T-Code"), contentType: headers.first { $0.0.lowercased() == "content-type" }?.1,
            bodyPrefix: body, bodyLength: body.count, bodyTruncated: truncated)
    }

    static func response(status: Int = 200, contentType: String? = "application/json", body: [UInt8], truncated: Bool = false)
        -> HTTPResponseSummary
    {
        HTTPResponseSummary(
            status: status, contentType: contentType, contentEncoding: nil, bodyPrefix: body, bodyLength: body.count,
            bodyTruncated: truncated, bodyless: false)
    }

    /// An exchange at `t0` taking `micros` (inbound: last request byte → first response byte;
    /// outgoing: first request byte → last response byte).
    static func exchange(
        serverPort: UInt16, request: HTTPRequestSummary?, response: HTTPResponseSummary?, micros: Int64 = 1000,
        t0: Int64 = 1_700_000_000_000_000_000
    ) -> HTTPExchange {
        let client = endpoint("10.0.0.1", 40000)
        let server = endpoint("10.0.0.2", serverPort)
        let start = Timestamp(nanoseconds: t0)
        let end = Timestamp(nanoseconds: t0 + micros * 1000)
        return HTTPExchange(
            connection: ConnectionInfo(id: 1, client: client, server: server, roleSource: .handshake, synTime: nil, firstSeen: start),
            client: client, server: server, request: request, response: response,
            completeness: request != nil && response != nil ? .complete : .requestWithoutResponse, sawGap: false,
            isFirstOnConnection: false, requestFirstByte: start, requestLastByte: start, responseFirstByte: end,
            responseLastByte: end)
    }

    static func outcome(queue: String?, answer: DeliveryAnswer, deliver: Int64, start: Int64, end: Int64) -> ConsumerOutcome {
        let client = endpoint("10.0.0.1", 40001)
        let server = endpoint("10.0.0.3", 5672)
        return ConsumerOutcome(
            connection: ConnectionInfo(id: 2, client: client, server: server, roleSource: .handshake, synTime: nil,
                                       firstSeen: Timestamp(nanoseconds: deliver)),
            channel: 1, consumerTag: "ctag", deliveryTag: 1, queue: queue, queueSource: .consume, redelivered: false,
            answer: answer, deliverTime: Timestamp(nanoseconds: deliver), serviceStart: Timestamp(nanoseconds: start),
            answerTime: Timestamp(nanoseconds: end))
    }

    static func split(_ target: String) -> (String, String?) {
        guard let q = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<q]), String(target[target.index(after: q)...]))
    }

    /// Flask's `request.path`: percent-decoded, UTF-8 with replacement.
    static func percentDecodedPath(_ raw: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(raw.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count, let v = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(v)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

/// The fixture written by Fixtures/make_expected.py from the real reference.
enum Fixture {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/expected.json")
    nonisolated(unsafe) static let root: [String: Any] = {
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func cases(_ key: String) -> [[String: Any]] { root[key] as! [[String: Any]] }

    static func base64(_ value: Any?) -> [UInt8] {
        guard let text = value as? String else { return [] }
        return Array(Data(base64Encoded: text)!)
    }

    static func pairs(_ value: Any?) -> [(String, String)] {
        (value as? [[String]] ?? []).map { ($0[0], $0[1]) }
    }
}

/// Texts of up to `maxPieces - 1` random `pieces` joined, from a fixed-seed LCG (Knuth's
/// MMIX constants): the same texts on every run.
struct RandomJoins {
    let pieces: [String]
    private var state: UInt64

    init(seed: UInt64, pieces: [String]) {
        self.pieces = pieces
        state = seed
    }

    mutating func index(below n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(n))
    }

    mutating func next(maxPieces: Int) -> String {
        (0..<index(below: maxPieces)).map { _ in pieces[index(below: pieces.count)] }.joined()
    }
}
