/// One shard of a sharded replay: a flow pipeline on a thread of its own.
#if canImport(Glibc)
import Glibc
#endif
import TCPReassembly

/// A shard's flow pipeline (`ShardPipeline`) on a thread of its own, driven by the segments the
/// reading thread hands it through `ring`; while none are there, it handles the floating shard's.
final class ShardWorker: @unchecked Sendable {  // its pipeline is used by its thread only, until `join()`
    let ring: ShardRing
    let shard: ShardPipeline
    /// The shard whose batches a worker with nothing of its own to do handles.
    let floating: FloatingShard
    private var thread = pthread_t()
    private var running = false

    /// Ring buffers: 4 of 1 MiB (thousands of segments each): a worker falls 4 MiB behind at most,
    /// and a hand-off (a lock, and a wake-up when the worker waited) comes once per thousands of
    /// segments. Measured on the 1M-exchange capture with 2 threads: 64 KiB × 8 took 998 ms (a
    /// third more system time), 256 KiB × 4 802 ms, 1 MiB × 4 757 ms, 4 MiB × 2 762 ms.
    static let bufferSize = 1 << 20
    static let bufferCount = 4

    init(shard: ShardPipeline, floating: FloatingShard, batchBytes: Int) {
        ring = ShardRing(bufferSize: batchBytes, count: Self.bufferCount)
        self.shard = shard
        self.floating = floating
    }

    deinit { join() }

    /// Starts the worker's thread.
    func start() throws(ExporterError) {
        let context = Unmanaged.passRetained(self).toOpaque()
        // The stack the main thread usually has (8 MiB), whatever `ulimit -s` says: a pipeline's
        // recursion (JSON bodies, 512 levels deep at most) must fit as it does on the main thread.
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 8 << 20)
        let created = pthread_create(
            &thread, &attributes,
            { context in
                let worker = Unmanaged<ShardWorker>.fromOpaque(context!).takeRetainedValue()
                worker.run()
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<ShardWorker>.fromOpaque(context).release()
            throw ExporterError("cannot start a replay thread: \(String(cString: strerror(created)))")
        }
        running = true
    }

    /// Waits for the thread to end (after the end record); its parts are the caller's from then on.
    func join() {
        guard running else { return }
        running = false
        pthread_join(thread, nil)
    }

    /// Handles its batches until the end record, and the floating shard's while it has none.
    private func run() {
        let shard = shard
        while true {
            // Read before looking at the floating shard: a batch published after that look pokes.
            let pokes = ring.pokeCount
            if let batch = ring.tryTake() {
                let ended = shard.handle(batch)
                ring.release()
                if ended { return }
            } else if !floating.handleNext() {
                ring.waitForBatch(orPokeAfter: pokes)
            }
        }
    }
}
