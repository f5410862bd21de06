/// A thread that reads a file ahead with pread(2) into a ring of buffers, which one parsing thread takes in order.
internal import Glibc
import Synchronization

/// Reads a regular file from an offset to its end on a thread of its own, `bufferCount` buffers of
/// `bufferSize` bytes ahead of the thread that parses them, so the kernel's copy of the file
/// (`pread`) overlaps the parsing.
///
/// Memory: `bufferCount × bufferSize` bytes, allocated once; the reading thread waits when every
/// buffer is full or lent. The parsing thread holds at most one buffer at a time: `take()`
/// lends the next one, `release()` gives it back. Chunks come in file order, each full but the
/// last; the last may be followed by the end of the file (pread gave 0) or a read error (its
/// errno), which `take()` reports once every chunk before it was taken.
///
/// `close()` stops the thread and waits for it (`pthread_join`): no thread outlives its ring.
final class ReadAheadRing: @unchecked Sendable {  // the counters below are guarded by `lock`
    /// What `take()` gave.
    enum Take {
        /// The next `count` bytes of the file, lent until `release()`.
        case chunk(UnsafeMutableRawPointer, count: Int)
        /// pread gave 0: the file ends after the chunks already taken.
        case end
        /// pread failed with this errno after the chunks already taken.
        case failed(Int32)
    }

    let bufferSize: Int
    let bufferCount: Int
    private let descriptor: Int32
    private let startOffset: Int64
    private let storage: UnsafeMutableRawPointer
    /// Bytes in each buffer, written by the reading thread before it counts the buffer filled.
    private let lengths: UnsafeMutablePointer<Int>
    /// `.filled` is signalled when a buffer is filled or the reading ends, `.released` when a buffer
    /// is released or the ring is closed.
    private let lock = HandOffLock()
    // Guarded by `lock`:
    private var filled = 0
    private var released = 0
    private var finished = false
    private var failure: Int32 = 0
    private var cancelled = false
    // The parsing thread's own:
    private var taken = 0
    private var thread = pthread_t()
    private var isClosed = false
    /// Set by the reading thread as its last step: for the tests that check that none is left.
    private let threadExited = Atomic<Bool>(false)

    /// Whether the reading thread has returned (true after `close()`).
    var hasThreadExited: Bool { threadExited.load(ordering: .acquiring) }

    /// Starts the reading thread; nil when no thread can be made (the caller then reads itself).
    static func start(descriptor: Int32, from offset: Int64, bufferSize: Int, bufferCount: Int) -> ReadAheadRing? {
        let ring = ReadAheadRing(
            descriptor: descriptor, startOffset: offset, bufferSize: Swift.max(bufferSize, 1),
            bufferCount: Swift.max(bufferCount, 2))
        let context = Unmanaged.passRetained(ring).toOpaque()
        let created = pthread_create(
            &ring.thread, nil,
            { context in
                let ring = Unmanaged<ReadAheadRing>.fromOpaque(context!).takeRetainedValue()
                ring.readAhead()
                ring.threadExited.store(true, ordering: .releasing)
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<ReadAheadRing>.fromOpaque(context).release()
            ring.isClosed = true
            ring.deallocate()
            return nil
        }
        return ring
    }

    private init(descriptor: Int32, startOffset: Int64, bufferSize: Int, bufferCount: Int) {
        self.descriptor = descriptor
        self.startOffset = startOffset
        self.bufferSize = bufferSize
        self.bufferCount = bufferCount
        storage = UnsafeMutableRawPointer.allocate(byteCount: bufferSize * bufferCount, alignment: 4096)
        lengths = UnsafeMutablePointer<Int>.allocate(capacity: bufferCount)
        lengths.initialize(repeating: 0, count: bufferCount)
    }

    deinit { close() }

    /// Lends the next chunk, waiting for the reading thread if it is behind. The chunk lent before
    /// must have been released.
    func take() -> Take {
        lock.lock()
        defer { lock.unlock() }
        precondition(taken == released, "ReadAheadRing lends one buffer at a time")
        while filled == taken && !finished { lock.wait(for: .filled) }
        guard filled > taken else { return failure == 0 ? .end : .failed(failure) }
        let slot = taken % bufferCount
        taken += 1
        return .chunk(storage + slot * bufferSize, count: lengths[slot])
    }

    /// Gives the chunk lent by the last `take()` back to the reading thread.
    func release() {
        lock.lock()
        precondition(released < taken, "release() without a chunk taken")
        released += 1
        // The reading thread waits for half the ring (see `readAhead`); signalling an empty
        // wait queue costs no system call.
        if filled - released <= bufferCount / 2 { lock.signal(.released) }
        lock.unlock()
    }

    /// Stops the reading thread, waits for it, and frees the buffers. Chunks lent are invalid after it.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        lock.lock()
        cancelled = true
        lock.signal(.released)
        lock.unlock()
        pthread_join(thread, nil)
        deallocate()
    }

    private func deallocate() {
        lengths.deallocate()
        storage.deallocate()
    }

    /// The reading thread: fills the next free buffer to the brim (or to the end of the file, or
    /// to a read error) and publishes it, until the file ends, a read fails, or `close()`.
    /// When the ring is full it waits until half of it is free, so it wakes once per half ring
    /// rather than per buffer: fewer wake-ups that preempt the parsing thread on a busy machine.
    private func readAhead() {
        var offset = startOffset
        var sequence = 0
        while true {
            lock.lock()
            if filled - released == bufferCount {
                while filled - released > bufferCount / 2 && !cancelled { lock.wait(for: .released) }
            }
            let stop = cancelled
            lock.unlock()
            if stop { return }

            let slot = sequence % bufferCount
            let buffer = storage + slot * bufferSize
            var count = 0
            var atEnd = false
            var error: Int32 = 0
            while count < bufferSize {
                let got = pread(descriptor, buffer + count, bufferSize - count, off_t(offset) + off_t(count))
                if got > 0 {
                    count += got
                } else if got == 0 {
                    atEnd = true
                    break
                } else if errno != EINTR {
                    error = errno
                    break
                }
            }

            lock.lock()
            if count > 0 {
                lengths[slot] = count
                filled += 1
            }
            if atEnd || error != 0 {
                finished = true
                failure = error
            }
            lock.signal(.filled)
            lock.unlock()
            if atEnd || error != 0 { return }
            offset += Int64(count)
            sequence += 1
        }
    }
}
