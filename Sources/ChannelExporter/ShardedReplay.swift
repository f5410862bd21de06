/// A replay whose connections are split over several flow pipelines and threads, with exactly
/// the outputs of one pipeline.
import ChannelMetrics
import TCPReassembly
import TLSDecryption
#if canImport(Glibc)
import Glibc
#endif

/// `channel-exporter replay --threads N`: the reading thread decodes (`ShardDispatcher`), N + 1 flow
/// pipelines reassemble and observe (`ShardPipeline`: one on the reading thread, one on each of N - 1
/// workers' threads, `ShardWorker`, and one on whichever has time, `FloatingShard`), and their
/// outputs are merged into what one pipeline gives, byte for byte: metrics series in first-seen
/// order (`ChannelMetrics.merged`), exchange log lines in one pipeline's order with its connection
/// ids (`ShardLogMerge`), counters added.
///
/// Each pipeline holds its part of every global budget (`ExporterConfiguration.budgetShare`): if none
/// reached its share, the sum never reached the whole, and one pipeline would not have either. When
/// one did, or a NAT copy may have been decided otherwise (`NATTableUse.splitMayDiffer`), `replay`
/// replays with one pipeline (`Rerun` says why): exact, never approximated.
public enum ShardedReplay {
    /// A sharded replay's outputs.
    public struct Outcome {
        public var metrics: ChannelMetrics
        public var result: ReplayResult
        /// The flow pipelines that gave them: 1 when the replay was one pipeline's (asked for, or a rerun).
        public var pipelines: Int
        /// Why shards' outputs were not used, when they were tried.
        public var rerun: Rerun? = nil
    }

    /// Why a replay tried with several pipelines was done again with one.
    public enum Rerun: Error, Sendable, Equatable {
        /// A global bound is smaller than the pipelines: no share of it.
        case boundTooSmall
        /// A pipeline reached its share of a bound over all connections.
        case shareReached
        /// A NAT copy one pipeline might have found (or not) where the shards did not (or did).
        case natCopies
        /// A TLS secret dropped (for room or for its age), or secrets that came late in a replay longer
        /// than their age: which are dropped when depends on the other connections' ClientHellos.
        case tlsKeysDropped
        /// The sharded replay failed (the error is one pipeline's to give).
        case failed
    }

    /// The default number of shards: the processors online, at most 8.
    public static var defaultThreads: Int {
        Swift.min(8, Swift.max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Whether `files` can be read twice (a rerun needs it): regular files, not standard input or a pipe.
    public static func canReread(_ files: [String]) -> Bool {
        files.allSatisfy { path in
            var status = stat()
            return path != "-" && stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        }
    }

    /// Replays `files` over `threads` pipelines when they can be read again (for a rerun), else with
    /// one; with one when the shards could not give exactly what one pipeline gives, or failed (the
    /// error is then one pipeline's, with what it wrote to `exchangeLog` before it).
    public static func replay(
        files: [String], configuration: ExporterConfiguration, threads: Int, exchangeLog: ExchangeLogFile?,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> Outcome {
        try replay(
            files: files, configuration: configuration, threads: threads, exchangeLog: exchangeLog,
            batchBytes: ShardWorker.bufferSize, progress: progress)
    }

    /// `replay`, with the shards' batches of `batchBytes` (tests make them small: many hand-offs).
    static func replay(
        files: [String], configuration: ExporterConfiguration, threads: Int, exchangeLog: ExchangeLogFile?,
        batchBytes: Int, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        var rerun: Rerun?
        if threads > 1 && canReread(files) {
            do {
                switch try run(
                    files: files, configuration: configuration, threads: threads, exchangeLog: exchangeLog,
                    batchBytes: batchBytes, progress: progress)
                {
                case .success(let outcome): return outcome
                case .failure(let reason): rerun = reason
                }
            } catch {
                rerun = .failed
            }
        }
        let pipeline = try Pipeline(configuration: configuration, exchangeLog: exchangeLog)
        var result = try ReplayRunner.run(files: files, pipeline: pipeline, progress: progress)
        // The replay's time is the shards' attempt's too.
        let elapsed = clock.now - start
        result.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Outcome(metrics: pipeline.metrics, result: result, pipelines: 1, rerun: rerun)
    }

    /// Replays `files` over `threads` shards; a failure when one pipeline must replay them instead
    /// (nothing was written to `exchangeLog` then), saying why. Errors are the reading's.
    static func run(
        files: [String], configuration: ExporterConfiguration, threads: Int, exchangeLog: ExchangeLogFile?,
        batchBytes: Int, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> Result<Outcome, Rerun> {
        let split = ShardSplit(threads: threads)
        var shards = [ShardPipeline]()
        for weight in split.weights {
            guard let share = configuration.budgetShare(weight, of: split.totalWeight) else { return .failure(.boundTooSmall) }
            shards.append(try ShardPipeline(configuration: share, logsExchanges: exchangeLog != nil))
        }
        let floating = FloatingShard(shard: shards.last!, batchBytes: batchBytes)
        let workers = shards.dropFirst().dropLast().map { ShardWorker(shard: $0, floating: floating, batchBytes: batchBytes) }
        floating.ring.poking = workers.map(\.ring)
        let dispatcher = ShardDispatcher(
            configuration: configuration, local: shards[0], workers: workers, floating: floating, split: split)
        let clock = ContinuousClock()
        let start = clock.now
        var result: ReplayResult
        do {
            for worker in workers { try worker.start() }
            result = try ReplayRunner.run(files: files, target: dispatcher, workers: workers.count, progress: progress)
        } catch {
            // Every worker started ends (the end record) before the error goes on.
            try? dispatcher.finish()
            throw error
        }
        let pipelines = shards.map(\.pipeline)
        // A share reached, or a NAT copy one pipeline could have found otherwise (or uses too many to tell).
        if pipelines.contains(where: \.reachedGlobalBudget) { return .failure(.shareReached) }
        if pipelines.contains(where: { $0.statistics.tlsKeys.evicted + $0.statistics.tlsKeys.expired > 0 }) {
            return .failure(.tlsKeysDropped)
        }
        if dispatcher.secretsAfterFirstSegment, let first = result.statistics.firstPacketTime,
            let last = result.statistics.lastPacketTime, last.nanoseconds - first.nanoseconds > TLSKeyStore.defaultMaxAge
        {
            return .failure(.tlsKeysDropped)
        }
        let natUses = pipelines.map(\.natTableUses)
        if natUses.contains(where: { $0 == nil }) || NATTableUse.splitMayDiffer(natUses.map { $0! }) {
            return .failure(.natCopies)
        }
        let metrics = ChannelMetrics.merged(pipelines.map(\.metrics), configuration: try MetricsConfiguration(configuration))
        if let exchangeLog { try ShardLogMerge.merge(shards.compactMap(\.log), into: exchangeLog) }
        // The replay's time includes the merges.
        let elapsed = clock.now - start
        result.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return .success(Outcome(metrics: metrics, result: result, pipelines: threads))
    }
}
