/// The connection's FIFO of requests awaiting their responses, with the oldest one in a slot of its own.

/// Requests in arrival order (RFC 9112 §9.3: responses come in request order). Without pipelining at
/// most one request waits: it lives in `oldest`, and appending and taking it are a pointer store and
/// a pointer test, where an array checked its buffer's uniqueness and capacity each time and touched
/// its buffer's cache lines. Pipelined requests after the oldest wait in `later`.
///
/// Bounded by the observer (`maxPendingRequests`, counted as `pendingQueueFull`).
struct PendingQueue: RandomAccessCollection {
    /// The oldest waiting request; nil only when none waits (`later` is then empty).
    private var oldest: PendingRequest?
    /// The requests after the oldest, in arrival order.
    private var later: [PendingRequest] = []

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    @inline(__always)
    var isEmpty: Bool {
        if case .none = oldest { return true }
        return false
    }

    @inline(__always)
    var count: Int { isEmpty ? 0 : 1 &+ later.count }

    subscript(position: Int) -> PendingRequest {
        precondition(position >= 0 && position < count, "PendingQueue index out of range")
        return position == 0 ? oldest.unsafelyUnwrapped : later[position - 1]
    }

    /// The oldest request; nil when none waits.
    @inline(__always)
    var first: PendingRequest? { oldest }

    @inline(__always)
    mutating func append(_ request: consuming PendingRequest) {
        if case .none = oldest {
            oldest.replaceNil(with: request)
        } else {
            later.append(request)
        }
    }

    /// Takes the oldest request out (the queue is not empty).
    @inline(__always)
    @discardableResult
    mutating func removeFirst() -> PendingRequest {
        precondition(!isEmpty, "removeFirst on an empty PendingQueue")
        let taken = oldest.take().unsafelyUnwrapped
        if !later.isEmpty { oldest = later.removeFirst() }
        return taken
    }

    /// Empties the queue (the buffer of `later` kept when `keepingCapacity`).
    mutating func removeAll(keepingCapacity: Bool = false) {
        oldest = nil
        if !later.isEmpty || !keepingCapacity { later.removeAll(keepingCapacity: keepingCapacity) }
    }

    /// Removes the requests for which `shouldBeRemoved` is true, the others kept in order.
    mutating func removeAll(where shouldBeRemoved: (PendingRequest) throws -> Bool) rethrows {
        guard !isEmpty else { return }
        var kept: [PendingRequest] = []
        for request in self where try !shouldBeRemoved(request) { kept.append(request) }
        oldest = nil
        later.removeAll(keepingCapacity: true)
        for request in kept { append(request) }
    }
}
