// BadInputTests.swift — garbage, wrong protocols and malformed frames: counted by reason, connection given up.

import AMQPObserver
import PacketDecoding
import TCPReassembly
import Testing

@Suite struct BadInputTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var direction: StreamDirection
        var bytes: [UInt8]
        var expected: AMQPAnomaly
        var description: String { name }
    }

    /// A TLS 1.2 ClientHello record header and the start of the handshake (RFC 8446 §4.1.2).
    static let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + Array(repeating: 0x42, count: 32)

    static let cases: [Case] = [
        Case(name: "http", direction: .clientToServer, bytes: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), expected: .garbage),
        Case(name: "A but not AMQP", direction: .clientToServer, bytes: Array("AMQX\u{0}\u{0}\u{9}\u{1}".utf8), expected: .garbage),
        Case(name: "amqp 1.0", direction: .clientToServer, bytes: Array("AMQP".utf8) + [0, 1, 0, 0], expected: .amqp10),
        Case(name: "amqp 1.0 sasl", direction: .clientToServer, bytes: Array("AMQP".utf8) + [3, 1, 0, 0], expected: .amqp10),
        Case(name: "amqp 0-8", direction: .clientToServer, bytes: Array("AMQP".utf8) + [1, 1, 8, 0], expected: .badProtocolHeader),
        Case(name: "amqp 0-10", direction: .clientToServer, bytes: Array("AMQP".utf8) + [1, 1, 0, 10], expected: .badProtocolHeader),
        Case(name: "tls", direction: .clientToServer, bytes: clientHello, expected: .tls),
        Case(name: "frame too large", direction: .serverToClient,
             bytes: [3, 0, 1] + AMQP.long(200_000) + Array(repeating: 0, count: 64), expected: .frameTooLarge),
        Case(name: "bad frame end", direction: .serverToClient,
             bytes: AMQP.frame(type: 1, channel: 1, payload: AMQP.short(60) + AMQP.short(72) + AMQP.shortstr(""), end: 0xCD),
             expected: .badFrameEnd),
        Case(name: "bad body frame end", direction: .serverToClient,
             bytes: AMQP.frame(type: 3, channel: 1, payload: [1, 2, 3], end: 0x00), expected: .badFrameEnd),
        Case(name: "unknown method", direction: .clientToServer, bytes: AMQP.method(1, 60, 99, [0, 0]), expected: .unknownMethod),
        Case(name: "unknown class", direction: .serverToClient, bytes: AMQP.method(1, 77, 10), expected: .unknownMethod),
        Case(name: "truncated deliver", direction: .serverToClient,
             bytes: AMQP.method(1, 60, 60, AMQP.shortstr("c1") + [0, 0, 0]), expected: .truncatedMethod),
        Case(name: "method without ids", direction: .serverToClient,
             bytes: AMQP.frame(type: 1, channel: 1, payload: [0, 60]), expected: .truncatedMethod),
        Case(name: "frame type 5", direction: .serverToClient, bytes: AMQP.frame(type: 5, channel: 0, payload: []),
             expected: .badFrameType),
    ]

    @Test(arguments: cases)
    func badInputGivesTheConnectionUp(_ bad: Case) {
        // A protocol header case replaces the client's header; the others come after a normal start.
        let isHeaderCase = bad.direction == .clientToServer && [.garbage, .amqp10, .badProtocolHeader, .tls].contains(bad.expected)
        var events: [StreamEvent] = isHeaderCase ? [] : preamble() + [s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1))]
        events.append(.data(bad.direction, bad.bytes, ms(20)))
        // Whatever follows is ignored, even good frames.
        events += [c2s(30, AMQP.ack(1, 1)), s2c(31, AMQP.deliver(1, tag: "c1", deliveryTag: 2)), c2s(40, AMQP.ack(1, 2))]
        for split in [Split.whole, .bytewise] {
            let result = run(events, split: split)
            #expect(result.anomaly == bad.expected, "\(split)")
            #expect(result.statistics.anomalies == [bad.expected: 1], "\(split)")
            #expect(result.statistics.connectionsGivenUp == 1)
            #expect(result.outcomes.isEmpty)
            #expect(result.statistics.ignoredBytes > 0)
            #expect(result.statistics.droppedDeliveries == (isHeaderCase ? [:] : [.givenUp: 1]))
        }
    }

    @Test func negotiatedFrameMaxIsTheBound() {
        let body = Array(repeating: UInt8(1), count: 5000)
        let ok = run(preamble() + [s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1, body: body))])
        #expect(ok.anomaly == nil)
        let tuned = run(preamble() + [c2s(5, AMQP.tuneOk(frameMax: 4096)), s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 1, body: body))])
        #expect(tuned.anomaly == .frameTooLarge)
        // frame_max 0 ("no limit") is capped at the hard cap.
        let unlimited = run(preamble() + [
            c2s(5, AMQP.tuneOk(frameMax: 0)),
            s2c(10, [3, 0, 1] + AMQP.long(UInt32(AMQPObserverConfiguration.frameSizeHardCap))),
        ])
        #expect(unlimited.anomaly == .frameTooLarge)
    }

    /// Mid-stream garbage (no handshake): skipped segment by segment, then given up.
    @Test func midstreamGarbageIsGivenUpAfterTheAttempts() {
        let events = (0..<5).map { c2s(Int64($0), Array("noise noise noise".utf8)) }
        let result = run(events, configuration: .init(synchronizationAttempts: 4), handshake: false)
        #expect(result.anomaly == .unsynchronized)
        #expect(result.statistics.unsynchronizedBytes == 4 * 17)
        #expect(result.statistics.ignoredBytes == 17)
    }

    /// Mid-stream, a segment that only looks like it starts with a frame (a 1-byte body frame, then a
    /// byte that is no frame type): the search for a boundary goes on instead of giving up.
    @Test(arguments: [Split.whole, .bytewise])
    func coincidentalFrameBoundaryIsNotTrusted(split: Split) {
        let events: [StreamEvent] = [
            s2c(0, AMQP.frame(type: 3, channel: 1, payload: [0x55]) + [0x09, 1, 2, 3, 4, 5, 6, 7]),
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 5, routingKey: "orders")),
            c2s(160, AMQP.ack(1, 5)),
        ]
        let result = run(events, split: split, handshake: false)
        #expect(result.anomaly == nil)
        #expect(result.statistics.anomalies.isEmpty)
        if case .whole = split {
            #expect(result.outcomes.map(\.queue) == ["orders"])
            #expect(result.statistics.unsynchronizedBytes == 8)
        }
    }

    /// Well-formed frames in random order with extreme values (tags 0 and UInt64.max, unknown
    /// channels, answers before deliveries, gaps): the state machine never traps, and every
    /// outcome it reports is counted.
    @Test(arguments: Array(1...40) as [UInt64])
    func randomMethodSequencesDoNotCrash(seed: UInt64) {
        var rng = SplitMix64(state: seed)
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        let tags: [UInt64] = [0, 1, 2, 3, 5, 8, 1000, .max - 1, .max]
        var events: [StreamEvent] = rng.next() % 2 == 0 ? preamble() : []
        for i in 0..<120 {
            let ch = pick([0, 1, 1, 1, 2, 65535] as [UInt16])
            let t = Int64(10 + i)
            switch rng.next() % 16 {
            case 0: events.append(s2c(t, AMQP.deliver(ch, tag: pick(["c1", "", "x"]), deliveryTag: pick(tags), exchange: pick(["", "e"]))))
            case 1: events.append(c2s(t, AMQP.ack(ch, pick(tags), multiple: rng.next() % 2 == 0)))
            case 2: events.append(c2s(t, AMQP.nack(ch, pick(tags), multiple: rng.next() % 2 == 0)))
            case 3: events.append(c2s(t, AMQP.reject(ch, pick(tags))))
            case 4: events.append(c2s(t, AMQP.consume(ch, queue: "q", tag: pick(["c1", ""]), noAck: rng.next() % 4 == 0, noWait: rng.next() % 4 == 0)))
            case 5: events.append(s2c(t, AMQP.consumeOk(ch, tag: pick(["c1", "amq.ctag-1"]))))
            case 6: events.append(c2s(t, AMQP.get(ch, queue: "g", noAck: rng.next() % 4 == 0)))
            case 7: events.append(s2c(t, AMQP.getOk(ch, deliveryTag: pick(tags))))
            case 8: events.append(s2c(t, AMQP.getEmpty(ch)))
            case 9: events.append(pick([c2s(t, AMQP.channelClose(ch)), s2c(t, AMQP.channelClose(ch))]))
            case 10: events.append(pick([c2s(t, AMQP.channelCloseOk(ch)), s2c(t, AMQP.channelCloseOk(ch))]))
            case 11: events.append(c2s(t, AMQP.channelOpen(ch)))
            case 12: events.append(.gap(pick([.clientToServer, .serverToClient]), Int(rng.next() % 50), ms(t)))
            case 13: events.append(pick([c2s(t, AMQP.cancelOk(ch, tag: "c1")), s2c(t, AMQP.cancelOk(ch, tag: "c1"))]))
            case 14: events.append(c2s(t, AMQP.method(ch, 60, 110, [1])))  // basic.recover
            default: events.append(s2c(t, AMQP.heartbeat))
            }
        }
        events.append(.end(.clientToServer, ms(1000)))
        let config = AMQPObserverConfiguration(consumerConcurrency: Int(seed % 3) + 1, maxOutstandingPerChannel: 4)
        let result = run(events, configuration: config, split: .random(seed: seed))
        #expect(result.statistics.outcomes == result.outcomes.count)
        #expect(result.outcomes.allSatisfy { $0.serviceStart >= $0.deliverTime && $0.serviceStart <= $0.answerTime })
    }

    /// Mid-stream, an unknown method that straddles segments right after synchronising: the parser
    /// resumes its search while the method's buffered bytes are being handed over (no exclusivity trap).
    @Test func unknownBufferedMethodWhileTentative() {
        let unknown = AMQP.method(1, 60, 99, [1, 2, 3, 4])
        let events: [StreamEvent] = [
            s2c(0, AMQP.heartbeat + Array(unknown.prefix(9))),
            s2c(1, Array(unknown.dropFirst(9))),
            s2c(10, AMQP.deliver(1, tag: "c1", deliveryTag: 5, routingKey: "orders")),
            c2s(160, AMQP.ack(1, 5)),
        ]
        let result = run(events, handshake: false)
        #expect(result.anomaly == nil)
        #expect(result.outcomes.map(\.queue) == ["orders"])
    }

    /// Random bytes never crash the observer, whatever the split.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomBytesDoNotCrash(seed: UInt64) {
        var rng = SplitMix64(state: seed)
        var events: [StreamEvent] = []
        for i in 0..<40 {
            let bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            events.append(.data(rng.next() % 2 == 0 ? .clientToServer : .serverToClient, bytes, ms(Int64(i))))
        }
        for handshake in [true, false] {
            let result = run(events, split: .random(seed: seed), handshake: handshake)
            #expect(result.statistics.outcomes == result.outcomes.count)
        }
    }
}
