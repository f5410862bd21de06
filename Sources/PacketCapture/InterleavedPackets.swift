/// Packets of a pcapng capture on several interfaces, put back in time order.
internal import PacketDecoding

/// Packets of a capture on several interfaces, put back in time order within a window: each is
/// copied (such files are rare; one interface's packets are handed out in place), held until the
/// file has gone `span` past it, or the window holds `maximumPackets` or `maximumBytes`, then
/// handed out oldest first (file order among equal times). Deterministic: the same file gives the
/// same order.
struct InterleavedPackets {
    static let span: Int64 = 2_000_000_000
    static let maximumPackets = 65_536
    static let maximumBytes = 64 << 20

    private struct Held {
        var timestamp: Int64
        var sequence: Int
        var linkType: LinkType
        var originalLength: Int
        var bytes: [UInt8]

        func precedes(_ other: Held) -> Bool {
            (timestamp, sequence) < (other.timestamp, other.sequence)
        }
    }

    /// A binary min-heap by (timestamp, sequence).
    private var heap: [Held] = []
    private var bytes = 0
    private var sequence = 0
    private var newest = Int64.min
    private var lastHandedOut = Int64.min
    /// How the file ended (end or error), once it did: handed on after the window empties.
    var fileOutcome: NextPacket?
    /// Packets that came after the window had handed out a later one (it was too small for them).
    private(set) var lateAfterWindow = 0

    var wantsMore: Bool {
        guard let oldest = heap.first else { return true }
        return newest &- oldest.timestamp <= Self.span && heap.count < Self.maximumPackets && bytes < Self.maximumBytes
    }

    mutating func hold(_ packet: CapturedPacket) {
        let timestamp = packet.timestamp.nanoseconds
        newest = Swift.max(newest, timestamp)
        bytes &+= packet.bytes.count
        heap.append(
            Held(
                timestamp: timestamp, sequence: sequence, linkType: packet.linkType,
                originalLength: packet.originalLength, bytes: Array(packet.bytes)))
        sequence &+= 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The oldest packet held (file order among equal times), out of the window.
    mutating func takeOldest() -> (timestamp: Int64, linkType: LinkType, originalLength: Int, bytes: [UInt8])? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let oldest = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            var smallest = left
            if left + 1 < heap.count, heap[left + 1].precedes(heap[left]) { smallest = left + 1 }
            guard heap[smallest].precedes(heap[parent]) else { break }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
        bytes &-= oldest.bytes.count
        if oldest.timestamp < lastHandedOut { lateAfterWindow &+= 1 }
        lastHandedOut = Swift.max(lastHandedOut, oldest.timestamp)
        return (oldest.timestamp, oldest.linkType, oldest.originalLength, oldest.bytes)
    }
}
