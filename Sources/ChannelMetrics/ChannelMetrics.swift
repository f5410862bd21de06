// Turns HTTP exchanges and consumer outcomes into the reference's five metric families.

import AMQPObserver
import HTTP1Observer
import PacketDecoding
import Synchronization
import TCPReassembly

/// The reference's metric families, fed from the wire (REFERENCE-BEHAVIOUR §2–§5):
/// `<SYSCODE>_inner_metrics`, `partner_http_metrics`, `external_calls_total`,
/// `external_call_duration_seconds` and `<SYSCODE>_consumer_metrics`.
///
/// Thread safety: observations and `render` take one `Mutex`; `render` only copies
/// the families (copy-on-write arrays) under it and formats outside, so a scrape
/// never holds the pipeline for long.
///
/// Where the wire cannot show what the reference reads (each checked by running it,
/// see Tests/ChannelMetricsTests/Fixtures/make_expected.py):
/// - A query written in the URL and requests' `params=` are the same bytes on the
///   wire; the reference searches only `params=` for `method_code`, we search the query.
/// - requests lower-cases the host before sending, so an upper-case URL host that the
///   reference fails to find in the partner table arrives lower-case and matches here.
/// - A request body counts as the reference's `json=` when its Content-Type is JSON and
///   as `data=` fields when it is a form (a pre-serialised `data=` string is not
///   searched by the reference; we cannot tell it apart).
/// - JSON nested deeper than `maxJSONDepth` (512): the reference raises RecursionError
///   (its FuzzyGet at ~330 nested arrays or ~500 objects, json.loads at ~1000) and
///   records nothing; we record `code` `-1` and count `BodyCodeOutcome.tooDeep`.
/// - Only a bounded body prefix is kept: a truncated body that does not parse gives
///   `-1` (counted `truncated`) where the reference saw the whole body.
/// - A response with neither a charset nor a UTF-8/16/32 body: requests guesses with
///   charset_normalizer; we decode UTF-8 with replacement.
/// - HEAD responses have no body on the wire (`code` `-1`); each redirect hop is its own
///   exchange; a call without a `Host` gets `tcode` `""` (the reference would fail).
public final class ChannelMetrics: HTTPExchangeSink, ConsumerOutcomeSink, Sendable {
    public let configuration: MetricsConfiguration
    private let rules: LabelRules
    private let inboundSkips: InboundSkipRules
    private let inboundPorts: PortSet
    /// How many of the constant labels (`appid`, `application`) are longer than
    /// `maxLabelValueBytes`: they are stored cut, and counted with every observation.
    private let constantLabelsCut: UInt64
    /// Internal, not private: `merged(_:configuration:)` fills a new one.
    let state: Mutex<State>
    /// The codes of response bodies met again; `remembersBodyCodes` false: every body is read (tests).
    private let recentBodyCodes = Mutex(RecentBodyCodes())
    private let remembersBodyCodes: Bool
    /// The counters of the metrics this one replaced (a reload with other metric settings): the
    /// self-metrics' counters go on from them.
    private let countedBefore: ChannelMetricsStatistics?
    /// Set by a pipeline that reads some of a replay's connections (`merged(_:configuration:)`
    /// puts its series back in one pipeline's order): each observation takes the next key, and a new
    /// series keeps its first. Set before the first observation; read only on the pipeline's thread.
    nonisolated(unsafe) public var order: EventOrder?

    struct State: Sendable {
        var inner: HistogramFamily
        var partner: HistogramFamily
        var externalCalls: CounterFamily
        var externalDuration: HistogramFamily
        var consumer: HistogramFamily
        var statistics = ChannelMetricsStatistics()
        var recorded = CaseCounts<ChannelMetricsStatistics.Recorded>()
        var skipped = CaseCounts<ChannelMetricsStatistics.Skipped>()
        var bodyCodes = CaseCounts<BodyCodeOutcome>()
        /// The label values of the observation being recorded (those after `appid` and
        /// `application`), one scratch per label set, kept between observations.
        var innerLabels = LabelScratch(count: 6)
        var partnerLabels = LabelScratch(count: 4)
        var externalLabels = LabelScratch(count: 4)
        var consumerLabels = LabelScratch(count: 3)
        /// The inner series of recent inbound inputs (the usual observation's lookup).
        var recentInner = RecentInboundSeries()
    }

    public convenience init(configuration: MetricsConfiguration) {
        self.init(configuration: configuration, remembersBodyCodes: true)
    }

    /// New families, whose `statistics()` counters go on from `previous`'s (a reload that changed
    /// the metric settings: `channel_exporter_observations` and the others must not go back).
    public convenience init(configuration: MetricsConfiguration, countingOnFrom previous: ChannelMetrics?) {
        self.init(configuration: configuration, remembersBodyCodes: true, countedBefore: previous?.statistics())
    }

    /// `remembersBodyCodes`: false reads every body (tests compare both ways).
    init(configuration: MetricsConfiguration, remembersBodyCodes: Bool, countedBefore: ChannelMetricsStatistics? = nil) {
        self.configuration = configuration
        self.remembersBodyCodes = remembersBodyCodes
        self.countedBefore = countedBefore
        rules = LabelRules(maxJSONDepth: configuration.maxJSONDepth)
        inboundSkips = InboundSkipRules(statuses: configuration.skipStatuses, paths: configuration.skipPaths)
        inboundPorts = PortSet(configuration.inboundPorts)
        let syscode = configuration.syscode.value
        let cap = configuration.maxSeriesPerFamily
        let labelBytes = configuration.maxLabelBytesPerFamily
        // Every family starts with `appid` and `application`, the same in every series.
        var constant = [configuration.syscode.appid, syscode]
        var cut: UInt64 = 0
        for i in constant.indices { constant[i] = Self.cut(constant[i], toBytes: configuration.maxLabelValueBytes, counting: &cut) }
        constantLabelsCut = cut
        let externalLabels = ["appid", "application", "call_type", "tcode", "method_code", "status"]
        state = Mutex(State(
            inner: HistogramFamily(
                name: syscode + "_inner_metrics", help: "...",
                labelNames: ["appid", "application", "f_code", "path", "uri", "http_status", "code", "method_code"],
                constantValues: constant, bounds: configuration.innerBuckets.milliseconds, maxSeries: cap, maxLabelBytes: labelBytes),
            partner: HistogramFamily(
                name: "partner_http_metrics", help: "...",
                labelNames: ["appid", "application", "partner", "action_code", "http_status", "code"],
                constantValues: constant, bounds: configuration.externalBuckets.milliseconds, maxSeries: cap, maxLabelBytes: labelBytes),
            externalCalls: CounterFamily(
                name: "external_calls", help: "Total number of external calls", labelNames: externalLabels,
                constantValues: constant, maxSeries: cap, maxLabelBytes: labelBytes),
            externalDuration: HistogramFamily(
                name: "external_call_duration_seconds", help: "Duration of external calls in seconds",
                labelNames: externalLabels, constantValues: constant, bounds: configuration.externalBuckets.seconds,
                unit: .seconds, maxSeries: cap, maxLabelBytes: labelBytes),
            consumer: HistogramFamily(
                name: syscode + "_consumer_metrics", help: "...",
                labelNames: ["appid", "application", "f_code", "topic", "code"],
                constantValues: constant, bounds: configuration.consumerBuckets.milliseconds, maxSeries: cap, maxLabelBytes: labelBytes)
        ))
    }

    // MARK: HTTP

    public func observe(_ exchange: HTTPExchange) {
        observe(exchange, lentBody: nil)
    }

    /// The response body is read where it lies (see `HTTPExchangeSink`), not copied.
    public func observe(_ exchange: HTTPExchange, responseBody: UnsafeRawBufferPointer) {
        observe(exchange, lentBody: responseBody)
    }

    @inline(__always)
    private func observe(_ exchange: HTTPExchange, lentBody: UnsafeRawBufferPointer?) {
        guard let request = exchange.request else { return skip(.noRequest) }
        guard let response = exchange.response else { return skip(.noResponse) }
        // The length first: a small string's count is in its bits, where `==` on every exchange's
        // method went through the standard library's comparison (22 instructions an exchange).
        if request.method.utf8.count == 7, request.method == "CONNECT" { return skip(.tunnel) }
        if inboundPorts.contains(exchange.server.port) {
            observeInbound(exchange, request, response, lentBody: lentBody)
        } else {
            observeOutgoing(exchange, request, response, lentBody: lentBody)
        }
    }

    /// §2: the service's own API. Duration: first response byte − last request byte.
    private func observeInbound(
        _ exchange: HTTPExchange, _ request: HTTPRequestSummary, _ response: HTTPResponseSummary,
        lentBody: UnsafeRawBufferPointer?
    ) {
        if inboundSkips.skipsStatus(response.status) { return skip(.skippedStatus) }
        if inboundSkips.skipsPath(request.path) { return skip(.skippedPath) }
        guard let start = exchange.requestLastByte, let end = exchange.responseFirstByte else { return skip(.noTimestamps) }
        if rules.inboundRequestDataFails(request) { return skip(.requestDataFailed) }
        let code = innerCode(response, lentBody: lentBody)
        let methodCode = rules.inboundMethodCode(request)
        let nanoseconds = end - start
        let key = order?.next()
        let inputs = InboundLabelInputs(
            userAgent: request.userAgent, path: request.path, status: response.status, code: code.label,
            methodCode: methodCode)
        state.withLock { state in
            state.bodyCodes.add(code.outcome)
            if nanoseconds < 0 { state.statistics.negativeDurations += 1 }
            if let recent = state.recentInner.lookup(
                inputs, userAgent: request.userAgent, path: request.path, code: code.label, methodCode: methodCode)
            {
                state.statistics.labelValuesTruncated += constantLabelsCut + recent.cut
                state.inner.add(nanoseconds: nanoseconds, toSeries: recent.series)
                state.recorded.add(.inbound)
                return
            }
            var cut: UInt64 = 0
            // The values after appid and application.
            setLabel(0, LabelRules.fCode(userAgent: request.userAgent), in: &state.innerLabels, cut: &cut)
            setLabel(1, request.path, in: &state.innerLabels, cut: &cut)
            setLabel(2, request.path, in: &state.innerLabels, cut: &cut)
            setLabel(3, LabelRules.statusText(response.status), in: &state.innerLabels, cut: &cut)
            setLabel(4, code.label, in: &state.innerLabels, cut: &cut)
            setLabel(5, methodCode, in: &state.innerLabels, cut: &cut)
            state.statistics.labelValuesTruncated += constantLabelsCut + cut
            guard let series = state.innerLabels.series(in: &state.inner, key: key) else { return }
            state.inner.add(nanoseconds: nanoseconds, toSeries: series)
            state.recorded.add(.inbound)
            state.recentInner.insert(
                inputs, userAgent: request.userAgent, path: request.path, code: code.label, methodCode: methodCode,
                series: series, cut: cut)
        }
    }

    /// §3 and §4: a call the service made. Duration: last response byte − first request
    /// byte, or − the SYN when this request opened the connection (`HTTPExchange.callStart`).
    private func observeOutgoing(
        _ exchange: HTTPExchange, _ request: HTTPRequestSummary, _ response: HTTPResponseSummary,
        lentBody: UnsafeRawBufferPointer?
    ) {
        // Inbound, a cut response is still recorded: the reference's hook ran when the handler
        // returned. Outgoing, the caller's call raised instead of returning.
        if exchange.completeness == .responseIncomplete { return skip(.responseIncomplete) }
        guard let start = exchange.callStart, let end = exchange.responseLastByte else {
            return skip(.noTimestamps)
        }
        let nanoseconds = end - start
        let key = order?.next()
        let partner = request.host.flatMap { configuration.partners.lookup(authority: $0) }
        let code = outgoingCode(response, lentBody: lentBody)
        let action = partner.map { $0.actions[LabelRules.partnerPath(rawPath: request.rawPath)] }
        let methodCode = action.flatMap { $0 } ?? rules.outgoingMethodCode(request)
        let tcode = LabelRules.tcode(request: request, partner: partner)
        state.withLock { state in
            state.bodyCodes.add(code.outcome)
            if nanoseconds < 0 { state.statistics.negativeDurations += 1 }
            var cut: UInt64 = 0
            if let partner {
                cut += constantLabelsCut
                // The values after appid and application.
                setLabel(0, partner.partner, in: &state.partnerLabels, cut: &cut)
                setLabel(1, action.flatMap { $0 } ?? "", in: &state.partnerLabels, cut: &cut)
                setLabel(2, LabelRules.statusText(response.status), in: &state.partnerLabels, cut: &cut)
                setLabel(3, code.label, in: &state.partnerLabels, cut: &cut)
                if state.partnerLabels.record(nanoseconds: nanoseconds, in: &state.partner, key: key) {
                    state.recorded.add(.partner)
                }
            }
            cut += constantLabelsCut
            setLabel(0, "http", in: &state.externalLabels, cut: &cut)
            setLabel(1, tcode, in: &state.externalLabels, cut: &cut)
            setLabel(2, methodCode, in: &state.externalLabels, cut: &cut)
            setLabel(
                3, LabelRules.status(httpStatus: response.status, codeIsNumberZero: code.isNumberZero),
                in: &state.externalLabels, cut: &cut)
            state.statistics.labelValuesTruncated += cut
            // One label set for both external families.
            let counted = state.externalLabels.record(1, in: &state.externalCalls, key: key)
            let timed = state.externalLabels.record(nanoseconds: nanoseconds, inSecond: &state.externalDuration, key: key)
            if counted || timed { state.recorded.add(.external) }
        }
    }

    // MARK: Business codes of bodies met again

    /// `LabelRules.innerCode`, from `recentBodyCodes` when the same bytes were read before. A
    /// response the service encoded gives `-1` whatever its bytes: read by the rules at once.
    /// Not inlined: in `observeInbound` it cost the label inputs' inlining (3 retains more).
    @inline(never)
    private func innerCode(
        _ response: HTTPResponseSummary, lentBody: UnsafeRawBufferPointer?
    ) -> (label: String, outcome: BodyCodeOutcome) {
        guard response.contentEncoding == nil else { return rules.innerCode(response, lentBody: lentBody) }
        let code = recalledCode(response, lentBody: lentBody, rule: .inner, contentType: nil) {
            let code = rules.innerCode(response, lentBody: lentBody)
            return BodyCode(label: code.label, isNumberZero: false, outcome: code.outcome)
        }
        return (code.label, code.outcome)
    }

    /// `LabelRules.outgoingCode`, from `recentBodyCodes` when the same bytes came with the same
    /// `Content-Type` before (requests decodes by its charset).
    @inline(never)
    private func outgoingCode(
        _ response: HTTPResponseSummary, lentBody: UnsafeRawBufferPointer?
    ) -> (label: String, isNumberZero: Bool, outcome: BodyCodeOutcome) {
        let code = recalledCode(response, lentBody: lentBody, rule: .outgoing, contentType: response.contentType) {
            let code = rules.outgoingCode(response, lentBody: lentBody)
            return BodyCode(label: code.label, isNumberZero: code.isNumberZero, outcome: code.outcome)
        }
        return (code.label, code.isNumberZero, code.outcome)
    }

    /// The code `read` gives for the response's body (the lent bytes, else the summary's
    /// prefix), recalled when the same bytes were read by the same rule before. The lock is not
    /// held while `read` runs: another pipeline's metrics may read meanwhile.
    @inline(__always)
    private func recalledCode(
        _ response: HTTPResponseSummary, lentBody: UnsafeRawBufferPointer?, rule: BodyCodeRule, contentType: String?,
        read: () -> BodyCode
    ) -> BodyCode {
        guard remembersBodyCodes else { return read() }
        func recalled(_ body: UnsafeRawBufferPointer) -> BodyCode {
            guard let key = RecentBodyCodes.Key(body, rule: rule, truncated: response.bodyTruncated) else { return read() }
            switch recentBodyCodes.withLock({ $0.lookup(key, body: body, contentType: contentType) }) {
            case .hit(let code):
                return code
            case .miss(let keep):
                let code = read()
                if keep { recentBodyCodes.withLock { $0.keep(code, for: key, body: body, contentType: contentType) } }
                return code
            }
        }
        if let lentBody { return recalled(lentBody) }
        return response.bodyPrefix.withUnsafeBytes { recalled($0) }
    }

    /// How many codes were recalled and how many bodies kept (tests).
    var recentBodyCodeCounts: (hits: UInt64, kept: UInt64) {
        recentBodyCodes.withLock { ($0.hits, $0.kept) }
    }

    // MARK: AMQP

    /// §5: one message a consumer handled; `code` 0 for ack, 1 for nack/reject.
    public func observe(_ outcome: ConsumerOutcome) {
        guard let queue = outcome.queue else { return skip(.consumerWithoutQueue) }
        let start = configuration.consumerTiming == .serviceTime ? outcome.serviceStart : outcome.deliverTime
        let nanoseconds = outcome.answerTime - start
        let key = order?.next()
        state.withLock { state in
            if nanoseconds < 0 { state.statistics.negativeDurations += 1 }
            var cut = constantLabelsCut
            // The values after appid and application.
            setLabel(0, "", in: &state.consumerLabels, cut: &cut)
            setLabel(1, queue, in: &state.consumerLabels, cut: &cut)
            setLabel(2, String(outcome.answer.code), in: &state.consumerLabels, cut: &cut)
            state.statistics.labelValuesTruncated += cut
            if state.consumerLabels.record(nanoseconds: nanoseconds, in: &state.consumer, key: key) {
                state.recorded.add(.consumer)
            }
        }
    }

    // MARK: Output

    /// The five families in the reference's registration order (families with no series
    /// still get their HELP and TYPE lines, as prometheus_client writes them).
    public func render(_ format: ExpositionFormat) -> String {
        var writer = ExpositionWriter(format: format)
        write(to: &writer)
        return writer.finish()
    }

    /// Appends the five families to a writer (the caller adds self-metrics and finishes it).
    public func write(to writer: inout ExpositionWriter) {
        let snapshot = state.withLock { $0 }
        snapshot.inner.write(to: &writer)
        snapshot.partner.write(to: &writer)
        snapshot.externalCalls.write(to: &writer)
        snapshot.externalDuration.write(to: &writer)
        snapshot.consumer.write(to: &writer)
    }

    func familiesCopy() -> State { state.withLock { $0 } }

    /// Counts of recorded, skipped and refused observations, and series per family.
    public func statistics() -> ChannelMetricsStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.recorded = state.recorded.dictionary
            statistics.skipped = state.skipped.dictionary
            statistics.bodyCodes = state.bodyCodes.dictionary
            for (name, refused, count) in [
                (state.inner.name, state.inner.refused, state.inner.seriesCount),
                (state.partner.name, state.partner.refused, state.partner.seriesCount),
                (state.externalCalls.name + "_total", state.externalCalls.refused, state.externalCalls.seriesCount),
                (state.externalDuration.name, state.externalDuration.refused, state.externalDuration.seriesCount),
                (state.consumer.name, state.consumer.refused, state.consumer.seriesCount),
            ] {
                statistics.seriesRefused[name] = refused
                statistics.series[name] = count
            }
            if let countedBefore { statistics.addCounters(countedBefore) }
            return statistics
        }
    }

    /// Sets a label value, cut at a character boundary when it is longer than
    /// `maxLabelValueBytes` (counted in `cut`).
    @inline(__always)
    private func setLabel(_ index: Int, _ value: String, in labels: inout LabelScratch, cut: inout UInt64) {
        let limit = configuration.maxLabelValueBytes
        if value.utf8.count > limit {
            labels.set(index, Self.cut(value, toBytes: limit, counting: &cut))
        } else {
            labels.set(index, value)
        }
    }

    /// `value` cut at the last character boundary within `limit` bytes when it is longer
    /// (and then counted).
    private static func cut(_ value: String, toBytes limit: Int, counting cut: inout UInt64) -> String {
        guard value.utf8.count > limit else { return value }
        var end = value.utf8.index(value.utf8.startIndex, offsetBy: limit)
        while !value.unicodeScalars.indices.contains(end) && end > value.utf8.startIndex {
            end = value.utf8.index(before: end)
        }
        cut += 1
        return String(value.utf8[..<end])!
    }

    private func skip(_ reason: ChannelMetricsStatistics.Skipped) {
        state.withLock { $0.skipped.add(reason) }
    }
}
