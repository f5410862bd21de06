/// Helpers for driving an HTTPConnectionObserver through StreamConsumer calls with literal streams.
import PacketDecoding
import TCPReassembly
import Testing

@testable import HTTP1Observer

final class CollectingSink: HTTPExchangeSink {
    var exchanges: [HTTPExchange] = []
    func observe(_ exchange: HTTPExchange) { exchanges.append(exchange) }
}

/// One StreamConsumer call; data steps carry their packet time (ns).
enum Step {
    case toServer([UInt8], at: Int64)
    case toClient([UInt8], at: Int64)
    case gap(StreamDirection, Int, at: Int64)
    case end(StreamDirection, at: Int64)

    static func request(_ text: String, at time: Int64) -> Step { .toServer(Array(text.utf8), at: time) }
    static func response(_ text: String, at time: Int64) -> Step { .toClient(Array(text.utf8), at: time) }
    static func endBoth(at time: Int64) -> [Step] { [.end(.clientToServer, at: time), .end(.serverToClient, at: time)] }
}

/// How data steps are cut into deliveries.
enum Splitting: CustomStringConvertible {
    case whole
    case bytewise
    case random(seed: UInt64)

    var description: String {
        switch self {
        case .whole: "whole"
        case .bytewise: "bytewise"
        case .random(let seed): "random(\(seed))"
        }
    }
}

/// SplitMix64: a small deterministic generator for seeded loops.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let testClient = Endpoint(address: IPAddress("10.0.0.1")!, port: 40000)
let testServer = Endpoint(address: IPAddress("10.0.0.2")!, port: 8080)

func connectionInfo(roleSource: RoleSource = .handshake, synTime: Int64? = 500) -> ConnectionInfo {
    ConnectionInfo(
        id: 7, client: testClient, server: testServer, roleSource: roleSource,
        synTime: synTime.map { Timestamp(nanoseconds: $0) }, firstSeen: Timestamp(nanoseconds: synTime ?? 900))
}

struct RunResult {
    var exchanges: [HTTPExchange]
    var statistics: HTTPObserverStatistics
}

/// Feeds `steps` to a fresh observer.
func run(
    _ steps: [Step], splitting: Splitting = .whole, configuration: HTTPObserverConfiguration = .init(),
    connection: ConnectionInfo = connectionInfo(), commonHeadPath: Bool = true, responseHeadMemo: Bool = true
) -> RunResult {
    let sink = CollectingSink()
    let observer = HTTPObserver(configuration: configuration, sink: sink)
    observer.sharedParserState.usesCommonHeadPath = commonHeadPath
    observer.sharedParserState.usesResponseHeadMemo = responseHeadMemo
    let consumer = observer.makeConnectionObserver(for: connection)
    var rng = SeededGenerator(seed: 0)
    if case .random(let seed) = splitting { rng = SeededGenerator(seed: seed) }
    // Each delivery is a copy, overwritten with 0xEE once the call returns (as a capture buffer is
    // reused): a body the observer lent and kept past its delivery would read 0xEE bytes.
    var spentDeliveries: [[UInt8]] = []
    func streamData(_ slice: UnsafeRawBufferPointer, _ direction: StreamDirection, _ t: Timestamp) {
        var delivery = Array(slice)
        delivery.withUnsafeBytes { consumer.streamData($0, direction: direction, time: t) }
        for i in delivery.indices { delivery[i] = 0xEE }
        spentDeliveries.append(delivery)
    }
    func deliver(_ bytes: [UInt8], _ direction: StreamDirection, _ time: Int64) {
        let t = Timestamp(nanoseconds: time)
        bytes.withUnsafeBytes { all in
            switch splitting {
            case .whole:
                streamData(all, direction, t)
            case .bytewise:
                for i in 0..<all.count {
                    streamData(UnsafeRawBufferPointer(rebasing: all[i..<(i + 1)]), direction, t)
                }
            case .random:
                var start = 0
                while start < all.count {
                    let n = Int.random(in: 1...max(1, min(all.count - start, 17)), using: &rng)
                    streamData(UnsafeRawBufferPointer(rebasing: all[start..<(start + n)]), direction, t)
                    start += n
                }
            }
        }
    }
    for step in steps {
        switch step {
        case .toServer(let bytes, let time): deliver(bytes, .clientToServer, time)
        case .toClient(let bytes, let time): deliver(bytes, .serverToClient, time)
        case .gap(let direction, let length, let time):
            consumer.streamGap(length: length, direction: direction, time: Timestamp(nanoseconds: time))
        case .end(let direction, let time):
            consumer.streamEnd(direction: direction, reason: .fin, time: Timestamp(nanoseconds: time))
        }
    }
    withExtendedLifetime(spentDeliveries) {}
    return RunResult(exchanges: sink.exchanges, statistics: observer.statistics)
}

/// Runs `steps` whole, byte by byte and at seeded random cuts; all must give the same exchanges and counters.
func runSplitInvariant(
    _ steps: [Step], configuration: HTTPObserverConfiguration = .init(), connection: ConnectionInfo = connectionInfo(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> RunResult {
    let whole = run(steps, configuration: configuration, connection: connection)
    let splittings: [Splitting] = [.bytewise] + (1...6).map { .random(seed: $0) }
    for splitting in splittings {
        let other = run(steps, splitting: splitting, configuration: configuration, connection: connection)
        #expect(other.exchanges == whole.exchanges, "exchanges differ when fed \(splitting)", sourceLocation: sourceLocation)
        #expect(other.statistics == whole.statistics, "counters differ when fed \(splitting)", sourceLocation: sourceLocation)
    }
    return whole
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        out.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func ts(_ ns: Int64) -> Timestamp { Timestamp(nanoseconds: ns) }

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// Feeds `steps` to `consumer` whole, each delivery as it is.
func feed(_ steps: [Step], to consumer: HTTPConnectionObserver) {
    for step in steps {
        switch step {
        case .toServer(let bytes, let time):
            bytes.withUnsafeBytes { consumer.streamData($0, direction: .clientToServer, time: ts(time)) }
        case .toClient(let bytes, let time):
            bytes.withUnsafeBytes { consumer.streamData($0, direction: .serverToClient, time: ts(time)) }
        case .gap(let direction, let length, let time):
            consumer.streamGap(length: length, direction: direction, time: ts(time))
        case .end(let direction, let time):
            consumer.streamEnd(direction: direction, reason: .fin, time: ts(time))
        }
    }
}
