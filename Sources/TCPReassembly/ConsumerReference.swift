/// A connection's consumer as the slot keeps it: called without a retain and release per call.

import PacketDecoding

/// An owned reference to a `StreamConsumer`, as the object and its class.
///
/// Calling a consumer held as `any StreamConsumer` in mutable storage
/// costs a retain and a release per packet: the compiler cannot prove that
/// the call leaves the storage alone. `Unmanaged._withUnsafeGuaranteedRef`
/// avoids that, but needs the consumer's class as a type. So the class is
/// kept as a metatype (`any StreamConsumer.Type`: a trivial value, no
/// reference count), and each call goes through the class's own
/// `unretained` entry points (see `StreamConsumer`): one call through the
/// witness table into code specialised for the class.
///
/// The slot owns one retain of the object: `init` takes it and `release()`
/// (exactly once, when the slot is emptied) gives it back.
struct ConsumerReference {
    private let object: Unmanaged<AnyObject>
    private let type: any StreamConsumer.Type

    init(_ consumer: any StreamConsumer) {
        object = Unmanaged.passRetained(consumer as AnyObject)
        type = Swift.type(of: consumer)
    }

    /// Gives back the slot's retain; the reference must not be used after.
    func release() { object.release() }

    @inline(__always)
    func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        type.streamData(unretained: object, bytes, direction: direction, time: time)
    }

    @inline(__always)
    func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        type.streamGap(unretained: object, length: length, direction: direction, time: time)
    }

    @inline(__always)
    func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        type.streamEnd(unretained: object, direction: direction, reason: reason, time: time)
    }

    func streamHandshakeEnd(time: Timestamp) {
        type.streamHandshakeEnd(unretained: object, time: time)
    }
}
