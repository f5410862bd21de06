// FixtureReplayTests.swift — real RabbitMQ captures replayed: outcomes vs what the consumers measured, tshark's method sequence.

import AMQPObserver
import Foundation
import PacketDecoding
import TCPReassembly
import Testing

@Suite struct FixtureReplayTests {
    struct Fixture: CustomStringConvertible, Sendable {
        var name: String
        /// The consumers' worker count per channel (consumers.py).
        var workers: Int
        var description: String { name }
    }

    static let fixtures: [Fixture] = [
        .init(name: "ack-nack-reject", workers: 1), .init(name: "prefetch-burst", workers: 1),
        .init(name: "multiple-ack", workers: 3), .init(name: "two-queues-k2", workers: 2),
        .init(name: "get-poller", workers: 1), .init(name: "cancel-and-drop", workers: 1),
    ] + moreFixtures.map { .init(name: $0, workers: 1) } + polyglotFixtures.map { .init(name: $0, workers: 1) }
        + [.init(name: "go-batch", workers: 3)] + featureFixtures.map { .init(name: $0, workers: 1) }

    /// make-more-fixtures.sh (more_consumers.py): one worker per channel each.
    static let moreFixtures = [
        "large-body", "channels-interleaved", "auto-ack", "qos-recover", "transactions", "confirms-return",
        "server-cancel", "blocked-restart", "kombu", "aio-pika", "amqpstorm", "channel-errors", "lossy",
    ]

    /// make-polyglot-fixtures.sh (polyglot_consumers.py): consumers in Go, Java, C, Ruby and PHP,
    /// one worker per channel; `go-batch` answers batches of three handled together (3 workers).
    static let polyglotFixtures = ["go-amqp091", "java-client", "c-rabbitmq", "ruby-bunny", "php-amqplib"]

    /// make-feature-fixtures.sh (feature_consumers.py): RabbitMQ's quorum and stream queues, single active
    /// consumer, consumer priorities, exclusive consumers, direct reply-to, large field tables, many body
    /// frames; one worker per consumer, each on a connection of its own.
    static let featureFixtures = [
        "quorum-redelivery", "stream-offset", "sac-priority", "direct-reply-to", "field-tables", "rpc-chain",
        "consumer-timeout",
    ]

    static func replay(_ name: String, workers: Int) throws -> FixtureReplayer {
        let replayer = FixtureReplayer(configuration: .init(consumerConcurrency: workers))
        replayer.replay(try readFixture("\(name).payloads.txt"))
        return replayer
    }

    /// Per queue and code: the counts and buckets of the service-time rule equal what the workers measured.
    @Test(arguments: fixtures)
    func outcomesMatchWhatTheConsumersMeasured(_ fixture: Fixture) throws {
        let replayer = try Self.replay(fixture.name, workers: fixture.workers)
        let outcomes = replayer.sink.outcomes
        let expected = expectedHistogram(try readFixture("\(fixture.name).expected.txt"))
        let observed = histogram(outcomes, rule: .serviceTime)
        #expect(observed == expected)
        #expect(replayer.observer.statistics.anomalies.isEmpty)

        // Per message: the wire's duration vs the worker's own.
        var workers = try workerDurations(try readFixture("\(fixture.name).workers.json"))
        let recorded = workers.values.map(\.count).reduce(0, +)
        var worst = 0.0
        var plainMoved = 0
        for outcome in outcomes.sorted(by: { $0.answerTime < $1.answerTime }) {
            let key = "\(outcome.queue ?? "-")#\(outcome.deliveryTag)"
            let measured = try #require(workers[key]?.first, "no worker record for \(key)")
            workers[key]!.removeFirst()
            let wire = Double(outcome.durationNanoseconds()) / 1e6
            worst = max(worst, abs(wire - measured))
            let plain = Double(outcome.durationNanoseconds(.deliverToAnswer)) / 1e6
            if bucketIndex(milliseconds: plain) != bucketIndex(milliseconds: measured) { plainMoved += 1 }
        }
        #expect(outcomes.count == recorded)
        // The wire sees the answer a little after the worker ends (pika's I/O thread), and the
        // delivery a little before the worker takes it: milliseconds, far from the 50 ms margins.
        #expect(worst < 25)
        let stats = replayer.observer.statistics
        print("""
            [amqp-fixture] \(fixture.name) k=\(fixture.workers): \(outcomes.count) outcomes, \
            max |wire - worker| = \(String(format: "%.2f", worst)) ms, deliver->answer moves \(plainMoved) to another bucket; \
            dropped \(stats.droppedDeliveries.map { "\($0.key.rawValue)=\($0.value)" }.sorted()), \
            frames m/h/b/hb \(stats.methodFrames)/\(stats.contentHeaderFrames)/\(stats.contentBodyFrames)/\(stats.heartbeatFrames)
            """)
        for row in observed { print("[amqp-fixture]   \(fixture.name) \(row)") }
    }

    /// The frames we decode, packet by packet, are those tshark's AMQP dissector decodes.
    @Test(arguments: fixtures.map(\.name) + ["celery", "prefetch-burst-midstream", "prefetch-burst-dropped", "prefetch-burst-lost-deliver",
        "rpc-chain-midstream", "direct-reply-to-midstream", "rpc-chain-lost-deliver"])
    func methodSequenceMatchesTshark(_ name: String) throws {
        let replayer = try Self.replay(name, workers: 1)
        var ours: [Int: String] = [:]
        for (frame, frames) in replayer.framesByPacket {
            let port = frames[0].0 == .serverToClient ? "\(fixtureBrokerPort)" : "client"
            let methods = frames.compactMap(\.1.method)
            ours[frame] = [
                port, frames.map { "\($0.1.channel)" }.joined(separator: ","), frames.map { "\($0.1.type)" }.joined(separator: ","),
                methods.map { "\($0.classID)" }.joined(separator: ","), methods.map { "\($0.methodID)" }.joined(separator: ","),
            ].joined(separator: "\t")
        }
        var theirs: [Int: String] = [:]
        for line in try readFixture("\(name).methods.txt").split(separator: "\n") {
            var f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            while f.count < 6 { f.append("") }
            if f[1] != "\(fixtureBrokerPort)" { f[1] = "client" }
            theirs[Int(f[0])!] = f[1...5].joined(separator: "\t")
        }
        let mismatched = Set(ours.keys).union(theirs.keys).filter { ours[$0] != theirs[$0] }.sorted()
        for frame in mismatched.prefix(5) {
            print("[amqp-tshark] \(name) frame \(frame): ours \(ours[frame] ?? "-") | tshark \(theirs[frame] ?? "-")")
        }
        #expect(mismatched.isEmpty)
        if name.hasPrefix("prefetch-burst-") { return }
        #expect(theirs.count > 50)
        print("[amqp-tshark] \(name): \(theirs.count) packets with AMQP frames, \(ours.values.map { $0.split(separator: "\t")[2].split(separator: ",").count }.reduce(0, +)) frames, identical")
    }

    /// Capture begun at the first basic.deliver: no consume seen, topics from the default exchange's routing key.
    @Test func midstreamCopyRecoversQueuesFromRoutingKeys() throws {
        let replayer = try Self.replay("prefetch-burst-midstream", workers: 1)
        let outcomes = replayer.sink.outcomes
        let expected = expectedHistogram(try readFixture("prefetch-burst.expected.txt"))
        #expect(histogram(outcomes, rule: .serviceTime) == expected)
        #expect(outcomes.allSatisfy { $0.queueSource == .routingKey })
        #expect(replayer.observer.statistics.routingKeyQueueDeliveries == 20)
        #expect(replayer.observer.statistics.anomalies.isEmpty)
    }

    /// A broker packet with deliveries and a client packet with an ack removed: gaps both ways.
    /// Whatever is reported after the gaps is a true outcome of the full capture.
    @Test func droppedSegmentsLoseOutcomesButInventNone() throws {
        let full = try Self.replay("prefetch-burst", workers: 1).sink.outcomes
        let damaged = try Self.replay("prefetch-burst-dropped", workers: 1)
        let stats = damaged.observer.statistics
        #expect(stats.gapBytes > 0)
        #expect(stats.droppedDeliveries[.gap, default: 0] > 0)
        #expect(stats.anomalies.isEmpty)
        let outcomes = damaged.sink.outcomes
        #expect(outcomes.count < full.count)
        for outcome in outcomes {
            let match = full.first { $0.deliveryTag == outcome.deliveryTag && $0.channel == outcome.channel }
            #expect(match?.answerTime == outcome.answerTime && match?.deliverTime == outcome.deliverTime && match?.answer == outcome.answer)
            #expect(match?.queue == outcome.queue)
        }
        print("[amqp-fixture] prefetch-burst-dropped: \(outcomes.count) of \(full.count) outcomes kept, \(stats.gapBytes) gap bytes, dropped \(stats.droppedDeliveries), unmatched answers \(stats.unmatchedAnswers)")
    }

    /// Only the broker packet with three deliveries removed: the skipped delivery tags keep their
    /// workers busy, so every other outcome is exactly that of the full capture, service start included.
    @Test func lostDeliveriesKeepTheWorkerModelExact() throws {
        let full = try Self.replay("prefetch-burst", workers: 1).sink.outcomes
        let damaged = try Self.replay("prefetch-burst-lost-deliver", workers: 1)
        let stats = damaged.observer.statistics
        #expect(stats.lostDeliveries == 3)
        #expect(stats.answersForLostDeliveries == 3)
        #expect(stats.droppedDeliveries.isEmpty)
        let lostTags = Set(full.map(\.deliveryTag)).subtracting(damaged.sink.outcomes.map(\.deliveryTag))
        #expect(damaged.sink.outcomes == full.filter { !lostTags.contains($0.deliveryTag) })
        #expect(lostTags.count == 3)
        print("[amqp-fixture] prefetch-burst-lost-deliver: \(damaged.sink.outcomes.count) of \(full.count) outcomes, identical to the full capture's (lost tags \(lostTags.sorted()))")
    }

    /// Direct reply-to deliveries carry the channel's next delivery tag without using it up
    /// (`rpc-chain`: an RPC server calls another service from its consuming channel; its `front`
    /// deliveries and the replies share tags). A capture begun after the consumes (the exporter
    /// started after the service) must not take a reply for a delivery of the routing key's "queue":
    /// the next delivery with the same tag would look like a tag regression and drop every
    /// outstanding delivery (8 of rpc-chain's 9 `front` outcomes were lost).
    @Test(arguments: [("rpc-chain", 9), ("direct-reply-to", 8)])
    func directReplyDeliveriesInAMidstreamCapture(_ name: String, replies: Int) throws {
        let replayer = try Self.replay("\(name)-midstream", workers: 1)
        let stats = replayer.observer.statistics
        #expect(histogram(replayer.sink.outcomes, rule: .serviceTime) == expectedHistogram(try readFixture("\(name).expected.txt")))
        #expect(stats.noAckDeliveries == replies)
        #expect(stats.droppedDeliveries.isEmpty && stats.unmatchedAnswers == 0 && stats.anomalies.isEmpty)
    }

    /// The `front` delivery that follows the first reply (both with tag 4) removed: the next reply's tag (5)
    /// shows that tag 4 was used, so a placeholder keeps the worker busy and every other outcome is
    /// exactly the full capture's (taking the reply's tag as used, no placeholder: the next `front`
    /// outcome took tag 4's work too, one bucket higher).
    @Test func deliveryLostAfterADirectReplyKeepsItsWorkerBusy() throws {
        let full = try Self.replay("rpc-chain", workers: 1).sink.outcomes
        let damaged = try Self.replay("rpc-chain-lost-deliver", workers: 1)
        let stats = damaged.observer.statistics
        #expect(stats.gapBytes > 0)
        #expect(stats.lostDeliveries == 1 && stats.answersForLostDeliveries == 1)
        #expect(stats.droppedDeliveries.isEmpty && stats.unmatchedAnswers == 0)
        let lost = full.filter { $0.queue == "front" && $0.deliveryTag == 4 }
        #expect(lost.count == 1)
        #expect(damaged.sink.outcomes == full.filter { !($0.queue == "front" && $0.deliveryTag == 4) })
    }

    /// What the second set's clients did beyond answering, and what it must (not) become:
    /// per fixture, deliveries without an answer to time (auto-ack), answers that match no
    /// delivery, deliveries dropped unanswered by reason; never an anomaly. The numbers come
    /// from the clients' own logs (`workers.json`: `unanswered`, `notes`) and the scenario.
    @Test(arguments: [
        // 5 auto-ack deliveries the worker handled: nothing on the wire to time.
        ("auto-ack", 5, 0, [AMQPDropReason: Int]()),
        // basic.recover with the 4 deliveries of the global prefetch window unanswered.
        ("qos-recover", 0, 0, [.recover: 4]),
        // The ack sent again after tx.rollback matches nothing (the first one was counted).
        ("transactions", 0, 1, [:]),
        // 9 publisher confirms (basic.ack from the broker, tags colliding with the deliveries') count for nothing.
        ("confirms-return", 0, 0, [:]),
        // Broker restart: connection.close (320) with the delivery in work and one prefetched.
        ("blocked-restart", 0, 0, [.connectionClose: 2]),
        // A double ack: the broker closes the channel (406) with 2 deliveries prefetched; a no-ack basic.get.
        ("channel-errors", 1, 1, [.channelClose: 2]),
        // The broker's basic.cancel (queue deleted): the deliveries held are still answered.
        ("server-cancel", 0, 0, [:]),
        // Other languages: the deliveries held at the client's basic.cancel are the worker's (rejects
        // with requeue among them: no give-back); a connection whose TCP socket is closed with 4 unanswered.
        ("go-amqp091", 0, 0, [.streamEnd: 4]), ("java-client", 0, 0, [.streamEnd: 4]),
        ("c-rabbitmq", 0, 0, [.streamEnd: 4]), ("ruby-bunny", 0, 0, [.streamEnd: 4]),
        // php-amqplib forgets the consumer at the cancel-ok: the 6 deliveries it held are never
        // handed over, and go with the channel.close.
        ("php-amqplib", 0, 0, [.streamEnd: 4, .channelClose: 6]),
        // RabbitMQ features: quorum redeliveries and dead-lettering, a stream (the nack RabbitMQ answers
        // with connection.close 540), field tables, many body frames: nothing but outcomes.
        ("quorum-redelivery", 0, 0, [:]), ("stream-offset", 0, 0, [:]), ("field-tables", 0, 0, [:]),
        // Single active consumer: pika gives back the delivery it held at consumer A's cancel.
        ("sac-priority", 0, 0, [.cancelReturn: 1]),
        // Direct reply-to replies: no-ack deliveries (their tags the channel's next, not used up).
        ("direct-reply-to", 8, 0, [:]), ("rpc-chain", 9, 0, [:]),
        // The consumer timeout: the broker closes the channel while the worker works; its ack, written
        // before pika's close-ok, is an outcome; the other delivery held is dropped at the close-ok.
        ("consumer-timeout", 0, 0, [.channelClose: 1]),
    ] as [(String, Int, Int, [AMQPDropReason: Int])])
    func whatIsNotAnOutcomeIsCountedByReason(_ name: String, noAck: Int, unmatched: Int, dropped: [AMQPDropReason: Int]) throws {
        let stats = try Self.replay(name, workers: 1).observer.statistics
        let workersFile = try readFixture("\(name).workers.json")
        let unanswered = try workersJSON(workersFile, "unanswered") as? [[String: Any]] ?? []
        #expect(stats.noAckDeliveries == noAck)
        #expect(unanswered.filter { ($0["why"] as? String)?.contains("no-ack") == true || ($0["why"] as? String)?.contains("auto-ack") == true }.count == noAck)
        #expect(stats.unmatchedAnswers == unmatched)
        #expect(stats.droppedDeliveries == dropped)
        #expect(stats.anomalies.isEmpty && stats.lostDeliveries == 0 && stats.unknownQueueDeliveries == 0)
        #expect(stats.outcomes == (try workerDurations(workersFile)).values.map(\.count).reduce(0, +))
    }

    /// A real Celery worker (solo pool) consuming two queues on one channel. `celery-late`
    /// (acks_late) answers after the task; `celery-early` (Celery's default) acknowledges
    /// when the task is received, before it runs. Every task is counted once, with its queue
    /// and code; the durations are not comparable: an early ack ends no work, and on the
    /// shared channel it frees the worker model's worker while the task still runs
    /// (docs/how-it-decides.md, "Consumers"). Pidbox and gossip consumers are auto-ack.
    @Test func celeryTasksAreCountedOncePerQueueAndCode() throws {
        let replayer = try Self.replay("celery", workers: 1)
        let text = try readFixture("celery.workers.json")
        let records = try workersJSON(text, "records") as! [[String: Any]]
        let early = (try workersJSON(text, "unanswered") as! [[String: Any]]).filter { $0["queue"] as? String == "celery-early" }
        var expected: [String: Int] = ["celery-early 0": early.count]
        for record in records { expected["\(record["queue"] as! String) \(record["code"] as! Int)", default: 0] += 1 }
        let observed = Dictionary(histogram(replayer.sink.outcomes, rule: .serviceTime).map { ("\($0.queue) \($0.code)", $0.count) }, uniquingKeysWith: +)
        #expect(observed == expected)
        #expect(expected["celery-late 1"] == 1 && early.count == 4)
        let stats = replayer.observer.statistics
        // Pidbox / gossip messages (how many depends on the worker's start-up): auto-ack.
        #expect(stats.anomalies.isEmpty && stats.unmatchedAnswers == 0 && stats.noAckDeliveries > 0)
    }
}
