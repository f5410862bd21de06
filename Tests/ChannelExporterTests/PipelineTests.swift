import ChannelExporter
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
}
