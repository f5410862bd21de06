/// Fixed storage for connection slots, worked on in place through a pointer.

/// Room for `capacity` connection slots, allocated once.
///
/// The allocation reserves address space only: pages are touched as slots
/// are first used, so an idle reassembler with a large limit costs little
/// memory. Slots never move, and the subscript addresses them directly: a
/// field or a half-stream is read and written where it lives, with no copy
/// of the slot, no retain of what it holds and no uniqueness check (what a
/// `ContiguousArray` element accessed through a struct in a class costs on
/// every packet).
///
/// A value with reference semantics: copies share the slots. The owner
/// (`TCPReassembler`) calls `deallocate()` once.
struct SlotStorage {
    private let base: UnsafeMutablePointer<ConnectionSlot>
    let capacity: Int
    /// Slots initialised so far (`0..<count`); never shrinks.
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "SlotStorage needs room for at least one slot")
        self.capacity = capacity
        // Cache-line aligned: a slot's stride is three lines (a test checks it), so
        // a slot never straddles a fourth.
        base = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<ConnectionSlot>.stride, alignment: 64
        ).bindMemory(to: ConnectionSlot.self, capacity: capacity)
    }

    /// Slot `slot` (in `0..<count`), in place.
    @inline(__always)
    subscript(slot: Int) -> ConnectionSlot {
        unsafeAddress { UnsafePointer(base + slot) }
        nonmutating unsafeMutableAddress { base + slot }
    }

    /// Initialises the next slot with `entry`; returns its number.
    mutating func append(_ entry: ConnectionSlot) -> Int {
        precondition(count < capacity, "SlotStorage.append: more slots than maxConnections")
        (base + count).initialize(to: entry)
        count += 1
        return count - 1
    }

    /// Gives back the consumers of connections still open, then releases
    /// every slot's contents and the memory.
    func deallocate() {
        for slot in 0..<count { base[slot].consumer?.release() }
        base.deinitialize(count: count)
        UnsafeMutableRawPointer(base).deallocate()
    }
}
