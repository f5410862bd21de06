/// A connection's consumer as the slot keeps it: called without a retain and release per call.

import PacketDecoding

/// An owned reference to a `StreamConsumer`, as the object and a dispatch
/// type specialised for its class.
///
/// Calling a consumer held as `any StreamConsumer` in mutable storage
/// costs a retain and a release per packet: the compiler cannot prove that
/// the call leaves the storage alone. `Unmanaged._withUnsafeGuaranteedRef`
/// avoids that, but needs the consumer's class as a generic argument. So
/// the existential is opened once, when the connection opens, into
/// `ConsumerCalls<C>` (C = the consumer's class) and kept as a metatype:
/// a trivial value, no reference count.
///
/// The slot owns one retain of the object: `init` takes it and `release()`
/// (exactly once, when the slot is emptied) gives it back.
struct ConsumerReference {
    private let object: Unmanaged<AnyObject>
    private let calls: any StreamConsumerCalls.Type

    init(_ consumer: any StreamConsumer, calls cache: inout ConsumerCallsCache) {
        object = Unmanaged.passRetained(consumer as AnyObject)
        calls = cache.calls(for: consumer)
    }

    /// Gives back the slot's retain; the reference must not be used after.
    func release() { object.release() }

    @inline(__always)
    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        calls.streamData(object, bytes, direction, time)
    }

    @inline(__always)
    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        calls.streamGap(object, length, direction, time)
    }

    @inline(__always)
    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        calls.streamEnd(object, direction, reason, time)
    }
}

/// The `ConsumerCalls` type of the last two consumer classes seen.
///
/// Naming `ConsumerCalls<C>` for a class known only at run time is a
/// lookup in the runtime's generic metadata cache (with a lock), a few
/// percent of the time on captures of short connections; a pipeline has
/// one or two consumer classes, so two entries nearly always hold the answer.
struct ConsumerCallsCache {
    private var recent: (type: ObjectIdentifier, calls: any StreamConsumerCalls.Type)?
    private var previous: (type: ObjectIdentifier, calls: any StreamConsumerCalls.Type)?

    mutating func calls(for consumer: any StreamConsumer) -> any StreamConsumerCalls.Type {
        let type = ObjectIdentifier(Swift.type(of: consumer))
        if let recent, recent.type == type { return recent.calls }
        if let previous, previous.type == type {
            swap(&self.recent, &self.previous)
            return previous.calls
        }
        let calls = Self.lookUp(consumer)
        previous = recent
        recent = (type, calls)
        return calls
    }

    private static func lookUp<C: StreamConsumer>(_ consumer: C) -> any StreamConsumerCalls.Type {
        ConsumerCalls<C>.self
    }
}

/// The three `StreamConsumer` calls on an unretained object of a known class.
protocol StreamConsumerCalls {
    static func streamData(
        _ object: Unmanaged<AnyObject>, _ bytes: UnsafeRawBufferPointer, _ direction: StreamDirection, _ time: Timestamp)
    static func streamGap(_ object: Unmanaged<AnyObject>, _ length: Int, _ direction: StreamDirection, _ time: Timestamp)
    static func streamEnd(
        _ object: Unmanaged<AnyObject>, _ direction: StreamDirection, _ reason: StreamEndReason, _ time: Timestamp)
}

/// `StreamConsumerCalls` for consumers of class `C`: the object is borrowed
/// for the call (it is kept alive by the slot's retain).
enum ConsumerCalls<C: StreamConsumer>: StreamConsumerCalls {
    static func streamData(
        _ object: Unmanaged<AnyObject>, _ bytes: UnsafeRawBufferPointer, _ direction: StreamDirection, _ time: Timestamp
    ) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: C.self).streamData(bytes, direction: direction, time: time) }
    }

    static func streamGap(_ object: Unmanaged<AnyObject>, _ length: Int, _ direction: StreamDirection, _ time: Timestamp) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: C.self).streamGap(length: length, direction: direction, time: time) }
    }

    static func streamEnd(
        _ object: Unmanaged<AnyObject>, _ direction: StreamDirection, _ reason: StreamEndReason, _ time: Timestamp
    ) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: C.self).streamEnd(direction: direction, reason: reason, time: time) }
    }
}
