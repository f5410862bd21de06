// ServiceTimeTests.swift — the k-worker service-time rule, with durations computed by hand.

import AMQPObserver
import PacketDecoding
import TCPReassembly
import Testing

@Suite struct ServiceTimeTests {
    /// Prefetch 3, one worker: 150, 350, 650 ms of work; the deliveries arrive together.
    @Test func oneWorkerStartsAtThePreviousAnswer() {
        let result = run(preamble() + [
            s2c(100, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2),
                AMQP.deliver(1, tag: "c1", deliveryTag: 3)),
            c2s(250, AMQP.ack(1, 1)),  // worker: 100 → 250
            c2s(600, AMQP.ack(1, 2)),  // worker: 250 → 600
            s2c(601, AMQP.deliver(1, tag: "c1", deliveryTag: 4)),
            c2s(1250, AMQP.reject(1, 3)),  // worker: 600 → 1250
            c2s(1400, AMQP.ack(1, 4)),  // worker: 1250 → 1400
            s2c(2000, AMQP.deliver(1, tag: "c1", deliveryTag: 5)),
            c2s(2150, AMQP.ack(1, 5)),  // idle worker: starts at the deliver, 2000 → 2150
        ])
        #expect(result.outcomes.map { $0.times.start } == [100, 250, 600, 1250, 2000])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [150, 350, 650, 150, 150])
        #expect(result.outcomes.map { $0.durationNanoseconds(.deliverToAnswer) / 1_000_000 } == [150, 500, 1150, 799, 150])
        #expect(result.statistics.answeredWhileQueued == 0)
    }

    /// Two workers, five deliveries at once; worker A: 1 (150), 3 (350), 5 (150); worker B: 2 (650), 4 (150).
    @Test func twoWorkersTakeTheEarliestFreedWorker() {
        let result = run(preamble() + [
            s2c(0, (1...5).flatMap { AMQP.deliver(1, tag: "c1", deliveryTag: UInt64($0)) }),
            c2s(150, AMQP.ack(1, 1)),  // A frees at 150 → 3 starts
            c2s(500, AMQP.ack(1, 3)),  // A frees at 500 → 4 starts
            c2s(650, AMQP.nack(1, 2)),  // B frees at 650 → 5 starts
            c2s(650 + 150, AMQP.ack(1, 4)),  // 4: 500 → 800 (A took it at 500)
            c2s(800, AMQP.ack(1, 5)),  // 5: 650 → 800
        ], configuration: .init(consumerConcurrency: 2))
        let byTag = Dictionary(uniqueKeysWithValues: result.outcomes.map { ($0.deliveryTag, $0) })
        #expect(byTag[1]?.times.start == 0 && byTag[1]?.times.end == 150)
        #expect(byTag[2]?.times.start == 0 && byTag[2]?.times.end == 650)
        #expect(byTag[3]?.times.start == 150 && byTag[3]?.times.end == 500)
        #expect(byTag[4]?.times.start == 500 && byTag[4]?.times.end == 800)
        #expect(byTag[5]?.times.start == 650 && byTag[5]?.times.end == 800)
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [150, 350, 650, 300, 150])
    }

    /// A batch of three handled by three workers and answered by one multiple ack.
    @Test func threeWorkersAndMultipleAcks() {
        let result = run(preamble() + [
            s2c(0, (1...6).flatMap { AMQP.deliver(1, tag: "c1", deliveryTag: UInt64($0)) }),
            c2s(350, AMQP.ack(1, 3, multiple: true)),  // 1–3: 0 → 350; frees three workers for 4–6
            c2s(1000, AMQP.nack(1, 6, multiple: true, requeue: false)),  // 4–6: 350 → 1000
        ], configuration: .init(consumerConcurrency: 3))
        #expect(result.outcomes.map { $0.times.start } == [0, 0, 0, 350, 350, 350])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [350, 350, 350, 650, 650, 650])
    }

    /// Answers out of FIFO order with one worker: the early answer is counted, its start is the previous answer.
    @Test func answerWhileQueuedIsCounted() {
        let result = run(preamble() + [
            s2c(0, AMQP.deliver(1, tag: "c1", deliveryTag: 1), AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            c2s(100, AMQP.ack(1, 1)),
            s2c(110, AMQP.deliver(1, tag: "c1", deliveryTag: 3)),
            c2s(300, AMQP.ack(1, 3)),  // 3 was waiting behind 2
            c2s(400, AMQP.ack(1, 2)),
        ])
        #expect(result.statistics.answeredWhileQueued == 1)
        #expect(result.outcomes.map { $0.times.start } == [0, 110, 100])
    }

    /// Answers for deliveries before the capture free their worker.
    @Test func answersForUnseenDeliveriesFreeTheWorker() {
        let result = run([
            s2c(0, AMQP.deliver(1, tag: "c1", deliveryTag: 11, routingKey: "orders")),
            c2s(200, AMQP.ack(1, 10)),  // the worker was busy with tag 10 until now
            c2s(350, AMQP.ack(1, 11)),
        ], handshake: false)
        #expect(result.statistics.unmatchedAnswers == 1)
        // Mid-stream the worker is taken as busy with an unseen delivery until the answer for tag 10.
        #expect(result.outcomes.map { $0.times.start } == [200])
        #expect(result.statistics.answeredWhileQueued == 0)
    }

    /// Mid-stream on an idle consumer: the first delivery is answered "while waiting" and starts at its deliver.
    @Test func midstreamIdleConsumerStartsAtDeliver() {
        let result = run([
            s2c(0, AMQP.deliver(1, tag: "c1", deliveryTag: 11, routingKey: "orders"),
                AMQP.deliver(1, tag: "c1", deliveryTag: 12, routingKey: "orders")),
            c2s(150, AMQP.ack(1, 11)),
            c2s(500, AMQP.ack(1, 12)),
        ], handshake: false)
        #expect(result.outcomes.map { $0.times.start } == [0, 150])
        #expect(result.outcomes.map { $0.durationNanoseconds() / 1_000_000 } == [150, 350])
    }
}
