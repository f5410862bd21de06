// SplitInvarianceTests.swift — the same bytes whole, one byte at a time and at random cuts give the same result.

import AMQPObserver
import PacketDecoding
import TCPReassembly
import Testing

@Suite struct SplitInvarianceTests {
    /// Many frames per segment (a burst of deliveries with headers and bodies, acks batched), a body larger
    /// than a typical segment, heartbeats, a get, a nack and a multiple ack.
    static let conversation: [StreamEvent] = preamble() + [
        c2s(3, AMQP.tuneOk(frameMax: 131_072)),
        s2c(10, (1...8).flatMap { AMQP.deliver(1, tag: "c1", deliveryTag: UInt64($0), body: Array(repeating: UInt8($0), count: 100 * $0)) }),
        c2s(160, AMQP.ack(1, 1), AMQP.heartbeat),
        c2s(510, AMQP.ack(1, 2), AMQP.nack(1, 3, requeue: false)),
        s2c(511, AMQP.deliver(1, tag: "c1", deliveryTag: 9, body: Array(repeating: 0xCE, count: 20_000)), AMQP.heartbeat),
        c2s(900, AMQP.ack(1, 6, multiple: true), AMQP.reject(1, 7)),
        c2s(901, AMQP.get(1, queue: "polled")), s2c(902, AMQP.getOk(1, deliveryTag: 10)),
        c2s(1500, AMQP.ack(1, 0, multiple: true)),
    ]

    static let splits: [Split] = [.whole, .bytewise] + (1...5).map { .random(seed: UInt64($0)) }

    @Test(arguments: splits)
    func outcomesDoNotDependOnSegmentation(split: Split) {
        let reference = run(Self.conversation)
        let result = run(Self.conversation, split: split)
        #expect(reference.outcomes.count == 10)
        #expect(result.outcomes == reference.outcomes)
        #expect(result.statistics == reference.statistics)
        #expect(result.anomaly == nil)
    }

    /// A gap inside a body frame loses nothing: the parser skips it like the bytes it replaces.
    @Test(arguments: [Split.whole, .bytewise, .random(seed: 9)])
    func gapInsideABodyIsSkippedBySize(split: Split) {
        let deliver = AMQP.deliver(1, tag: "c1", deliveryTag: 1, body: Array(repeating: 7, count: 1000))
        let cut = deliver.count - 600  // inside the body
        let result = run(preamble() + [
            .data(.serverToClient, Array(deliver[..<cut]), ms(10)),
            .gap(.serverToClient, 500, ms(11)),
            .data(.serverToClient, Array(deliver[(cut + 500)...]), ms(11)),
            c2s(160, AMQP.ack(1, 1)),
        ], split: split)
        #expect(result.outcomes.map { $0.times.start } == [10])
        #expect(result.statistics.gapBytes == 500)
        #expect(result.statistics.droppedDeliveries.isEmpty)
    }

    /// A gap where a method may have been: outstanding deliveries are dropped and the parser
    /// finds the next frame at the start of a later segment.
    @Test func gapAtAMethodDropsAndResynchronises() {
        let result = run(preamble() + [
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1)),
            .gap(.clientToServer, 29, ms(150)),  // the ack of 1 was lost
            c2s(160, Array(AMQP.ack(1, 1).suffix(5))),  // the rest of a frame: not a frame start, skipped
            s2c(200, AMQP.deliver(1, tag: "c1", deliveryTag: 2)),
            c2s(400, AMQP.ack(1, 2)),
        ])
        #expect(result.statistics.droppedDeliveries == [.gap: 1])
        #expect(result.statistics.unsynchronizedBytes == 5)
        // The lost ack's worker stays busy until evidence frees it: 2 is answered "while waiting", from its deliver.
        #expect(result.outcomes.map { $0.times.start } == [200])
        #expect(result.outcomes.map(\.queue) == ["orders"])
    }

    /// A gap in the broker's direction swallowed deliveries 2 and 3: placeholders hold the worker
    /// (k = 1), so delivery 4 starts when 3 is answered, as it did on the wire.
    @Test func lostDeliveriesHoldTheirWorkers() {
        let result = run(preamble() + [
            s2c(0, AMQP.deliver(1, tag: "c1", deliveryTag: 1)),
            .gap(.serverToClient, 2 * AMQP.deliver(1, tag: "c1", deliveryTag: 2).count, ms(1)),
            s2c(2, AMQP.deliver(1, tag: "c1", deliveryTag: 4)),
            c2s(150, AMQP.ack(1, 1)),
            c2s(500, AMQP.ack(1, 2)),
            c2s(1150, AMQP.ack(1, 3)),
            c2s(1300, AMQP.ack(1, 4)),
        ])
        #expect(result.outcomes.map(\.deliveryTag) == [1, 4])
        #expect(result.outcomes.map { $0.times.start } == [0, 1150])
        #expect(result.statistics.lostDeliveries == 2)
        #expect(result.statistics.answersForLostDeliveries == 2)
        #expect(result.statistics.unmatchedAnswers == 0)
    }
}
