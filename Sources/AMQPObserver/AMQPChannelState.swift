// AMQPChannelState.swift — one AMQP channel's consumers, pending requests and unanswered deliveries.

import PacketDecoding
import TCPReassembly

/// A delivery (basic.deliver or basic.get-ok) not yet answered.
struct OutstandingDelivery {
    var deliveryTag: UInt64
    var consumerTag: String?
    var queue: String?
    var queueSource: QueueSource
    var redelivered: Bool
    var deliverTime: Timestamp
    /// When a worker took it; nil while it waits for one.
    var serviceStart: Timestamp?
    /// Stands for a delivery lost in a gap (its tag was skipped): it holds a worker, yields no outcome.
    var isLost = false
    /// What it keeps, charged to the observer's kept bytes (see `AMQPChannelState.deliveryCost`).
    var cost = 0
}

/// The state of one channel (delivery tags are scoped to their channel: the `delivery-tag` domain of amqp0-9-1.xml).
///
/// **The service-time model.** The consumer runs `workers` workers on the channel
/// and hands deliveries to them first come, first served. A delivery starts
/// service at max(its deliver time, the moment a worker became free); a worker is
/// freed by each ack / nack / reject (a `multiple` answer frees one per delivery
/// it settles, in tag order, each freed worker taking the next waiting delivery
/// before that delivery is itself settled). For one worker this is
/// start = max(deliver, the previous answer on the channel). It is exact when
/// the consumer really works that way; the time a message spent in the client's
/// prefetch buffer is then not counted, as the reference does not count it.
///
/// Waiting deliveries are always the newest outstanding ones (workers are
/// handed deliveries in tag order), so `waitingCount` describes them.
///
/// **Workers busy with deliveries we did not see.** On a channel first seen
/// mid-stream, and after a gap made us forget deliveries that held workers,
/// those workers are taken as busy (`unseenBusy`) until evidence frees them: an
/// answer for an unknown tag, or an answer for a delivery the model still had
/// waiting. A consumer that was idle thus costs nothing: its first delivery is
/// answered "while waiting" and starts at its deliver time.
final class AMQPChannelState {
    struct Consumer {
        var tag: [UInt8]
        var tagString: String
        var queue: String
        var noAck: Bool
        /// Consumes RabbitMQ's direct reply-to pseudo-queue (see `AMQPConnectionObserver.directReplyQueue`).
        var directReply = false
    }

    struct PendingConsume {
        var queue: String
        var tag: [UInt8]
        var noAck: Bool
    }

    struct PendingGet {
        var queue: String
        var noAck: Bool
    }

    // What each thing a channel keeps costs, charged to the observer's kept bytes
    // (`AMQPObserverConfiguration.maxKeptBytesTotal`): its own bytes, 48 bytes of storage header for
    // each string or array of them, and the element in its array. Measured (peak RSS,
    // `captures/scripts/make-memory-bound-captures.py --parts 4`): a consumer with a 255-byte tag and
    // queue 983 bytes (here 957), a channel 220 (256), an unanswered delivery with its own 255-byte
    // consumer tag and routing key 711 (here 718), one sharing its consumer's strings about 100 (112).

    /// The channel itself: this object, its slot in the connection's dictionary, its empty arrays.
    static let channelCost = 256
    /// A delivery's element in `storage`, without strings of its own (`consumerTag` and `queue`
    /// shared with its consumer).
    static let deliveryCost = 112

    /// A string or byte array of `count` bytes.
    static func stringCost(_ count: Int) -> Int { count + 48 }

    let workers: Int
    private(set) var consumers: [Consumer] = []
    private(set) var pendingConsumes: [PendingConsume] = []
    private(set) var pendingGets: [PendingGet] = []
    /// channel.close seen: deliveries in flight are ignored until close-ok (after the broker's close,
    /// answers still settle the deliveries kept until then).
    var isClosing = false
    /// The broker's direction had a gap since the last delivery: skipped tags are lost deliveries.
    var deliveriesMayBeMissing = false
    /// The highest delivery tag seen (deliver or get-ok, no-ack included).
    var lastSeenTag: UInt64?

    /// Outstanding deliveries in tag order: `storage[head...]`.
    private var storage: [OutstandingDelivery] = []
    private var head = 0
    private(set) var waitingCount = 0
    private(set) var freeWorkers: Int
    /// Workers taken as busy with deliveries we did not see.
    private(set) var unseenBusy: Int
    private var lastAnswerTime: Timestamp?
    /// The unanswered deliveries all the observer's channels keep (each channel charges and releases
    /// its own, its `deinit` included).
    private let tally: Budget
    /// The bytes all the observer's channels keep (themselves, consumers, pending requests, deliveries);
    /// `charged` is this channel's part, given back in `deinit`.
    private let kept: Budget
    private var charged = 0

    /// `seenFromStart` false: the channel was first seen mid-stream, all its workers may be busy.
    /// Charges `channelCost` to `kept` (the caller checked its room).
    init(workers: Int, seenFromStart: Bool, tally: Budget = Budget(limit: .max), kept: Budget = Budget(limit: .max)) {
        self.tally = tally
        self.kept = kept
        self.workers = workers
        self.unseenBusy = seenFromStart ? 0 : workers
        self.freeWorkers = workers - unseenBusy
        charge(Self.channelCost)
    }

    deinit {
        tally.release(outstandingCount)
        kept.release(charged)
    }

    private func charge(_ cost: Int) {
        kept.charge(cost)
        charged &+= cost
    }

    private func release(_ cost: Int) {
        kept.release(cost)
        charged &-= cost
    }

    private static func cost(of consumer: Consumer) -> Int {
        64 + 2 * stringCost(consumer.tag.count) + stringCost(consumer.queue.utf8.count)
    }

    private static func cost(of consume: PendingConsume) -> Int {
        32 + stringCost(consume.tag.count) + stringCost(consume.queue.utf8.count)
    }

    private static func cost(of get: PendingGet) -> Int { 32 + stringCost(get.queue.utf8.count) }

    /// Registers `consumer`; false when the kept bytes have no room for it (not registered).
    func addConsumer(_ consumer: Consumer) -> Bool { keep(consumer, cost: Self.cost(of: consumer), in: \.consumers) }

    /// Queues a `basic.consume` awaiting its `consume-ok`; false when the kept bytes have no room.
    func addPendingConsume(_ consume: PendingConsume) -> Bool {
        keep(consume, cost: Self.cost(of: consume), in: \.pendingConsumes)
    }

    /// Queues a `basic.get` awaiting its reply; false when the kept bytes have no room.
    func addPendingGet(_ get: PendingGet) -> Bool { keep(get, cost: Self.cost(of: get), in: \.pendingGets) }

    /// The oldest `basic.consume` awaiting its reply, taken from the queue (nil: none).
    func takePendingConsume() -> PendingConsume? {
        guard !pendingConsumes.isEmpty else { return nil }
        let consume = pendingConsumes.removeFirst()
        release(Self.cost(of: consume))
        return consume
    }

    /// The oldest `basic.get` awaiting its reply, taken from the queue (nil: none).
    func takePendingGet() -> PendingGet? {
        guard !pendingGets.isEmpty else { return nil }
        let get = pendingGets.removeFirst()
        release(Self.cost(of: get))
        return get
    }

    private func keep<Element>(
        _ element: Element, cost: Int, in array: ReferenceWritableKeyPath<AMQPChannelState, [Element]>
    ) -> Bool {
        guard kept.hasRoom(for: cost) else { return false }
        charge(cost)
        self[keyPath: array].append(element)
        return true
    }

    /// Forgets the requests awaiting replies (after a gap replies are out of step with them).
    func forgetPendingRequests() {
        for consume in pendingConsumes { release(Self.cost(of: consume)) }
        for get in pendingGets { release(Self.cost(of: get)) }
        pendingConsumes.removeAll()
        pendingGets.removeAll()
    }

    var outstandingCount: Int { storage.count - head }
    var lastDeliveryTag: UInt64? { storage.count > head ? storage[storage.count - 1].deliveryTag : nil }
    var oldest: OutstandingDelivery? { storage.count > head ? storage[head] : nil }

    func consumer(tag: UnsafeRawBufferPointer) -> Consumer? {
        for consumer in consumers where consumer.tag.elementsEqual(tag) { return consumer }
        return nil
    }

    func removeConsumer(tag: UnsafeRawBufferPointer) {
        guard let index = consumers.firstIndex(where: { $0.tag.elementsEqual(tag) }) else { return }
        let cost = Self.cost(of: consumers.remove(at: index))
        if outstandingCount > 0 {
            // Its deliveries still hold its strings: they stay charged until those are gone.
            retiredConsumerBytes &+= cost
        } else {
            release(cost)
        }
    }

    /// Consumer tags the client cancelled (`basic.cancel`) and when, newest last, at most
    /// `maxCancelledTags`: rejects with requeue of their deliveries may be the client library's
    /// give-backs (see `AMQPConnectionObserver`).
    private var cancelledTags: [(tag: String, time: Timestamp)] = []
    static let maxCancelledTags = 8

    func noteCancelled(tag: UnsafeRawBufferPointer, time: Timestamp) {
        guard !tag.isEmpty, cancelTime(of: tag) == nil else { return }
        let string = tag.utf8String
        let cost = Self.stringCost(string.utf8.count)
        if cancelledTags.count == Self.maxCancelledTags {
            release(Self.stringCost(cancelledTags.removeFirst().tag.utf8.count))
        }
        guard kept.hasRoom(for: cost) else { return }
        charge(cost)
        cancelledTags.append((string, time))
    }

    /// A consumer registered again under a cancelled tag is live again.
    func forgetCancelled(tag: UnsafeRawBufferPointer) {
        guard let index = cancelledTags.firstIndex(where: { $0.tag.utf8.elementsEqual(tag) }) else { return }
        release(Self.stringCost(cancelledTags.remove(at: index).tag.utf8.count))
    }

    /// When the client cancelled `tag`, if it did.
    func cancelTime(of tag: String) -> Timestamp? { cancelledTags.first { $0.tag == tag }?.time }

    private func cancelTime(of tag: UnsafeRawBufferPointer) -> Timestamp? {
        cancelledTags.first { $0.tag.utf8.elementsEqual(tag) }?.time
    }

    /// Consumers removed while deliveries that share their strings were outstanding: charged until
    /// the channel has none.
    private var retiredConsumerBytes = 0

    private func releaseRetiredWhenEmpty() {
        if retiredConsumerBytes != 0 && outstandingCount == 0 {
            release(retiredConsumerBytes)
            retiredConsumerBytes = 0
        }
    }

    /// What keeping `delivery` costs: `deliveryCost`, and its strings when they are its own (not its
    /// consumer's, whose `Consumer` already counts them).
    static func cost(of delivery: OutstandingDelivery, ownStrings: Bool) -> Int {
        guard ownStrings else { return deliveryCost }
        return deliveryCost + (delivery.consumerTag.map { stringCost($0.utf8.count) } ?? 0)
            + (delivery.queue.map { stringCost($0.utf8.count) } ?? 0)
    }

    /// Whether the kept bytes have room for `cost` more.
    func hasRoom(for cost: Int) -> Bool { kept.hasRoom(for: cost) }

    /// A new delivery costing `cost` (the caller checked the room): a free worker takes it now, else it waits.
    func add(_ delivery: OutstandingDelivery, cost: Int) {
        var delivery = delivery
        delivery.cost = cost
        charge(cost)
        if freeWorkers > 0 {
            freeWorkers -= 1
            delivery.serviceStart = delivery.deliverTime
        } else {
            delivery.serviceStart = nil
            waitingCount += 1
        }
        storage.append(delivery)
        tally.charge(1)
    }

    /// Settles the delivery `tag` (or, with `multiple`, every outstanding one up to `tag`;
    /// tag 0 with `multiple` means all, §1.8.3.13) answered at `time`. Each settled delivery
    /// is passed with its service start. Returns how many were settled.
    @discardableResult
    func settle(
        tag: UInt64, multiple: Bool, time: Timestamp, _ settled: (OutstandingDelivery, _ serviceStart: Timestamp) -> Void
    ) -> Int {
        if multiple {
            var count = 0
            while head < storage.count && (tag == 0 || storage[head].deliveryTag <= tag) {
                settleAt(head, time: time, settled)
                count += 1
            }
            return count
        }
        guard let index = index(of: tag) else { return 0 }
        settleAt(index, time: time, settled)
        return 1
    }

    /// An answer for a delivery we never saw. When workers are taken as busy with unseen
    /// deliveries (capture began later, or a gap), one of them is free now; otherwise the
    /// answer is stray (a duplicate, or a tag the broker never sent) and frees nothing.
    func answerForUnknownDelivery(time: Timestamp) {
        guard unseenBusy > 0 else { return }
        unseenBusy -= 1
        freeWorker(at: time)
        lastAnswerTime = time
    }

    /// Forgets every outstanding delivery (their answers can no longer come or be matched).
    /// With `workersStayBusy` (a gap: their answers may still come, as unknown tags) the
    /// workers they held stay busy until evidence frees them; otherwise all are free.
    /// Returns how many real (not lost) deliveries were dropped.
    @discardableResult
    func dropAll(workersStayBusy: Bool = false) -> Int {
        let busy = outstandingCount - waitingCount
        // Placeholders for lost deliveries were already counted as lost.
        let count = storage[head...].reduce(0) { $0 + ($1.isLost ? 0 : 1) }
        release(storage[head...].reduce(0) { $0 + $1.cost })
        tally.release(outstandingCount)
        storage.removeAll(keepingCapacity: true)
        head = 0
        releaseRetiredWhenEmpty()
        waitingCount = 0
        unseenBusy = workersStayBusy ? min(workers, unseenBusy + busy) : 0
        freeWorkers = workers - unseenBusy
        return count
    }

    /// Forgets the oldest outstanding delivery (the outstanding bound was reached).
    func dropOldest(time: Timestamp) {
        guard head < storage.count else { return }
        let dropped = removeAt(head)
        if dropped.serviceStart == nil { waitingCount -= 1 } else { freeWorker(at: time) }
    }

    private func settleAt(
        _ index: Int, time: Timestamp, _ settled: (OutstandingDelivery, _ serviceStart: Timestamp) -> Void
    ) {
        let delivery = removeAt(index)
        if let start = delivery.serviceStart {
            settled(delivery, start)
            freeWorker(at: time)
        } else {
            // Answered before the model gave it a worker: more workers than configured, or
            // answers out of order. It started no earlier than the channel's previous answer.
            waitingCount -= 1
            let start = max(delivery.deliverTime, min(lastAnswerTime ?? delivery.deliverTime, time))
            settled(delivery, start)
            if unseenBusy > 0 {
                // A worker we took as busy was in fact free: it served this one and is free again.
                unseenBusy -= 1
                freeWorker(at: time)
            }
        }
        lastAnswerTime = time
    }

    private func freeWorker(at time: Timestamp) {
        if waitingCount > 0 {
            let index = storage.count - waitingCount
            storage[index].serviceStart = max(storage[index].deliverTime, time)
            waitingCount -= 1
        } else if freeWorkers < workers - unseenBusy {
            freeWorkers += 1
        }
    }

    private func removeAt(_ index: Int) -> OutstandingDelivery {
        let delivery = storage[index]
        tally.release(1)
        release(delivery.cost)
        if index == head {
            head += 1
            if head == storage.count {
                storage.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= storage.count {
                storage.removeFirst(head)
                head = 0
            }
        } else {
            storage.remove(at: index)
        }
        releaseRetiredWhenEmpty()
        return delivery
    }

    /// Binary search: tags are increasing along `storage[head...]`.
    private func index(of tag: UInt64) -> Int? {
        var low = head
        var high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid].deliveryTag < tag { low = mid + 1 } else { high = mid }
        }
        return low < storage.count && storage[low].deliveryTag == tag ? low : nil
    }
}
