/// One pipeline's share of every bound over all connections, for a replay split over several pipelines.

import TLSDecryption

// What lets one connection's result depend on another's (the audit for a replay split by connection,
// docs/replay.md, "Several threads"), and what settles each:
// - Bounds over all connections (connections, out-of-order bytes, NAT candidates, HTTP and AMQP kept
//   bytes, AMQP deliveries and split frames, TLS ciphertext, metric series and label bytes): a share
//   each (`budgetShare`); one reached → redo with one pipeline.
// - The reassembler's sweeps: exact per connection, in opening order (`TCPReassembler.expireIdle`);
//   its activity list otherwise orders only eviction (a bound). Hole expiry: per connection.
// - NAT copies (`NATCopyDetector`): the copies of a connection hash to other pipelines, and its tables
//   are direct-mapped over all connections: `NATTableUse.splitMayDiffer` over every pipeline's
//   `TCPReassembler.natTableUses` (nil: redo) says where one reassembler could have decided otherwise.
// - TLS keys (`TLSKeyStore`): found by each connection's own client random, no session resumption or
//   ticket is followed; every pipeline is given every secret in the same order (key logs read at the
//   start; a Decryption Secrets Block to every pipeline at its packet). Only dropping a secret depends
//   on the others: for room (`maxKeys`, the same count everywhere) or for age, counted from the last
//   refresh, which any connection's ClientHello makes. Redo when a pipeline's
//   `TLSDecryptor.keyStatistics` shows one `evicted` or `expired`, or when secrets came after the first
//   packet and the packets span more than `TLSKeyStore.maxAge` (one pipeline could age them sooner).
//   Key logs that grow during a replay (polled as they grow) are a live capture's case: not exact.
// - HTTP: every parser and pairing state is per connection (a spare connection observer is reset
//   whole, `restart`); CONNECT tunnels stay within their connection. The shared memos (recent header
//   values, request targets and paths, response heads) recall only what parsing the same bytes gives
//   (`ResponseHeadMemo` compares every byte; `RecentValues` hands back equal strings): speed, not results.
// - AMQP: channels, consumers and deliveries are per connection; only the three budgets are shared.
// - The connection router: by ports, per connection; its TLS decryptor appears at the first Decryption
//   Secrets Block, a marker every pipeline gets at the same packet.
// - Connection ids: opening packet ordinals in a pipeline with an `EventOrder`, renumbered by the merge.

extension ExporterConfiguration {
    /// The configuration of a pipeline that reads `parts` of `total` parts of a replay's connections
    /// (`ShardSplit`): every bound over all connections `parts` × bound / `total`, rounded down (the
    /// shares' sum is at most the whole), every other setting as it is; nil when a bound is smaller
    /// than `total` (read such a replay with one pipeline).
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
    public func budgetShare(_ parts: Int, of total: Int) -> ExporterConfiguration? {
        precondition(parts >= 1 && parts <= total, "a share of the whole")
        var share = self
        func divide(_ bound: inout Int) -> Bool {
            guard bound >= total else { return false }
            // In two steps: a bound may be near `Int.max`.
            bound = bound / total * parts + bound % total * parts / total
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
