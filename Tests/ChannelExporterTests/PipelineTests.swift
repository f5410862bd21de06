import ChannelExporter
import HTTP1Observer
import Testing

@Suite struct PipelineTests {
    @Test func aReloadKeepsTheSeriesWhenTheMetricSettingsAreUnchanged() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [8080]
        let first = try Pipeline(configuration: config)
        config.limits.idleTimeoutSeconds = 60
        config.amqp.consumerConcurrency = 4
        let second = try Pipeline(configuration: config, replacing: first)
        #expect(second.metrics === first.metrics)

        config.buckets.inner = [1, 2, 3]
        let third = try Pipeline(configuration: config, replacing: second)
        #expect(third.metrics !== second.metrics)

        config.inbound.ports = [9090]
        #expect(try Pipeline(configuration: config, replacing: third).metrics !== third.metrics)
    }

    /// Without a log the metrics take the exchanges directly; with one, a fan-out hands each to both.
    /// Either way the metrics are the same, and the log gets every exchange the observer emitted.
    @Test func theMetricsAreTheSameWithOrWithoutAnExchangeLog() throws {
        var config = ExporterConfiguration(syscode: "A123010101")
        config.inbound.ports = [18080]
        let files = [Fixtures.path("http/rst-mid-transfer.pcap"), Fixtures.path("http/keepalive-curl.pcap")]
        let alone = try Pipeline(configuration: config)
        _ = try ReplayRunner.run(files: files, pipeline: alone)
        let log = TsharkCrossCheckTests.ExchangeCollector()
        let logged = try Pipeline(configuration: config, exchangeLog: log)
        let result = try ReplayRunner.run(files: files, pipeline: logged)

        let rendered = logged.metrics.render(.prometheusText)
        #expect(rendered.contains("/big.bin"))
        #expect(rendered == alone.metrics.render(.prometheusText))
        let http = result.statistics.http
        #expect(http.exchangesComplete > 1)
        #expect(log.exchanges.count
            == http.exchangesComplete + http.responsesIncomplete + http.responsesWithoutRequest
                + http.requestsWithoutResponse)
    }
}
