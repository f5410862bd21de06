import ChannelExporter
import Foundation
import HTTP1Observer
import PacketCapture
import PacketDecoding
import TCPReassembly
import Testing

/// Every intact real-traffic fixture (captures/manifest.tsv, made by
/// captures/scripts/make-http-fixtures.sh) against tshark 4.0's view of it:
/// the bytes reassembled per connection and direction (`follow,tcp,raw`), and
/// the (connection, method, URI, status) exchanges it pairs.
@Suite struct TsharkCrossCheckTests {
    struct ManifestRow: CustomStringConvertible {
        var fixture: String
        var streamsAuthoritative: Bool
        var httpAuthoritative: Bool
        var description: String { fixture }
    }

    static let manifest: [ManifestRow] = {
        guard let text = try? String(contentsOfFile: Fixtures.path("manifest.tsv"), encoding: .utf8) else { return [] }
        var rows = [ManifestRow]()
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) else { return [] }
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            func col(_ name: String) -> String { header.firstIndex(of: name).flatMap { $0 < f.count ? f[$0] : nil } ?? "" }
            rows.append(ManifestRow(fixture: col("fixture"), streamsAuthoritative: col("tshark_streams_authoritative") == "yes",
                                    httpAuthoritative: col("tshark_http_authoritative") == "yes"))
        }
        return rows
    }()

    static var streamFixtures: [ManifestRow] { manifest.filter(\.streamsAuthoritative) }
    static var httpFixtures: [ManifestRow] { manifest.filter(\.httpAuthoritative) }

    @Test func theManifestListsFixtures() {
        #expect(Self.manifest.count >= 20, "captures/manifest.tsv is missing or short")
    }

    // MARK: Reassembled bytes

    final class Collector: StreamConsumerFactory, StreamConsumer {
        final class Stream: StreamConsumer {
            let info: ConnectionInfo
            var bytes: [[UInt8]] = [[], []]
            var gaps = 0
            init(info: ConnectionInfo) { self.info = info }
            func streamData(_ b: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
                bytes[Int(direction.rawValue)].append(contentsOf: b)
            }
            func streamGap(length: Int, direction: StreamDirection, time: Timestamp) { gaps += 1 }
            func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {}
        }
        var streams = [Stream]()
        func makeConsumer(for connection: ConnectionInfo) -> (any StreamConsumer)? {
            let s = Stream(info: connection)
            streams.append(s)
            return s
        }
        func streamData(_ b: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {}
        func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {}
        func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {}
    }

    struct ExpectedStreams: Decodable {
        struct Direction: Decodable { var bytes: Int; var sha256: String }
        struct Connection: Decodable {
            var stream: Int
            var client: String
            var server: String
            var client_to_server: Direction
            var server_to_client: Direction
        }
        var connections: [Connection]
    }

    static func expectedFile(_ fixture: String, _ suffix: String) -> String {
        var base = fixture
        if let dot = base.lastIndex(of: ".") { base = String(base[..<dot]) }
        return Fixtures.path(base + suffix)
    }

    @Test(arguments: streamFixtures)
    func reassembledBytesEqualTsharkFollow(_ row: ManifestRow) throws {
        let expected = try JSONDecoder().decode(
            ExpectedStreams.self, from: Data(contentsOf: URL(fileURLWithPath: Self.expectedFile(row.fixture, ".streams.json"))))
        let collector = Collector()
        var decoder = PacketDecoder()
        let reassembler = TCPReassembler(configuration: ReassemblyConfiguration(), factory: collector)
        var last = Timestamp.zero
        _ = try PacketSource.files([Fixtures.path(row.fixture)]).run { packet in
            last = packet.timestamp
            if let segment = decoder.decode(packet.bytes, originalLength: packet.originalLength, linkType: packet.linkType, timestamp: packet.timestamp) {
                reassembler.process(segment)
            }
        }
        reassembler.finish(at: last)
        let ours = collector.streams.filter { !$0.bytes[0].isEmpty || !$0.bytes[1].isEmpty }
        let theirs = expected.connections.filter { $0.client_to_server.bytes > 0 || $0.server_to_client.bytes > 0 }
        #expect(ours.count == theirs.count, "connections with data: ours \(ours.count), tshark \(theirs.count)")
        for (o, t) in zip(ours, theirs) {
            // Without a SYN or a configured port the reassembler can only guess roles (first
            // sender = client; the HTTP observer corrects them by content): then compare each
            // direction by the endpoint that sent it.
            var (client, toServer, toClient) = ("\(o.info.client)", o.bytes[0], o.bytes[1])
            if o.info.roleSource == .firstSender && client == t.server {
                (client, toServer, toClient) = ("\(o.info.server)", o.bytes[1], o.bytes[0])
            } else {
                #expect("\(o.info.server)" == t.server, "stream \(t.stream): server endpoint")
            }
            #expect(client == t.client, "stream \(t.stream): client endpoint")
            #expect(toServer.count == t.client_to_server.bytes, "stream \(t.stream) client→server length")
            #expect(toClient.count == t.server_to_client.bytes, "stream \(t.stream) server→client length")
            #expect(SHA256.hex(toServer) == t.client_to_server.sha256, "stream \(t.stream) client→server bytes")
            #expect(SHA256.hex(toClient) == t.server_to_client.sha256, "stream \(t.stream) server→client bytes")
            #expect(o.gaps == 0)
        }
    }

    // MARK: HTTP pairs

    struct ExpectedHTTP: Decodable {
        struct Exchange: Decodable {
            var stream: Int
            var client: String
            var server: String
            var method: String?
            var uri: String?
            var status: Int?
        }
        var exchanges: [Exchange]
    }

    final class ExchangeCollector: HTTPExchangeSink {
        var exchanges = [HTTPExchange]()
        func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
    }

    @Test(arguments: httpFixtures)
    func exchangesEqualTsharkPairs(_ row: ManifestRow) throws {
        let expected = try JSONDecoder().decode(
            ExpectedHTTP.self, from: Data(contentsOf: URL(fileURLWithPath: Self.expectedFile(row.fixture, ".http.json"))))
        let sink = ExchangeCollector()
        let pipeline = try Pipeline(configuration: ExporterConfiguration(syscode: "A123010101"), exchangeLog: sink)
        _ = try ReplayRunner.run(files: [Fixtures.path(row.fixture)], pipeline: pipeline)
        // One line per exchange, grouped by connection in order (tshark's stream order is first-packet order).
        func key(_ client: String, _ server: String, _ method: String?, _ uri: String?, _ status: Int?) -> String {
            "\(client) > \(server) \(method ?? "-") \(uri ?? "-") \(status.map(String.init) ?? "no-response")"
        }
        let theirs = expected.exchanges.filter { $0.method != nil }.map { key($0.client, $0.server, $0.method, $0.uri, $0.status) }
        let ours = sink.exchanges.filter { $0.request != nil }
            .sorted { ($0.connection.id, $0.requestFirstByte ?? .zero) < ($1.connection.id, $1.requestFirstByte ?? .zero) }
            .map { key("\($0.client)", "\($0.server)", $0.request?.method, $0.request?.target, $0.response?.status) }
        let theirsByConnection = Dictionary(grouping: theirs, by: { $0.components(separatedBy: " ").prefix(3).joined(separator: " ") })
        let oursByConnection = Dictionary(grouping: ours, by: { $0.components(separatedBy: " ").prefix(3).joined(separator: " ") })
        #expect(ours.count == theirs.count, "exchanges: ours \(ours.count), tshark \(theirs.count)")
        #expect(oursByConnection == theirsByConnection, "\nours:\n\(ours.joined(separator: "\n"))\ntshark:\n\(theirs.joined(separator: "\n"))")
    }
}
