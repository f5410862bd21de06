// AMQPConnectionObserver.swift — one AMQP 0-9-1 connection: frames in, consumer outcomes out.

import PacketDecoding
import TCPReassembly

/// A frame as seen by the observer, for diagnostics and the tshark cross-check.
public struct AMQPFrameSummary: Sendable, Hashable {
    /// 1 method, 2 content header, 3 content body, 8 heartbeat.
    public var type: UInt8
    public var channel: UInt16
    public var method: AMQPMethodID?
}

/// Follows one connection between an application (client) and a broker (server).
///
/// Per channel it maps consumer tags to queues (`basic.consume` / `consume-ok`),
/// remembers each `basic.deliver` / `basic.get-ok` until the client answers it with
/// `basic.ack` / `basic.nack` / `basic.reject`, and then reports a ``ConsumerOutcome``.
/// See ``AMQPChannelState`` for the service-time model.
///
/// **Topic when the consumer tag is unknown** (the capture began after `basic.consume`,
/// or a gap hid it): a delivery through the default exchange (`""`) has the queue's
/// name as routing key (every queue is bound to it by its name, AMQP 0-9-1 §2.1.2.4), so that names the queue
/// (`QueueSource.routingKey`). Through any other exchange the queue is unknown:
/// `queue` is nil, `QueueSource.unknown`, counted in `unknownQueueDeliveries`.
///
/// **Direct reply-to replies** (``directReplyQueue``) are no-ack deliveries, known by their consumer or,
/// when it is unknown, by their routing key; they never become outstanding deliveries, and their
/// delivery tag, which RabbitMQ does not use up, tells only that the tags below it were used.
///
/// **Deliveries a client library gives back at a cancel.** pika, when the application cancels a
/// manual-ack consumer, sends `basic.reject` (requeue) for each delivery it holds but has not
/// handed to the application, then `basic.cancel`, and rejects (requeue) every delivery of that
/// consumer that reaches it afterwards. No worker ran for them (the reference records nothing;
/// `ctec_consumer`'s `stop()` does exactly this with a full prefetch buffer). A reject with
/// requeue of a consumer's delivery is therefore held back (``HeldRejects``) until it is known
/// not to be one of these: the client's next method on the channel is something else, or
/// `HeldRejects.windowNanoseconds` passes (checked when the connection's next bytes come: live,
/// such an outcome may wait for the next heartbeat). Followed by that consumer's `basic.cancel`,
/// it is dropped (`AMQPDropReason.cancelReturn`). After the cancel, such a reject is dropped when
/// it comes within that window of the cancel (of the delivery, when that arrived later): pika
/// sends these as soon as it reads the delivery. Later ones are a worker's answers: amqp091-go,
/// the Java client, rabbitmq-c and Bunny give nothing back and hand the deliveries received
/// before the `cancel-ok` to the application, whose worker answers each after its work
/// (`captures/amqp/polyglot_consumers.py`). A worker that itself answers reject-with-requeue
/// just before its application cancels the consumer (nothing else in between on the channel),
/// or within the window after the cancel, is dropped too: the wire shows no difference.
///
/// Anything malformed (see ``AMQPAnomaly``) gives the connection up: it is counted,
/// its outstanding deliveries are dropped (counted) and later bytes are ignored.
public final class AMQPConnectionObserver: StreamConsumer {
    public let connection: ConnectionInfo
    let observer: AMQPObserver
    let configuration: AMQPObserverConfiguration
    private let clientParser: AMQPFrameParser
    private let serverParser: AMQPFrameParser
    private(set) var channels: [UInt16: AMQPChannelState] = [:]
    private var givenUp = false
    /// Rejects with requeue not yet known to be a worker's answer (see the type's documentation).
    var held: HeldRejects
    /// Called for every complete frame (diagnostics, tests); nil costs nothing on the data path.
    public var frameTap: ((StreamDirection, AMQPFrameSummary) -> Void)?

    init(connection: ConnectionInfo, observer: AMQPObserver) {
        self.connection = connection
        self.observer = observer
        self.configuration = observer.configuration
        let fromStart = connection.synTime != nil
        clientParser = AMQPFrameParser(
            isClient: true, startsAtBeginning: fromStart, frameMax: configuration.maxFrameSize,
            synchronizationAttempts: configuration.synchronizationAttempts, budget: observer.bufferedMethodBytes)
        serverParser = AMQPFrameParser(
            isClient: false, startsAtBeginning: fromStart, frameMax: configuration.maxFrameSize,
            synchronizationAttempts: configuration.synchronizationAttempts, budget: observer.bufferedMethodBytes)
        held = HeldRejects(kept: observer.keptBytes, limit: configuration.maxOutstandingPerChannel)
    }

    deinit {
        held.discardAll()
    }

    /// Why the connection was given up, if it was.
    public var anomaly: AMQPAnomaly? { clientParser.failure ?? serverParser.failure }

    // MARK: StreamConsumer

    public func streamData(_ bytes: UnsafeRawBufferPointer, direction: StreamDirection, time: Timestamp) {
        guard !givenUp else {
            observer.statistics.ignoredBytes += bytes.count
            return
        }
        if let due = held.deadline, due < time { releaseHeld() }
        let parser = direction == .clientToServer ? clientParser : serverParser
        let skippedBefore = parser.unsynchronizedBytes
        parser.parse(bytes) { frame in handle(frame, direction: direction, time: time, parser: parser) }
        observer.statistics.unsynchronizedBytes += parser.unsynchronizedBytes - skippedBefore
        if let reason = parser.failure { giveUp(reason, time: time) }
    }

    public func streamGap(length: Int, direction: StreamDirection, time: Timestamp) {
        observer.statistics.gapBytes += length
        guard !givenUp else { return }
        releaseHeld()
        let parser = direction == .clientToServer ? clientParser : serverParser
        guard !parser.gap(length: length) else { return }
        // A method may be lost: replies are out of step with requests.
        for channel in channels.values { channel.forgetPendingRequests() }
        if direction == .serverToClient {
            // Deliveries may be lost; the known ones stay valid (their answers travel the other way).
            // RabbitMQ numbers a channel's deliveries 1, 2, 3, … so the next delivery shows how many
            // were lost, and placeholders keep their workers busy (see `fillLostDeliveries`).
            for channel in channels.values { channel.deliveriesMayBeMissing = true }
        } else {
            // Answers may be lost: no outstanding delivery can be trusted to be unanswered.
            for channel in channels.values { observer.countDropped(channel.dropAll(workersStayBusy: true), .gap) }
        }
    }

    public func streamEnd(direction: StreamDirection, reason: StreamEndReason, time: Timestamp) {
        // Once the client's direction ends no answer can follow.
        guard direction == .clientToServer, !givenUp else { return }
        releaseHeld()
        dropAllDeliveries(.streamEnd)
    }

    // MARK: Frames and methods

    private func handle(_ frame: AMQPFrame, direction: StreamDirection, time: Timestamp, parser: AMQPFrameParser) {
        switch frame {
        case .method(let channel, let payload):
            observer.statistics.methodFrames += 1
            switch AMQPMethod.decode(payload) {
            case .failure(.unknownMethod): parser.fail(.unknownMethod)
            case .failure(.truncated): parser.fail(.truncatedMethod)
            case .success(let (id, method)):
                observer.statistics.methodCounts[id.slot] += 1
                frameTap?(direction, AMQPFrameSummary(type: 1, channel: channel, method: id))
                handle(method, channel: channel, direction: direction, time: time)
            }
        case .contentHeader(let channel):
            observer.statistics.contentHeaderFrames += 1
            frameTap?(direction, AMQPFrameSummary(type: 2, channel: channel, method: nil))
        case .contentBody(let channel):
            observer.statistics.contentBodyFrames += 1
            frameTap?(direction, AMQPFrameSummary(type: 3, channel: channel, method: nil))
        case .heartbeat(let channel):
            observer.statistics.heartbeatFrames += 1
            frameTap?(direction, AMQPFrameSummary(type: 8, channel: channel, method: nil))
        }
    }

    private func handle(_ method: AMQPMethod, channel number: UInt16, direction: StreamDirection, time: Timestamp) {
        let fromClient = direction == .clientToServer
        if fromClient && !held.isEmpty {
            switch method {
            case .basicReject(_, requeue: true): break
            case .basicCancel(let tag): dropHeld(channel: number, consumerTag: tag)
            default: releaseHeld(channel: number)
            }
        }
        switch method {
        case .connectionTuneOk(let frameMax) where fromClient:
            let bound = configuration.negotiatedFrameSize(frameMax)
            clientParser.frameMax = bound
            serverParser.frameMax = bound
        case .connectionClose:
            releaseHeld()
            dropAllDeliveries(.connectionClose)
        case .channelOpen where fromClient:
            if let old = channels.removeValue(forKey: number) { observer.countDropped(old.dropAll(), .channelClose) }
            _ = channel(number, opened: true)
        case .channelClose:
            releaseHeld(channel: number)
            if let state = channels[number] {
                // The broker's close: answers the client wrote before it read the close are its workers'
                // (a consumer timeout: RabbitMQ closes the channel while the worker works, the worker's
                // ack follows); RabbitMQ ignores them and delivers the messages again, and the reference,
                // hooking the worker, counts every run. What the client's close-ok leaves is dropped.
                if fromClient { observer.countDropped(state.dropAll(), .channelClose) }
                state.isClosing = true
            }
        case .channelCloseOk:
            if let state = channels.removeValue(forKey: number) { observer.countDropped(state.dropAll(), .channelClose) }
        case .basicConsume(let queue, let tag, let noAck, let noWait) where fromClient:
            guard let state = channel(number) else { return }
            if noWait {
                register(PendingConsume(queue: queue.utf8String, tag: Array(tag), noAck: noAck), tag: tag, in: state)
            } else if state.pendingConsumes.count < configuration.maxPendingRequestsPerChannel {
                if !state.addPendingConsume(.init(queue: queue.utf8String, tag: Array(tag), noAck: noAck)) {
                    observer.count(.keptBytes)
                }
            } else {
                observer.count(.pendingRequestsPerChannel)
            }
        case .basicConsumeOk(let tag) where !fromClient:
            guard let state = channel(number), let consume = state.takePendingConsume() else { return }
            register(consume, tag: tag, in: state)
        case .basicCancel(let tag) where fromClient:
            channels[number]?.noteCancelled(tag: tag, time: time)
        case .basicCancelOk(let tag):
            channels[number]?.removeConsumer(tag: tag)
        case .basicGet(let queue, let noAck) where fromClient:
            guard let state = channel(number) else { return }
            if state.pendingGets.count < configuration.maxPendingRequestsPerChannel {
                if !state.addPendingGet(.init(queue: queue.utf8String, noAck: noAck)) { observer.count(.keptBytes) }
            } else {
                observer.count(.pendingRequestsPerChannel)
            }
        case .basicGetEmpty where !fromClient:
            _ = channels[number]?.takePendingGet()
        case .basicDeliver(let consumerTag, let deliveryTag, let redelivered, let exchange, let routingKey)
        where !fromClient:
            guard let state = channel(number), !state.isClosing else { return }
            let consumer = state.consumer(tag: consumerTag)
            if consumer?.directReply ?? Self.isDirectReplyAddress(exchange: exchange, routingKey: routingKey) {
                // A reply to the application's own request (always no-ack). RabbitMQ gives it the channel's
                // next delivery tag without using it up: the next delivery carries the same tag.
                fillLostDeliveries(before: deliveryTag, in: state, time: time, tagUsed: false)
                observer.statistics.noAckDeliveries += 1
                return
            }
            fillLostDeliveries(before: deliveryTag, in: state, time: time)
            if let consumer {
                if consumer.noAck {
                    observer.statistics.noAckDeliveries += 1
                    return
                }
                deliver(
                    .init(deliveryTag: deliveryTag, consumerTag: consumer.tagString, queue: consumer.queue,
                          queueSource: .consume, redelivered: redelivered, deliverTime: time), to: state,
                    ownStrings: false)
            } else {
                var delivery = fallbackQueue(exchange: exchange, routingKey: routingKey, time: time)
                delivery.deliveryTag = deliveryTag
                delivery.consumerTag = consumerTag.utf8String
                delivery.redelivered = redelivered
                deliver(delivery, to: state, ownStrings: true)
            }
        case .basicGetOk(let deliveryTag, let redelivered, let exchange, let routingKey) where !fromClient:
            guard let state = channel(number), !state.isClosing else { return }
            fillLostDeliveries(before: deliveryTag, in: state, time: time)
            var delivery: OutstandingDelivery
            if let get = state.takePendingGet() {
                if get.noAck {
                    observer.statistics.noAckDeliveries += 1
                    return
                }
                delivery = OutstandingDelivery(
                    deliveryTag: deliveryTag, consumerTag: nil, queue: get.queue, queueSource: .get,
                    redelivered: redelivered, deliverTime: time)
            } else {
                delivery = fallbackQueue(exchange: exchange, routingKey: routingKey, time: time)
                delivery.deliveryTag = deliveryTag
                delivery.redelivered = redelivered
            }
            deliver(delivery, to: state, ownStrings: true)
        case .basicAck(let tag, let multiple) where fromClient:
            answer(.ack, tag: tag, multiple: multiple, channel: number, time: time)
        case .basicNack(let tag, let multiple, let requeue) where fromClient:
            answer(.nack(requeue: requeue), tag: tag, multiple: multiple, channel: number, time: time)
        case .basicReject(let tag, let requeue) where fromClient:
            answer(.reject(requeue: requeue), tag: tag, multiple: false, channel: number, time: time)
        case .basicRecover where fromClient:
            if let state = channels[number] { observer.countDropped(state.dropAll(), .recover) }
        default:
            // Publisher confirms (basic.ack/nack from the broker) and every other method: nothing to track.
            break
        }
    }

    /// The channel's state, created on first use (the capture may have missed channel.open);
    /// nil when the channel bound is reached.
    func channel(_ number: UInt16, opened: Bool = false) -> AMQPChannelState? {
        if let state = channels[number] { return state }
        guard channels.count < configuration.maxChannelsPerConnection else {
            observer.count(.channelsPerConnection)
            return nil
        }
        guard observer.keptBytes.hasRoom(for: AMQPChannelState.channelCost) else {
            observer.count(.keptBytes)
            return nil
        }
        // Seen from its start when opened before our eyes, or when the whole connection was.
        let state = AMQPChannelState(
            workers: configuration.consumerConcurrency, seenFromStart: opened || connection.synTime != nil,
            tally: observer.outstanding, kept: observer.keptBytes)
        channels[number] = state
        return state
    }

    private func dropAllDeliveries(_ reason: AMQPDropReason) {
        for channel in channels.values { observer.countDropped(channel.dropAll(), reason) }
    }

    private func giveUp(_ reason: AMQPAnomaly, time: Timestamp) {
        releaseHeld()
        givenUp = true
        observer.count(reason)
        observer.statistics.connectionsGivenUp += 1
        dropAllDeliveries(.givenUp)
        channels.removeAll()
    }
}
