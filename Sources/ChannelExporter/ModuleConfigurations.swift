import AMQPObserver
import ChannelMetrics
import HTTP1Observer
import PacketDecoding
import TCPReassembly

// Each module's own configuration, built from the exporter's.

extension MetricsConfiguration {
    init(_ c: ExporterConfiguration) throws {
        let partners: PartnerTable
        if let entries = c.partners {
            partners = PartnerTable(entries: entries.map { entry in
                var actions = [String: String]()
                for (path, action) in entry.actions where actions[path] == nil { actions[path] = action }
                return PartnerTable.Entry(hosts: entry.hosts, partner: entry.partner, actions: actions)
            })
        } else {
            partners = try PartnerTable.builtIn()
        }
        do {
            self.init(
                syscode: try Syscode(c.syscode),
                inboundPorts: Set(c.inbound.ports),
                skipPaths: c.inbound.skipPaths,
                skipStatuses: Set(c.inbound.skipStatuses),
                innerBuckets: try Buckets(milliseconds: c.buckets.inner),
                externalBuckets: try Buckets(milliseconds: c.buckets.external),
                consumerBuckets: try Buckets(milliseconds: c.buckets.consumer),
                partners: partners,
                maxSeriesPerFamily: c.limits.maxSeriesPerFamily,
                consumerTiming: c.amqp.timing == .serviceTime ? .serviceTime : .deliverToAnswer,
                maxLabelBytesPerFamily: c.limits.maxLabelBytesPerFamily)
        } catch {
            throw ExporterError("invalid configuration: \(error)")
        }
    }
}

extension HTTPObserverConfiguration {
    init(_ c: ExporterConfiguration) {
        self.init(
            requestBodyPrefixLimit: c.limits.bodyPrefixBytes,
            responseBodyPrefixLimit: c.limits.bodyPrefixBytes,
            maxInflatedBytes: c.limits.bodyPrefixBytes,
            maxPendingRequests: c.limits.maxPendingRequests,
            maxKeptBytesTotal: c.limits.maxHTTPKeptBytesTotal)
    }
}

extension AMQPObserverConfiguration {
    init(_ c: ExporterConfiguration) {
        self.init(
            consumerConcurrency: c.amqp.consumerConcurrency, maxOutstandingTotal: c.limits.maxAMQPOutstandingDeliveries,
            maxBufferedMethodBytesTotal: c.limits.maxAMQPSplitFrameBytesTotal, maxKeptBytesTotal: c.limits.maxAMQPKeptBytesTotal)
    }
}

extension ReassemblyConfiguration {
    init(_ c: ExporterConfiguration) {
        self.init(
            serverPorts: Set(c.inbound.ports).union(c.amqp.ports),
            idleTimeout: .nanoseconds(Int64(c.limits.idleTimeoutSeconds * 1e9)),
            maxConnections: c.limits.maxConnections,
            maxBufferedBytesPerConnection: c.limits.maxBufferedBytesPerConnection,
            maxBufferedBytesTotal: c.limits.maxBufferedBytesTotal)
        maxNATCandidates = c.limits.maxNATCandidates
    }
}

extension FragmentLimits {
    init(_ c: ExporterConfiguration) {
        self.init(maxDatagrams: c.limits.maxFragmentedDatagrams, maxBytes: c.limits.maxFragmentBytesTotal)
    }
}

extension TunnelSettings {
    init(_ c: ExporterConfiguration) {
        self.init(isEnabled: c.tunnels.decapsulate, vxlanPorts: c.tunnels.vxlanPorts, genevePorts: c.tunnels.genevePorts)
    }
}
