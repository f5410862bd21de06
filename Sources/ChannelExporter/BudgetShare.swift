/// One pipeline's share of every bound over all connections, for a replay split over several pipelines.

import TLSDecryption

extension ExporterConfiguration {
    /// The configuration of one of `workers` pipelines that each read some of a replay's connections:
    /// every bound over all connections divided among them (rounded down), every other setting as it
    /// is; nil when a bound is smaller than `workers` (read such a replay with one pipeline).
    ///
    /// Divided: the reassembler's connections, out-of-order bytes and NAT copy candidates, what the
    /// HTTP observer's connections keep, the AMQP observer's kept bytes, unanswered deliveries and
    /// split method frames, the TLS ciphertext held, and the metric families' series and label bytes.
    /// While no pipeline reaches its share (`TCPReassembler.statistics.globalBudgetHits`,
    /// `HTTPObserver.reachedGlobalBudget`, `AMQPObserver.reachedGlobalBudget`,
    /// `TLSDecryptor.reachedGlobalBudget`, and the metrics' own), the shares' sum, at most the whole,
    /// is not reached either: one pipeline would have held nothing back. Not divided: the limits of one
    /// connection or exchange (the same in both), the idle timeout, IP fragments (reassembled once,
    /// before the split), and the TLS key store (every pipeline is given every secret, in the same
    /// order, so each drops the same ones as one would; see `TLSKeyStore`).
    public func budgetShare(of workers: Int) -> ExporterConfiguration? {
        precondition(workers >= 1, "at least one pipeline")
        var share = self
        func divide(_ bound: inout Int) -> Bool {
            guard bound >= workers else { return false }
            bound /= workers
            return true
        }
        guard divide(&share.limits.maxConnections), divide(&share.limits.maxBufferedBytesTotal),
            divide(&share.limits.maxNATCandidates), divide(&share.limits.maxHTTPKeptBytesTotal),
            divide(&share.limits.maxAMQPKeptBytesTotal), divide(&share.limits.maxAMQPOutstandingDeliveries),
            divide(&share.limits.maxAMQPSplitFrameBytesTotal), divide(&share.limits.maxSeriesPerFamily),
            divide(&share.limits.maxLabelBytesPerFamily), divide(&share.tls.maxBufferedBytesTotal)
        else { return nil }
        return share
    }
}

extension TLSDecryptionLimits {
    init(_ settings: ExporterConfiguration.TLS) {
        self.init(maxBufferedBytesTotal: settings.maxBufferedBytesTotal)
    }
}
