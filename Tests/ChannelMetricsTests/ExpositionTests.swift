import ChannelMetrics
import Foundation
import HTTP1Observer
import PacketDecoding
import Testing

/// Exact exposition text, bucket placement, the series cap and promtool.
@Suite struct ExpositionTests {
    static func metrics(maxSeries: Int = 10_000, innerBuckets: [Double] = [100, 200]) -> ChannelMetrics {
        var configuration = Make.configuration(maxSeries: maxSeries)
        configuration.innerBuckets = try! Buckets(milliseconds: innerBuckets)
        configuration.externalBuckets = try! Buckets(milliseconds: [100])
        configuration.consumerBuckets = try! Buckets(milliseconds: [1000])
        return ChannelMetrics(configuration: configuration)
    }

    static func inbound(path: String = "/api", userAgent: String = "ua", micros: Int64) -> HTTPExchange {
        Make.exchange(
            serverPort: 8080, request: Make.request(target: path, headers: [("User-Agent", userAgent)]),
            response: Make.response(body: "{\"code\": 0}".bytes), micros: micros)
    }

    /// A large exposition is handed over in pieces of about the writer's piece size (a series' lines
    /// more at most), so a server can copy them one at a time and let each go; together they are
    /// the exposition written whole, in both formats.
    @Test func aLargeExpositionComesInPieces() {
        let metrics = Self.metrics()
        for n in 0..<300 {
            metrics.observe(Self.inbound(path: "/api/item/\(n)/" + String(repeating: "p", count: 200), micros: Int64(n) * 1000))
        }
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            let whole = metrics.render(format)
            var writer = ExpositionWriter(format: format, pieceBytes: 4096)
            metrics.write(to: &writer)
            let pieces = writer.finishPieces()
            #expect(pieces.count > whole.utf8.count / 8192)
            #expect(pieces.joined() == whole)
            #expect(pieces.allSatisfy { $0.utf8.count < 4096 + 2048 })
            var again = ExpositionWriter(format: format, pieceBytes: 4096)
            metrics.write(to: &again)
            #expect(again.finish() == whole)
        }
    }

    @Test func emptyFamiliesStillHaveHelpAndType() {
        let text = Self.metrics().render(.prometheusText)
        #expect(text == """
            # HELP A123010101_inner_metrics ...
            # TYPE A123010101_inner_metrics histogram
            # HELP partner_http_metrics ...
            # TYPE partner_http_metrics histogram
            # HELP external_calls_total Total number of external calls
            # TYPE external_calls_total counter
            # HELP external_call_duration_seconds Duration of external calls in seconds
            # TYPE external_call_duration_seconds histogram
            # HELP A123010101_consumer_metrics ...
            # TYPE A123010101_consumer_metrics histogram

            """)
    }

    /// `le` is inclusive: an observation equal to a bound goes in that bucket.
    @Test func bucketPlacementAtBoundaries() {
        let metrics = Self.metrics()
        for micros: Int64 in [100_000, 100_001, 200_000, 200_001, 0] {
            metrics.observe(Self.inbound(micros: micros))
        }
        let series = metrics.snapshot()[0].series
        #expect(series.count == 1)
        #expect(series[0].cumulativeBuckets == [2, 4, 5])
        #expect(series[0].count == 5)
        #expect(series[0].sum == 100 + 100.001 + 200 + 200.001 + 0)
    }

    @Test func histogramAndCounterTextBothFormats() {
        let metrics = Self.metrics()
        metrics.observe(Self.inbound(path: "/a\"b\\c\nd", userAgent: "x", micros: 150_000))
        let outgoing = Make.exchange(
            serverPort: 443, request: Make.request(host: "b123456789.svc"), response: Make.response(body: "{\"code\": 0}".bytes),
            micros: 50_000)
        metrics.observe(outgoing)
        metrics.observe(outgoing)
        metrics.observe(Make.outcome(queue: "q1", answer: .nack(requeue: true), deliver: 0, start: 500_000_000, end: 1_500_000_000))
        let inner = """
            A123010101_inner_metrics_bucket{appid="A123",application="A123010101",code="0",f_code="x",http_status="200",le="100.0",method_code="",path="/a\\"b\\\\c\\nd",uri="/a\\"b\\\\c\\nd"} 0.0
            A123010101_inner_metrics_bucket{appid="A123",application="A123010101",code="0",f_code="x",http_status="200",le="200.0",method_code="",path="/a\\"b\\\\c\\nd",uri="/a\\"b\\\\c\\nd"} 1.0
            A123010101_inner_metrics_bucket{appid="A123",application="A123010101",code="0",f_code="x",http_status="200",le="+Inf",method_code="",path="/a\\"b\\\\c\\nd",uri="/a\\"b\\\\c\\nd"} 1.0
            A123010101_inner_metrics_count{appid="A123",application="A123010101",code="0",f_code="x",http_status="200",method_code="",path="/a\\"b\\\\c\\nd",uri="/a\\"b\\\\c\\nd"} 1.0
            A123010101_inner_metrics_sum{appid="A123",application="A123010101",code="0",f_code="x",http_status="200",method_code="",path="/a\\"b\\\\c\\nd",uri="/a\\"b\\\\c\\nd"} 150.0

            """
        let external = """
            external_calls_total{appid="A123",application="A123010101",call_type="http",method_code="",status="success",tcode="B123456789"} 2.0

            """
        let duration = """
            external_call_duration_seconds_bucket{appid="A123",application="A123010101",call_type="http",le="0.1",method_code="",status="success",tcode="B123456789"} 2.0
            external_call_duration_seconds_bucket{appid="A123",application="A123010101",call_type="http",le="+Inf",method_code="",status="success",tcode="B123456789"} 2.0
            external_call_duration_seconds_count{appid="A123",application="A123010101",call_type="http",method_code="",status="success",tcode="B123456789"} 2.0
            external_call_duration_seconds_sum{appid="A123",application="A123010101",call_type="http",method_code="",status="success",tcode="B123456789"} 0.1

            """
        let consumer = """
            A123010101_consumer_metrics_bucket{appid="A123",application="A123010101",code="1",f_code="",le="1000.0",topic="q1"} 1.0
            A123010101_consumer_metrics_bucket{appid="A123",application="A123010101",code="1",f_code="",le="+Inf",topic="q1"} 1.0
            A123010101_consumer_metrics_count{appid="A123",application="A123010101",code="1",f_code="",topic="q1"} 1.0
            A123010101_consumer_metrics_sum{appid="A123",application="A123010101",code="1",f_code="",topic="q1"} 1000.0

            """
        #expect(metrics.render(.prometheusText) == """
            # HELP A123010101_inner_metrics ...
            # TYPE A123010101_inner_metrics histogram
            \(inner)# HELP partner_http_metrics ...
            # TYPE partner_http_metrics histogram
            # HELP external_calls_total Total number of external calls
            # TYPE external_calls_total counter
            \(external)# HELP external_call_duration_seconds Duration of external calls in seconds
            # TYPE external_call_duration_seconds histogram
            \(duration)# HELP A123010101_consumer_metrics ...
            # TYPE A123010101_consumer_metrics histogram
            \(consumer)
            """)
        #expect(metrics.render(.openMetrics) == """
            # HELP A123010101_inner_metrics ...
            # TYPE A123010101_inner_metrics histogram
            \(inner)# HELP partner_http_metrics ...
            # TYPE partner_http_metrics histogram
            # HELP external_calls Total number of external calls
            # TYPE external_calls counter
            \(external)# HELP external_call_duration_seconds Duration of external calls in seconds
            # TYPE external_call_duration_seconds histogram
            \(duration)# HELP A123010101_consumer_metrics ...
            # TYPE A123010101_consumer_metrics histogram
            \(consumer)# EOF

            """)
    }

    @Test func seriesCapRefusesNewLabelSetsAndCountsThem() {
        let metrics = Self.metrics(maxSeries: 3)
        for i in 0..<10 { metrics.observe(Self.inbound(path: "/scan/\(i)", micros: 1000)) }
        metrics.observe(Self.inbound(path: "/scan/1", micros: 1000))  // an existing series still counts
        let inner = metrics.snapshot()[0]
        #expect(inner.series.map { $0.labels["path"]! } == ["/scan/0", "/scan/1", "/scan/2"])
        #expect(inner.series.map(\.count) == [1, 2, 1])
        let statistics = metrics.statistics()
        #expect(statistics.seriesRefused["A123010101_inner_metrics"] == 7)
        #expect(statistics.series["A123010101_inner_metrics"] == 3)
        #expect(statistics.recorded[.inbound] == 4)
        var writer = ExpositionWriter(format: .prometheusText)
        metrics.writeSelfMetrics(to: &writer)
        #expect(writer.finish().contains("channel_exporter_series_refused_total{family=\"A123010101_inner_metrics\"} 7.0\n"))
    }

    /// New label sets whose rendered labels would pass the family's byte cap are refused as at the
    /// series cap (each line of a series repeats its labels: without it, 10,000 series of 2 KB paths
    /// made a 1 GB exposition); short ones still fit after a long one is refused.
    @Test func labelBytesCapRefusesNewLabelSetsAndCountsThem() {
        var configuration = Make.configuration()
        configuration.maxLabelBytesPerFamily = 2000
        let metrics = ChannelMetrics(configuration: configuration)
        let long = "/scan/" + String(repeating: "x", count: 600)
        for i in 0..<5 { metrics.observe(Self.inbound(path: long + "\(i)", micros: 1000)) }
        metrics.observe(Self.inbound(path: "/short", micros: 1000))
        metrics.observe(Self.inbound(path: long + "0", micros: 1000))  // an existing series still counts
        let inner = metrics.snapshot()[0]
        // Each long series renders its path twice (`path` and `uri`): about 1,350 bytes; one fits.
        #expect(inner.series.map { $0.labels["path"]! } == [long + "0", "/short"])
        #expect(inner.series.map(\.count) == [2, 1])
        #expect(metrics.statistics().seriesRefused["A123010101_inner_metrics"] == 4)
    }

    @Test func skippedExchangesAreCountedByReason() {
        let metrics = Self.metrics()
        let ok = Make.response(body: "{}".bytes)
        metrics.observe(Make.exchange(serverPort: 8080, request: nil, response: ok))
        metrics.observe(Make.exchange(serverPort: 8080, request: Make.request(), response: nil))
        metrics.observe(Make.exchange(serverPort: 8080, request: Make.request(target: "/healthcheck"), response: ok))
        metrics.observe(Make.exchange(serverPort: 8080, request: Make.request(target: "/metrics?x=1"), response: ok))
        metrics.observe(Make.exchange(serverPort: 8080, request: Make.request(), response: Make.response(status: 404, body: [])))
        metrics.observe(Make.outcome(queue: nil, answer: .ack, deliver: 0, start: 0, end: 1))
        let skipped = metrics.statistics().skipped
        #expect(skipped == [.noRequest: 1, .noResponse: 1, .skippedPath: 2, .skippedStatus: 1, .consumerWithoutQueue: 1])
        #expect(metrics.snapshot().allSatisfy { $0.series.isEmpty })
    }

    /// DESIGN "Latency": an outgoing call that opened its connection is timed from the SYN.
    @Test func outgoingDurationFromSynWhenTheCallOpenedTheConnection() {
        let metrics = Self.metrics()
        var exchange = Make.exchange(
            serverPort: 80, request: Make.request(host: "x"), response: Make.response(body: []), micros: 20_000)
        exchange.connection.synTime = Timestamp(nanoseconds: exchange.requestFirstByte!.nanoseconds - 5_000_000)
        metrics.observe(exchange)  // not first on its connection: from the request's first byte
        exchange.isFirstOnConnection = true
        metrics.observe(exchange)  // first: from the SYN
        let duration = metrics.snapshot()[3].series[0]
        #expect(duration.sum == 0.02 + 0.025)
    }

    /// A connection's first request sent long after the handshake did not open it (a pool opened it
    /// ahead, as Go's Transport does): timed from the request's first byte. Within the limit of the
    /// handshake's last ACK, from the SYN.
    @Test func outgoingDurationFromTheRequestWhenTheConnectionWaitedForIt() {
        let metrics = Self.metrics()
        var exchange = Make.exchange(
            serverPort: 80, request: Make.request(host: "x"), response: Make.response(body: []), micros: 20_000)
        let first = exchange.requestFirstByte!.nanoseconds
        exchange.isFirstOnConnection = true
        exchange.connection.synTime = Timestamp(nanoseconds: first - 3_000_000_000)
        exchange.connection.handshakeEnd = Timestamp(nanoseconds: first - 2_999_000_000)
        metrics.observe(exchange)  // 3 s idle in a pool: 20 ms
        exchange.connection.synTime = Timestamp(nanoseconds: first - 40_000_000)
        exchange.connection.handshakeEnd = Timestamp(nanoseconds: first - 30_000_000)
        metrics.observe(exchange)  // written 30 ms after the handshake: 60 ms, from the SYN
        let duration = metrics.snapshot()[3].series[0]
        #expect(duration.count == 2)
        #expect(abs(duration.sum - (0.02 + 0.06)) < 1e-9)
    }

    @Test func consumerTimingChoices() {
        var configuration = Make.configuration()
        configuration.consumerTiming = .deliverToAnswer
        let deliver = ChannelMetrics(configuration: configuration)
        let service = ChannelMetrics(configuration: Make.configuration())
        let outcome = Make.outcome(queue: "q", answer: .ack, deliver: 0, start: 300_000_000, end: 500_000_000)
        deliver.observe(outcome)
        service.observe(outcome)
        #expect(deliver.snapshot()[4].series[0].sum == 500)
        #expect(service.snapshot()[4].series[0].sum == 200)
        #expect(service.snapshot()[4].series[0].labels == ["appid": "A123", "application": "A123010101", "f_code": "", "topic": "q", "code": "0"])
    }

    /// Scrapes while observing from another thread: every scrape is a consistent snapshot.
    @Test func renderWhileObserving() async {
        let metrics = Self.metrics()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<2000 { metrics.observe(Self.inbound(path: "/p\(i % 50)", micros: 1000)) }
            }
            group.addTask {
                for _ in 0..<50 { _ = metrics.render(.prometheusText) }
            }
        }
        #expect(metrics.snapshot()[0].series.reduce(0) { $0 + $1.count } == 2000)
    }

    @Test func exposeIsCleanUnderPromtool() throws {
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let promtool else {
            print("SKIPPED exposeIsCleanUnderPromtool: promtool not installed")
            return
        }
        let metrics = Self.metrics()
        metrics.observe(Self.inbound(path: "/a\"b\\c\nd", userAgent: "caf\u{e9}", micros: 150_000))
        metrics.observe(Make.exchange(
            serverPort: 80, request: Make.request(target: "/youtu/api/facecompare", host: "d002.youtu.realname.dzqd.cn:38087"),
            response: Make.response(body: "{\"errorcode\": \"E\"}".bytes)))
        metrics.observe(Make.outcome(queue: "q", answer: .ack, deliver: 0, start: 0, end: 1_000_000))
        var writer = ExpositionWriter(format: .prometheusText)
        metrics.write(to: &writer)
        metrics.writeSelfMetrics(to: &writer)
        let text = writer.finish()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(report)")
        #expect(report.isEmpty, "promtool: \(report)")
    }
}

@Suite struct LabelLengthTests {
    @Test func longLabelValuesAreCutAtACharacterBoundaryAndCounted() {
        var configuration = Make.configuration()
        configuration.maxLabelValueBytes = 10
        let metrics = ChannelMetrics(configuration: configuration)
        let path = "/" + String(repeating: "é", count: 20)  // 1 + 40 bytes
        metrics.observe(Make.exchange(serverPort: 8080, request: Make.request(target: path), response: Make.response(body: "{}".bytes)))
        let labels = metrics.snapshot()[0].series[0].labels
        #expect(labels["path"] == "/éééé")  // 9 bytes: the 5th é would end at byte 11
        #expect(labels["uri"] == "/éééé")
        #expect(metrics.statistics().labelValuesTruncated == 2)
    }

    /// `appid` and `application` are kept once per family: cut and counted all the same.
    @Test func theSyscodeLabelsAreCutAndCountedWithEveryObservation() {
        var configuration = Make.configuration()
        configuration.maxLabelValueBytes = 3
        let metrics = ChannelMetrics(configuration: configuration)
        let exchange = Make.exchange(serverPort: 8080, request: Make.request(target: "/a"), response: Make.response(body: "{}".bytes))
        metrics.observe(exchange)
        metrics.observe(exchange)
        let labels = metrics.snapshot()[0].series[0].labels
        #expect(labels["appid"] == String(configuration.syscode.appid.prefix(3)))
        #expect(labels["application"] == String(configuration.syscode.value.prefix(3)))
        #expect(labels["http_status"] == "200")
        // Per observation: appid, application and f_code ("None" is 4 bytes).
        #expect(metrics.statistics().labelValuesTruncated == 6)
    }
}

/// The writer the self-metrics use.
@Suite struct ExpositionWriterTests {
    @Test func helpersInBothFormats() {
        for format in [ExpositionFormat.prometheusText, .openMetrics] {
            var writer = ExpositionWriter(format: format)
            writer.counter(name: "channel_exporter_packets", help: "Packets seen\nby \\ source", samples: [
                (labels: [("source", "eth0"), ("kind", "a\"b")], value: 3), (labels: [], value: 1_234_567),
            ])
            writer.gauge(name: "channel_exporter_flows", help: "Active flows", samples: [(labels: [], value: 0.5)])
            writer.header(name: "channel_exporter_latency_seconds", help: "h", type: .histogram)
            writer.histogramSeries(
                name: "channel_exporter_latency_seconds", labels: [("z", "1")], bounds: [0.1, 1e6], bucketCounts: [1, 2, 3], sum: 4.25)
            let counterName = format == .prometheusText ? "channel_exporter_packets_total" : "channel_exporter_packets"
            let help = format == .prometheusText ? "Packets seen\\nby \\\\ source" : "Packets seen\\nby \\\\ source"
            #expect(writer.finish() == """
                # HELP \(counterName) \(help)
                # TYPE \(counterName) counter
                channel_exporter_packets_total{kind="a\\"b",source="eth0"} 3.0
                channel_exporter_packets_total 1.234567e+06
                # HELP channel_exporter_flows Active flows
                # TYPE channel_exporter_flows gauge
                channel_exporter_flows 0.5
                # HELP channel_exporter_latency_seconds h
                # TYPE channel_exporter_latency_seconds histogram
                channel_exporter_latency_seconds_bucket{le="0.1",z="1"} 1.0
                channel_exporter_latency_seconds_bucket{le="1e+06",z="1"} 3.0
                channel_exporter_latency_seconds_bucket{le="+Inf",z="1"} 6.0
                channel_exporter_latency_seconds_count{z="1"} 6.0
                channel_exporter_latency_seconds_sum{z="1"} 4.25

                """ + (format == .openMetrics ? "# EOF\n" : ""))
        }
    }
}
