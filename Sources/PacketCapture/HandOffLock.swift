/// The lock and the two conditions of a hand-off of buffers between a producer and a consumer thread.
internal import Glibc

/// A mutex with two conditions: `.filled` (a buffer is ready for the consumer, or the input ended)
/// and `.released` (a buffer is back with the producer, or the hand-off was cancelled). The rings
/// that pass buffers between threads (`ReadAheadRing`, the sharded replay's `ShardRing`) take it once
/// per buffer, never per packet.
///
/// Non-copyable: the mutex and conditions are allocated once, where no copy can move them, and
/// destroyed with the value.
public struct HandOffLock: ~Copyable {
    /// A condition to wait on or signal.
    public enum Condition: Int {
        case filled = 0
        case released = 1
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        conditions = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 2)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(conditions, nil)
        pthread_cond_init(conditions + 1, nil)
    }

    deinit {
        pthread_cond_destroy(conditions + 1)
        pthread_cond_destroy(conditions)
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }

    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Unlocks, waits until `condition` is signalled, and locks again (the caller holds the lock and
    /// tests its predicate again after: a wait may end without a signal).
    public func wait(for condition: Condition) { pthread_cond_wait(conditions + condition.rawValue, mutex) }

    /// Wakes a thread waiting for `condition` (signalling one no thread waits on costs no system call).
    public func signal(_ condition: Condition) { pthread_cond_signal(conditions + condition.rawValue) }
}
