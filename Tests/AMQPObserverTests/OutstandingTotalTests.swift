// OutstandingTotalTests.swift — the bound on unanswered deliveries all connections keep together.

import AMQPObserver
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
