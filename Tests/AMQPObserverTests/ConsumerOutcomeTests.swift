// ConsumerOutcomeTests.swift — consume/deliver/answer pairing, gets, cancels, closes, fallbacks.

@testable import AMQPObserver
import PacketDecoding
import TCPReassembly
import Testing

@Suite struct ConsumerOutcomeTests {
    @Test func ackNackRejectGiveCodesAndQueue() {
        let result = run(preamble() + [
            s2c(100, AMQP.deliver(1, tag: "c1", deliveryTag: 1)),
            c2s(250, AMQP.ack(1, 1)),
            s2c(260, AMQP.deliver(1, tag: "c1", deliveryTag: 2, redelivered: true)),
            c2s(610, AMQP.nack(1, 2, requeue: true)),
            s2c(620, AMQP.deliver(1, tag: "c1", deliveryTag: 3)),
            c2s(1270, AMQP.reject(1, 3, requeue: false)),
        ])
        #expect(result.outcomes.map(\.answer) == [.ack, .nack(requeue: true), .reject(requeue: false)])
        #expect(result.outcomes.map(\.answer.code) == [0, 1, 1])
        #expect(result.outcomes.allSatisfy { $0.queue == "orders" && $0.queueSource == .consume && $0.consumerTag == "c1" })
        #expect(result.outcomes.map(\.redelivered) == [false, true, false])
        #expect(result.outcomes.map { $0.times.start } == [100, 260, 620])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [150, 350, 650])
        #expect(result.statistics.acks == 1 && result.statistics.nacks == 1 && result.statistics.rejects == 1)
        #expect(result.statistics.methods[AMQPMethodID(classID: 60, methodID: 60)] == 3)
        #expect(result.statistics.contentHeaderFrames == 3 && result.statistics.contentBodyFrames == 3)
    }

    @Test func multipleAckSettlesInTagOrderAndTagZeroMeansAll() {
        let result = run(preamble() + [
            s2c(100, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            s2c(110, AMQP.deliver(1, tag: "c1", deliveryTag: 3), AMQP.deliver(1, tag: "c1", deliveryTag: 4)),
            c2s(500, AMQP.ack(1, 2, multiple: true)),
            s2c(510, AMQP.deliver(1, tag: "c1", deliveryTag: 5)),
            c2s(900, AMQP.nack(1, 0, multiple: true, requeue: false)),
        ])
        #expect(result.outcomes.map(\.deliveryTag) == [1, 2, 3, 4, 5])
        #expect(result.outcomes.map(\.answer) == [.ack, .ack, .nack(requeue: false), .nack(requeue: false), .nack(requeue: false)])
        // k = 1: each settled delivery frees the worker for the next one.
        #expect(result.outcomes.map { $0.times.start } == [100, 500, 500, 900, 900])
        #expect(result.outcomes.map { $0.times.end } == [500, 500, 900, 900, 900])
        #expect(result.outcomes.map { $0.durationNanoseconds(.deliverToAnswer) / 1_000_000 } == [400, 400, 790, 790, 390])
        #expect(result.statistics.unmatchedAnswers == 0)
    }

    @Test func basicGetTakesTheQueueOfTheGet() {
        let result = run([
            c2s(0, AMQP.protocolHeader), c2s(1, AMQP.channelOpen(1), AMQP.get(1, queue: "polled")),
            s2c(2, AMQP.getEmpty(1)),
            c2s(50, AMQP.get(1, queue: "polled")),
            s2c(51, AMQP.getOk(1, deliveryTag: 1, exchange: "ex", routingKey: "rk")),
            c2s(201, AMQP.ack(1, 1)),
            c2s(210, AMQP.get(1, queue: "other", noAck: true)),
            s2c(211, AMQP.getOk(1, deliveryTag: 2)),
        ])
        #expect(result.outcomes.count == 1)
        #expect(result.outcomes.first?.queue == "polled")
        #expect(result.outcomes.first?.queueSource == .get)
        #expect(result.outcomes.first?.consumerTag == nil)
        #expect(result.outcomes.first.map { $0.times } ?? (0, 0) == (51, 201))
        #expect(result.statistics.noAckDeliveries == 1)
    }

    @Test func serverGeneratedConsumerTagComesFromConsumeOk() {
        let result = run([
            c2s(0, AMQP.protocolHeader, AMQP.channelOpen(2), AMQP.consume(2, queue: "jobs", tag: "")),
            s2c(1, AMQP.consumeOk(2, tag: "amq.ctag-Zq3_x")),
            s2c(10, AMQP.deliver(2, tag: "amq.ctag-Zq3_x", deliveryTag: 1, exchange: "topic-ex", routingKey: "a.b")),
            c2s(20, AMQP.ack(2, 1)),
        ])
        #expect(result.outcomes.map(\.queue) == ["jobs"])
        #expect(result.outcomes.map(\.consumerTag) == ["amq.ctag-Zq3_x"])
        #expect(result.outcomes.map(\.channel) == [2])
    }

    @Test func unknownTagFallsBackToTheDefaultExchangeRoutingKey() {
        // No basic.consume seen (capture began later).
        let result = run([
            s2c(10, AMQP.deliver(1, tag: "old", deliveryTag: 7, exchange: "", routingKey: "orders")),
            s2c(11, AMQP.deliver(1, tag: "old", deliveryTag: 8, exchange: "amq.topic", routingKey: "x.y")),
            c2s(20, AMQP.ack(1, 8, multiple: true)),
        ], handshake: false)
        #expect(result.outcomes.map(\.queue) == ["orders", nil])
        #expect(result.outcomes.map(\.queueSource) == [.routingKey, .unknown])
        #expect(result.statistics.routingKeyQueueDeliveries == 1)
        #expect(result.statistics.unknownQueueDeliveries == 1)
    }

    @Test func cancelOkForgetsTheTagAndNoAckConsumersAreNotTimed() {
        let result = run(preamble() + [
            c2s(3, AMQP.consume(1, queue: "fire", tag: "n1", noAck: true)), s2c(4, AMQP.consumeOk(1, tag: "n1")),
            s2c(5, AMQP.deliver(1, tag: "n1", deliveryTag: 1, routingKey: "fire")),
            c2s(10, AMQP.cancel(1, tag: "c1")), s2c(11, AMQP.cancelOk(1, tag: "c1")),
            s2c(12, AMQP.deliver(1, tag: "c1", deliveryTag: 2, exchange: "e", routingKey: "k")),
            c2s(20, AMQP.ack(1, 2)),
        ])
        #expect(result.statistics.noAckDeliveries == 1)
        #expect(result.outcomes.map(\.queueSource) == [.unknown])
    }

    /// pika's `basic_cancel` on a manual-ack consumer (what `ctec_consumer`'s `stop()` does): a reject
    /// with requeue for each delivery it holds but never handed to the worker, then `basic.cancel`,
    /// then a reject with requeue for each delivery that reaches it afterwards. Recorded live against
    /// the reference in `captures/amqp/random_consumers.py` (seed 2: 14 such rejects, none recorded by the
    /// reference). The worker ran for delivery 1 only.
    @Test func rejectsAClientLibraryGivesBackAtACancelAreNotOutcomes() {
        let result = run(preamble() + [
            s2c(100, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            s2c(101, AMQP.deliver(1, tag: "c1", deliveryTag: 3), AMQP.deliver(1, tag: "c1", deliveryTag: 4)),
            c2s(250, AMQP.ack(1, 1)),
            c2s(251, AMQP.reject(1, 2, requeue: true)),
            c2s(251, AMQP.reject(1, 3, requeue: true), AMQP.reject(1, 4, requeue: true)),
            c2s(251, AMQP.cancel(1, tag: "c1")),
            s2c(252, AMQP.deliver(1, tag: "c1", deliveryTag: 5)), s2c(252, AMQP.cancelOk(1, tag: "c1")),
            c2s(253, AMQP.reject(1, 5, requeue: true)),
            c2s(260, AMQP.channelClose(1)),
        ])
        #expect(result.outcomes.map(\.deliveryTag) == [1])
        #expect(result.statistics.droppedDeliveries == [.cancelReturn: 4])
        #expect(result.statistics.rejects == 0)
    }

    /// amqp091-go, the Java client, rabbitmq-c and Bunny give nothing back at a cancel: the deliveries
    /// received before the `cancel-ok` are still handed to the worker, which answers each after the
    /// cancel, a reject with requeue too (`captures/amqp/polyglot_consumers.py`). Those are outcomes;
    /// pika's give-backs after the cancel come at once (within `HeldRejects.windowNanoseconds` of
    /// the cancel, or of the delivery when it arrives later), a worker's answer only after its work.
    @Test func aWorkersRejectWithRequeueAfterTheCancelIsCounted() {
        let result = run(preamble() + [
            s2c(100, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            s2c(101, AMQP.deliver(1, tag: "c1", deliveryTag: 3), AMQP.deliver(1, tag: "c1", deliveryTag: 4)),
            c2s(250, AMQP.ack(1, 1)),
            c2s(251, AMQP.cancel(1, tag: "c1")),
            s2c(252, AMQP.deliver(1, tag: "c1", deliveryTag: 5)), s2c(252, AMQP.cancelOk(1, tag: "c1")),
            c2s(401, AMQP.reject(1, 2, requeue: true)),  // the worker's, 150 ms of work after the cancel
            c2s(751, AMQP.nack(1, 3, requeue: false)),
            c2s(901, AMQP.reject(1, 4, requeue: true)),
            c2s(1051, AMQP.reject(1, 5, requeue: true)),
            c2s(1060, AMQP.channelClose(1)),
        ])
        #expect(result.outcomes.map(\.deliveryTag) == [1, 2, 3, 4, 5])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [150, 151, 350, 150, 150])
        #expect(result.statistics.droppedDeliveries.isEmpty)
        #expect(result.statistics.rejects == 3)
    }

    /// A worker's own reject with requeue (kombu's `requeue()`) is counted: once the client's next
    /// method on the channel is something else, once time passes, or when the connection ends.
    @Test func aWorkersRejectWithRequeueIsCountedOnceItIsNoGiveBack() {
        let result = run(preamble() + [
            s2c(100, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            c2s(250, AMQP.reject(1, 1, requeue: true)),
            c2s(600, AMQP.ack(1, 2)),
            s2c(610, AMQP.deliver(1, tag: "c1", deliveryTag: 3, redelivered: true)),
            c2s(960, AMQP.reject(1, 3, requeue: true)),
            s2c(1100, AMQP.deliver(1, tag: "c1", deliveryTag: 4, redelivered: true)),  // past the window
            c2s(1300, AMQP.reject(1, 4, requeue: true)),
            c2s(1301, AMQP.cancel(1, tag: "c1")),  // 1 ms later, nothing between: taken for a give-back
            c2s(1302, AMQP.consume(1, queue: "orders", tag: "c1")), s2c(1303, AMQP.consumeOk(1, tag: "c1")),
            s2c(1304, AMQP.deliver(1, tag: "c1", deliveryTag: 5, redelivered: true)),
            c2s(1504, AMQP.reject(1, 5, requeue: true)),  // the tag consumes again: a worker's answer
            .end(.clientToServer, ms(1505)),
        ])
        #expect(result.outcomes.map(\.deliveryTag) == [1, 2, 3, 5])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [150, 350, 350, 200])
        #expect(result.statistics.droppedDeliveries == [.cancelReturn: 1])
        #expect(result.statistics.rejects == 3 && result.statistics.acks == 1)
    }

    @Test func closesAndStreamEndDropOutstandingDeliveries() {
        let result = run(preamble() + [
            c2s(3, AMQP.channelOpen(2), AMQP.consume(2, queue: "b", tag: "c2")), s2c(4, AMQP.consumeOk(2, tag: "c2")),
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            s2c(11, AMQP.deliver(2, tag: "c2", deliveryTag: 1)),
            c2s(20, AMQP.channelClose(1)),
            s2c(21, AMQP.deliver(1, tag: "c1", deliveryTag: 3)),  // in flight: ignored while closing
            c2s(22, AMQP.ack(1, 1)),  // too late: unmatched
            s2c(23, AMQP.channelCloseOk(1)),
            .end(.clientToServer, ms(30)),
        ])
        #expect(result.outcomes.isEmpty)
        #expect(result.statistics.droppedDeliveries == [.channelClose: 2, .streamEnd: 1])
        #expect(result.statistics.unmatchedAnswers == 1)

        let closed = run(preamble() + [
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1)), s2c(11, AMQP.connectionClose()),
        ])
        #expect(closed.statistics.droppedDeliveries == [.connectionClose: 1])
    }

    /// The broker closes the channel (RabbitMQ's consumer timeout, 406) while a worker works: the ack
    /// the client writes before it reads the close is the worker's outcome (the reference counts it);
    /// what is left at the client's close-ok is dropped (`captures/amqp/consumer-timeout`).
    @Test func answersBeforeTheClientsCloseOkAfterTheBrokersCloseAreOutcomes() {
        let result = run(preamble() + [
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            s2c(2010, AMQP.channelClose(1)),
            s2c(2011, AMQP.deliver(1, tag: "c1", deliveryTag: 3)),  // in flight: ignored while closing
            c2s(2500, AMQP.ack(1, 1)),
            c2s(2501, AMQP.channelCloseOk(1)),
            c2s(2502, AMQP.ack(1, 2)),  // after the close-ok: unmatched
            .end(.clientToServer, ms(2600)),
        ])
        #expect(result.outcomes.map(\.deliveryTag) == [1])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [2490])
        #expect(result.statistics.droppedDeliveries == [.channelClose: 1])
        #expect(result.statistics.unmatchedAnswers == 1)
    }

    @Test func publisherConfirmsFromTheBrokerAreNotAnswers() {
        let result = run(preamble() + [
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1)),
            s2c(11, AMQP.ack(1, 1, multiple: true)),  // broker confirming the client's publishes
            c2s(40, AMQP.ack(1, 1)),
        ])
        #expect(result.outcomes.map { $0.times.end } == [40])
    }

    @Test func limitsAreCountedNotExceeded() {
        let config = AMQPObserverConfiguration(maxOutstandingPerChannel: 2, maxChannelsPerConnection: 2)
        let result = run(preamble() + [
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            s2c(11, AMQP.deliver(1, tag: "c1", deliveryTag: 3)),
            c2s(12, AMQP.channelOpen(2), AMQP.channelOpen(3)),
            c2s(20, AMQP.ack(1, 0, multiple: true)),
        ], configuration: config)
        #expect(result.outcomes.map(\.deliveryTag) == [2, 3])
        #expect(result.statistics.limitHits == [.outstandingPerChannel: 1, .channelsPerConnection: 1])
        #expect(result.statistics.droppedDeliveries == [.outstandingLimit: 1])
    }

    /// Every known id has its own counter slot, and the slot gives the id back.
    @Test func methodSlotsAreDistinctForKnownIDs() {
        var seen: Set<Int> = []
        for classID: UInt16 in [10, 20, 40, 50, 60, 85, 90] {
            for methodID: UInt16 in 0...130 {
                let id = AMQPMethodID(classID: classID, methodID: methodID)
                guard id.isKnown else { continue }
                #expect(id.name != nil)
                #expect(seen.insert(id.slot).inserted, "\(id)")
                #expect(AMQPMethodID(slot: id.slot) == id)
            }
        }
        #expect(seen.count == 64)
    }

    @Test func heartbeatsAndChannelZeroAreCounted() {
        let result = run(preamble() + [c2s(5, AMQP.heartbeat), s2c(6, AMQP.heartbeat, AMQP.heartbeat)])
        #expect(result.statistics.heartbeatFrames == 3)
        #expect(result.anomaly == nil)
    }
}
