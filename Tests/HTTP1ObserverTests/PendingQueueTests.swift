/// The pending-request FIFO with its one-slot fast path behaves as an array of requests would.
import TCPReassembly
import Testing

@testable import HTTP1Observer

@Suite("Pending request queue")
struct PendingQueueTests {
    private func request(_ id: Int) -> PendingRequest {
        PendingRequest(
            budget: Budget(limit: 1 << 20), body: BodyPrefix(limit: 0), firstByte: nil, lastByte: nil, isFirstOnConnection: id == 0,
            arrivedAfterLoss: id % 3 == 0, isHead: false, isConnect: false)
    }

    private func ids(_ queue: PendingQueue, _ all: [PendingRequest]) -> [Int] {
        queue.map { request in all.firstIndex { $0 === request }! }
    }

    /// 20,000 random operations with a fixed seed (appends, takes of the oldest, removals by a
    /// predicate, emptying with and without capacity), the queue compared with an array after each:
    /// the same requests in the same order, the same count and emptiness, the same one taken.
    @Test func randomOperationsMatchAnArray() {
        var rng = SeededGenerator(seed: 77)
        let all = (0..<64).map(request)
        var queue = PendingQueue()
        var model: [PendingRequest] = []
        for step in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                let next = all.randomElement(using: &rng)!
                queue.append(next)
                model.append(next)
            case 4..<8:
                guard !model.isEmpty else { continue }
                #expect(queue[0] === model[0])
                #expect(queue.removeFirst() === model.removeFirst(), "step \(step)")
            case 8:
                let parity = Int.random(in: 0..<2, using: &rng)
                let removes: (PendingRequest) -> Bool = { request in all.firstIndex { $0 === request }! % 2 == parity }
                queue.removeAll(where: removes)
                model.removeAll(where: removes)
            default:
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    queue.removeAll(keepingCapacity: Bool.random(using: &rng))
                    model.removeAll()
                }
            }
            #expect(queue.count == model.count)
            #expect(queue.isEmpty == model.isEmpty)
            #expect(queue.first === model.first)
            #expect(ids(queue, all) == model.map { request in all.firstIndex { $0 === request }! }, "step \(step)")
            #expect(queue.filter(\.arrivedAfterLoss).count == model.filter(\.arrivedAfterLoss).count)
        }
    }

    /// Taking the only request empties the queue; a pipelined batch comes out in order through the slot.
    @Test func oneSlotAndPipelinedBatch() {
        let all = (0..<5).map(request)
        var queue = PendingQueue()
        queue.append(all[0])
        #expect(queue.count == 1)
        #expect(queue.removeFirst() === all[0])
        #expect(queue.isEmpty && queue.count == 0 && queue.first == nil)
        for request in all { queue.append(request) }
        #expect(queue.count == 5)
        #expect(queue.indices == 0..<5)
        for expected in all { #expect(queue.removeFirst() === expected) }
        #expect(queue.isEmpty)
        for request in all { queue.append(request) }
        queue.removeAll { $0 === all[0] || $0 === all[3] }
        #expect(ids(queue, all) == [1, 2, 4])
        queue.removeAll(keepingCapacity: true)
        #expect(queue.isEmpty)
    }
}
