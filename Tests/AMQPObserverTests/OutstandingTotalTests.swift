// OutstandingTotalTests.swift — the bound on unanswered deliveries all connections keep together.

@testable import AMQPObserver
import PacketDecoding
import TCPReassembly
import Testing

@Suite struct OutstandingTotalTests {
    static func send(_ connection: AMQPConnectionObserver, _ direction: StreamDirection, _ bytes: [UInt8], at time: Int64) {
        bytes.withUnsafeBytes { connection.streamData($0, direction: direction, time: ms(time)) }
    }

    /// Consumers that never answer on three connections, two channels each: the per-channel bound
    /// (8) alone would let them keep 48 deliveries; together they keep at most 10, each channel
    /// giving up its own oldest for its new ones. Answers then settle what is kept, and nothing
    /// is left once the connections end.
    @Test func unansweredDeliveriesStayWithinTheTotal() {
        let configuration = AMQPObserverConfiguration(maxOutstandingPerChannel: 8, maxOutstandingTotal: 10)
        let sink = OutcomeCollector()
        let observer = AMQPObserver(configuration: configuration, sink: sink)
        let connections = (0..<3).map { observer.makeConnectionObserver(for: connectionInfo(id: UInt64($0))) }
        for connection in connections {
            Self.send(connection, .clientToServer, AMQP.protocolHeader, at: 0)
            for ch: UInt16 in 1...2 {
                Self.send(connection, .clientToServer, AMQP.channelOpen(ch) + AMQP.consume(ch, queue: "q\(ch)", tag: "t\(ch)"), at: 1)
                Self.send(connection, .serverToClient, AMQP.consumeOk(ch, tag: "t\(ch)"), at: 2)
            }
        }
        for tag: UInt64 in 1...8 {
            for connection in connections {
                for ch: UInt16 in 1...2 {
                    Self.send(connection, .serverToClient, AMQP.deliver(ch, tag: "t\(ch)", deliveryTag: tag, routingKey: "q\(ch)"), at: 10)
                    #expect(observer.outstandingDeliveries.now <= 10)
                }
            }
        }
        #expect(observer.outstandingDeliveries.peak == 10)
        #expect(observer.reachedGlobalBudget)
        #expect(observer.statistics.limitHits[.outstandingTotal, default: 0] == 48 - 10)
        #expect(observer.statistics.droppedDeliveries[.outstandingLimit, default: 0] == 48 - 10)
        // Each channel's newest deliveries are the ones kept: acknowledging everything settles them.
        for connection in connections {
            for ch: UInt16 in 1...2 { Self.send(connection, .clientToServer, AMQP.ack(ch, 0, multiple: true), at: 20) }
        }
        #expect(sink.outcomes.count == 10)
        #expect(sink.outcomes.allSatisfy { $0.deliveryTag >= 7 })
        #expect(observer.outstandingDeliveries.now == 0)
        for connection in connections {
            Self.send(connection, .serverToClient, AMQP.deliver(1, tag: "t1", deliveryTag: 9, routingKey: "q1"), at: 30)
            connection.streamEnd(direction: .clientToServer, reason: .fin, time: ms(40))
        }
        #expect(observer.outstandingDeliveries.now == 0)
    }
}

@Suite struct GlobalBudgetTests {
    /// The bound of one channel is not one over all connections: reaching it alone does not count.
    @Test func aChannelsOwnBoundIsNotAGlobalBudget() {
        let observer = AMQPObserver(configuration: AMQPObserverConfiguration(maxOutstandingPerChannel: 2), sink: OutcomeCollector())
        let connection = observer.makeConnectionObserver(for: connectionInfo(id: 1))
        OutstandingTotalTests.send(connection, .clientToServer, AMQP.protocolHeader, at: 0)
        OutstandingTotalTests.send(connection, .clientToServer, AMQP.channelOpen(1) + AMQP.consume(1, queue: "q", tag: "t"), at: 1)
        OutstandingTotalTests.send(connection, .serverToClient, AMQP.consumeOk(1, tag: "t"), at: 2)
        for tag: UInt64 in 1...5 {
            OutstandingTotalTests.send(connection, .serverToClient, AMQP.deliver(1, tag: "t", deliveryTag: tag, routingKey: "q"), at: 10)
        }
        #expect(observer.statistics.droppedDeliveries.values.reduce(0, +) > 0)
        #expect(!observer.reachedGlobalBudget)
    }
}

@Suite struct BufferedMethodBytesTests {
    /// basic.consume whose arguments table carries `pad` bytes (a method frame of about that size).
    static func bigConsume(pad: Int) -> [UInt8] {
        let field = AMQP.shortstr("x-pad") + [UInt8(ascii: "S")] + AMQP.long(UInt32(pad)) + [UInt8](repeating: 0x61, count: pad)
        return AMQP.method(1, 60, 20, AMQP.short(0) + AMQP.shortstr("q") + AMQP.shortstr("t") + [0] + AMQP.long(UInt32(field.count)) + field)
    }

    /// Method frames split over segments on three connections: each is charged whole (827 bytes)
    /// when it starts, the first two fit the common bound and are parsed once whole; the third
    /// direction, for which no room is left, is given up. Everything buffered is given back.
    @Test func splitMethodFramesStayWithinTheTotal() {
        let configuration = AMQPObserverConfiguration(maxBufferedMethodBytesTotal: 2000)
        let observer = AMQPObserver(configuration: configuration, sink: OutcomeCollector())
        let connections = (0..<3).map { observer.makeConnectionObserver(for: connectionInfo(id: UInt64($0))) }
        let frame = Self.bigConsume(pad: 800)
        for connection in connections {
            OutstandingTotalTests.send(connection, .clientToServer, AMQP.protocolHeader + AMQP.channelOpen(1), at: 0)
            OutstandingTotalTests.send(connection, .clientToServer, Array(frame.prefix(507)), at: 1)
            #expect(observer.bufferedMethodBytesNow.now <= 2000)
        }
        #expect(observer.bufferedMethodBytesNow.now == 2 * 827)
        #expect(connections.map(\.anomaly) == [nil, nil, .bufferLimit])
        for connection in connections { OutstandingTotalTests.send(connection, .clientToServer, Array(frame.dropFirst(507)), at: 2) }
        #expect(observer.bufferedMethodBytesNow.now == 0)
        #expect(observer.bufferedMethodBytesNow.peak == 2 * 827)
        #expect(observer.statistics.anomalies[.bufferLimit] == 1)
        // The two frames parsed whole were consumes: their channels wait for consume-ok.
        #expect(observer.statistics.anomalies[.truncatedMethod] == nil)
    }
}

@Suite struct AMQPKeptBytesTests {
    static func send(_ connection: AMQPConnectionObserver, _ direction: StreamDirection, _ bytes: [UInt8], at time: Int64) {
        OutstandingTotalTests.send(connection, direction, bytes, at: time)
    }

    /// Channels, each with a consumer whose tag and queue are 200 bytes: the per-connection (2,048
    /// channels) and per-channel (1,024 consumers) bounds would let one connection keep 2 GB of them.
    /// The kept bytes hold them down; what is not kept is counted, and all is given back at the end.
    @Test func channelsAndConsumersStayWithinTheKeptBytes() {
        let bound = 20_000
        let observer = AMQPObserver(configuration: .init(maxKeptBytesTotal: bound), sink: OutcomeCollector())
        do {
            let connection = observer.makeConnectionObserver(for: connectionInfo(id: 1))
            Self.send(connection, .clientToServer, AMQP.protocolHeader, at: 0)
            let long = String(repeating: "x", count: 196)
            for ch: UInt16 in 1...40 {
                Self.send(connection, .clientToServer, AMQP.channelOpen(ch), at: 1)
                Self.send(connection, .clientToServer, AMQP.consume(ch, queue: "q\(ch)" + long, tag: "t\(ch)" + long), at: 1)
                #expect(observer.keptBytesNow.now <= bound)
                Self.send(connection, .serverToClient, AMQP.consumeOk(ch, tag: "t\(ch)" + long), at: 2)
                #expect(observer.keptBytesNow.now <= bound)
            }
            #expect(observer.statistics.limitHits[.keptBytes, default: 0] > 0)
            #expect(observer.keptBytesNow.peak <= bound)
            #expect(observer.keptBytesNow.now > bound - 2_000)
        }
        #expect(observer.keptBytesNow.now == 0)
    }

    /// Deliveries to a consumer the observer does not know, each with its own 200-byte consumer tag
    /// and routing key (kept as its queue): 1,048,576 of them would be 750 MB. Past the kept bytes
    /// the channel gives up its oldest for its new one; answers settle the newest.
    @Test func deliveriesWithTheirOwnStringsStayWithinTheKeptBytes() {
        let bound = 50_000
        let sink = OutcomeCollector()
        let observer = AMQPObserver(configuration: .init(maxKeptBytesTotal: bound), sink: sink)
        do {
            let connection = observer.makeConnectionObserver(for: connectionInfo(id: 1))
            Self.send(connection, .clientToServer, AMQP.protocolHeader + AMQP.channelOpen(1), at: 0)
            let long = String(repeating: "x", count: 196)
            for tag: UInt64 in 1...200 {
                Self.send(connection, .serverToClient,
                          AMQP.deliver(1, tag: "u\(1000 + tag)" + long, deliveryTag: tag, routingKey: "r\(1000 + tag)" + long), at: 10)
                #expect(observer.keptBytesNow.now <= bound)
            }
            let kept = observer.outstandingDeliveries.now
            #expect(kept > 10 && kept < 100)
            #expect(observer.statistics.droppedDeliveries[.outstandingLimit, default: 0] == 200 - kept)
            Self.send(connection, .clientToServer, AMQP.ack(1, 0, multiple: true), at: 20)
            #expect(sink.outcomes.count == kept)
            #expect(sink.outcomes.allSatisfy { $0.deliveryTag > UInt64(200 - kept) })
            #expect(observer.keptBytesNow.now == AMQPChannelState.channelCost)
        }
        #expect(observer.keptBytesNow.now == 0)
    }

    /// A consumer cancelled while its deliveries are unanswered: they still hold its strings, which
    /// stay charged until the last of them is answered.
    @Test func aCancelledConsumerStaysChargedWhileItsDeliveriesWait() {
        let observer = AMQPObserver(configuration: .init(), sink: OutcomeCollector())
        let connection = observer.makeConnectionObserver(for: connectionInfo(id: 1))
        let tag = String(repeating: "t", count: 200)
        Self.send(connection, .clientToServer, AMQP.protocolHeader + AMQP.channelOpen(1) + AMQP.consume(1, queue: "q", tag: tag), at: 0)
        Self.send(connection, .serverToClient, AMQP.consumeOk(1, tag: tag), at: 1)
        let withConsumer = observer.keptBytesNow.now
        Self.send(connection, .serverToClient, AMQP.deliver(1, tag: tag, deliveryTag: 1, routingKey: "q"), at: 2)
        Self.send(connection, .serverToClient, AMQP.cancelOk(1, tag: tag), at: 3)
        #expect(observer.keptBytesNow.now == withConsumer + AMQPChannelState.deliveryCost)
        Self.send(connection, .clientToServer, AMQP.ack(1, 1), at: 4)
        #expect(observer.keptBytesNow.now == AMQPChannelState.channelCost)
    }
}
