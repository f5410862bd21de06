/// The shard of a sharded replay that whichever thread has time for handles.
#if canImport(Glibc)
import Glibc
#endif

/// A shard whose batches are handled by a worker whose own ring is empty, or by the reading thread
/// when every worker is behind (or this ring is full): the part of the connections that balances
/// the threads' work, whatever the traffic. How much reading and decoding a packet costs against
/// observing its exchanges differs from capture to capture, and a connection stays in its shard:
/// no fixed split suits them all (`ShardSplit`).
///
/// One thread at a time handles its batches, in order, under `mutex`: a worker only tries it, the
/// reading thread waits for it only when this ring is full. The pipeline's state passes between
/// threads through that mutex.
final class FloatingShard: @unchecked Sendable {  // `ended` and the ring's consumer side are guarded by `mutex`
    let shard: ShardPipeline
    let ring: ShardRing
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var ended = false

    init(shard: ShardPipeline, batchBytes: Int) {
        self.shard = shard
        ring = ShardRing(bufferSize: batchBytes, count: ShardWorker.bufferCount)
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Handles the next batch published, if there is one; whether it handled one. Unless `waiting`,
    /// does nothing while another thread handles a batch; `waiting`, waits for it (one batch at most).
    func handleNext(waiting: Bool = false) -> Bool {
        if waiting {
            pthread_mutex_lock(mutex)
        } else {
            guard pthread_mutex_trylock(mutex) == 0 else { return false }
        }
        defer { pthread_mutex_unlock(mutex) }
        guard let batch = ring.tryTake() else { return false }
        if shard.handle(batch) { ended = true }
        ring.release()
        return true
    }

    /// Handles every batch left, to the end record: the reading thread's, after it published that.
    func handleRest() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ended {
            let batch = ring.take()
            if shard.handle(batch) { ended = true }
            ring.release()
        }
    }
}
