/// The hand-off from the replay's reading thread to one shard's worker: a ring of batch buffers.
import PacketCapture

/// A ring of `count` batch buffers between one producer (the thread that reads and decodes) and one
/// consumer (a shard's worker). The producer fills the buffer `fillable()` gives and hands it over
/// with `publish(_:)`; the consumer takes the next one with `take()` and gives it back with
/// `release()`. Buffers are allocated once and reused: no allocation per packet or per batch (a
/// buffer grows only for a record larger than it, which a jumbo or reassembled packet can be).
///
/// The producer waits when every buffer is full or lent (memory stays bounded when a worker falls
/// behind); the consumer waits when none is full. One lock and a condition per direction, taken
/// once per batch: with batches of hundreds of segments the hand-off costs a few instructions a
/// segment (the copy of its bytes aside).
///
/// The floating shard's ring (`FloatingShard`) has two consumers, one at a time under its mutex; it
/// pokes the workers' rings when it publishes, to wake a worker waiting for its own batches
/// (`waitForBatch(orPokeAfter:)`).
final class ShardRing: @unchecked Sendable {  // the counters are guarded by `lock`
    /// One buffer: `bytes` allocated with `capacity` bytes; `count` of them written.
    struct Buffer {
        var bytes: UnsafeMutableRawPointer
        var capacity: Int
        var count = 0
    }

    /// A pointer, not an array: the two threads work on different elements at once, which an
    /// array's copy-on-write check (a retain by one thread, a uniqueness test by the other) forbids.
    private let buffers: UnsafeMutablePointer<Buffer>
    private let bufferCount: Int
    /// `.filled` is signalled when a buffer is published, `.released` when one is released.
    private let lock = HandOffLock()
    // Guarded by `lock`:
    private var published = 0
    private var released = 0
    private var pokes = 0
    // The consumer's own:
    private var taken = 0
    /// Rings poked at each publication (the workers', on the floating shard's ring); set before use.
    var poking: [ShardRing] = []

    init(bufferSize: Int, count: Int) {
        bufferCount = count
        buffers = UnsafeMutablePointer<Buffer>.allocate(capacity: count)
        for slot in 0..<count {
            (buffers + slot).initialize(
                to: Buffer(bytes: UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16), capacity: bufferSize))
        }
    }

    deinit {
        for slot in 0..<bufferCount { buffers[slot].bytes.deallocate() }
        buffers.deinitialize(count: bufferCount)
        buffers.deallocate()
    }

    /// Producer: the index of the buffer to fill next, once the consumer has given it back.
    /// Its `count` is 0.
    func fillable() -> Int {
        lock.lock()
        while published - released == bufferCount { lock.wait(for: .released) }
        let slot = published % bufferCount
        lock.unlock()
        buffers[slot].count = 0
        return slot
    }

    /// Producer: the buffer being filled (from `fillable()`), to write into.
    @inline(__always)
    func buffer(_ slot: Int) -> Buffer { buffers[slot] }

    /// Producer: records that `count` bytes of `slot` are written.
    @inline(__always)
    func setCount(_ count: Int, of slot: Int) { buffers[slot].count = count }

    /// Producer: makes `slot` at least `capacity` bytes, keeping its first `count` bytes.
    func grow(_ slot: Int, to capacity: Int) {
        let old = buffers[slot]
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        bytes.copyMemory(from: old.bytes, byteCount: old.count)
        old.bytes.deallocate()
        buffers[slot] = Buffer(bytes: bytes, capacity: capacity, count: old.count)
    }

    /// Producer: the index of the buffer to fill next, as `fillable()`, but while every buffer is
    /// full, calling `help` instead of waiting: it must handle and release a batch whenever every
    /// buffer is full (`FloatingShard.handleNext(waiting: true)`). Waiting for another consumer
    /// instead could wait for ever: the one that held the shard a moment before may have found
    /// nothing to take, and gone back to its own batches, or ended.
    func fillable(helping help: () -> Bool) -> Int {
        lock.lock()
        while published - released == bufferCount {
            lock.unlock()
            _ = help()
            lock.lock()
        }
        let slot = published % bufferCount
        lock.unlock()
        buffers[slot].count = 0
        return slot
    }

    /// Producer: hands the buffer filled to the consumer.
    func publish(_ slot: Int) {
        lock.lock()
        published += 1
        lock.signal(.filled)
        lock.unlock()
        for ring in poking { ring.poke() }
    }

    /// Producer: the batches published and not yet released (the one being handled included).
    var backlog: Int {
        lock.lock()
        defer { lock.unlock() }
        return published - released
    }

    /// Wakes the consumer if it waits in `waitForBatch(orPokeAfter:)`.
    func poke() {
        lock.lock()
        pokes += 1
        lock.signal(.filled)
        lock.unlock()
    }

    /// Consumer: how many pokes came so far (for `waitForBatch(orPokeAfter:)`).
    var pokeCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return pokes
    }

    /// Consumer: waits until a batch is published or a poke came after `seen` pokes.
    func waitForBatch(orPokeAfter seen: Int) {
        lock.lock()
        while published == taken && pokes == seen { lock.wait(for: .filled) }
        lock.unlock()
    }

    /// Consumer: the next buffer published if there is one, without waiting; lent until `release()`.
    func tryTake() -> Buffer? {
        lock.lock()
        guard published > taken else {
            lock.unlock()
            return nil
        }
        let slot = taken % bufferCount
        taken += 1
        lock.unlock()
        return buffers[slot]
    }

    /// Consumer: the next buffer published, waiting for it; lent until `release()`.
    func take() -> Buffer {
        lock.lock()
        while published == taken { lock.wait(for: .filled) }
        let slot = taken % bufferCount
        taken += 1
        lock.unlock()
        // The producer wrote it before publishing (under the lock), and leaves it alone until released.
        return buffers[slot]
    }

    /// Consumer: gives the buffer `take()` lent back to the producer.
    func release() {
        lock.lock()
        released += 1
        lock.signal(.released)
        lock.unlock()
    }
}
