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
        let workers = try workerDurations(try readFixture("\(fixture.name).workers.json"))
        var worst = 0.0
        var plainMoved = 0
        for outcome in outcomes {
            let key = "\(outcome.queue ?? "-")#\(outcome.deliveryTag)"
            let measured = try #require(workers[key], "no worker record for \(key)")
            let wire = Double(outcome.durationNanoseconds()) / 1e6
            worst = max(worst, abs(wire - measured))
            let plain = Double(outcome.durationNanoseconds(.deliverToAnswer)) / 1e6
            if bucketIndex(milliseconds: plain) != bucketIndex(milliseconds: measured) { plainMoved += 1 }
        }
        #expect(outcomes.count == workers.count)
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
    @Test(arguments: fixtures.map(\.name) + ["prefetch-burst-midstream", "prefetch-burst-dropped", "prefetch-burst-lost-deliver"])
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
}
