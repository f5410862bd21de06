// Wrap-safe sequence arithmetic and the open-addressing connection index.

import PacketDecoding
import Testing
@testable import TCPReassembly

@Suite struct TCPSequenceTests {
    @Test(arguments: [
        (UInt32(10), UInt32(20), 10),
        (20, 10, -10),
        (0xFFFF_FFF0, 0x10, 0x20),
        (0x10, 0xFFFF_FFF0, -0x20),
        // Exactly half the space apart: after, both ways (never -2^31, which made neither number come first).
        (0, 0x8000_0000, 1 << 31),
        (0x8000_0000, 0, 1 << 31),
        (0, 0x7FFF_FFFF, Int(Int32.max)),
    ])
    func distance(from: UInt32, to: UInt32, expected: Int) {
        #expect(TCPSequence(from).distance(to: TCPSequence(to)) == expected)
        if expected > 0 { #expect(TCPSequence(from) < TCPSequence(to)) }
    }

    @Test func advancesAcrossTheWrap() {
        #expect(TCPSequence(0xFFFF_FFFE).advanced(by: 5) == TCPSequence(3))
        #expect(TCPSequence(3).advanced(by: -5) == TCPSequence(0xFFFF_FFFE))
        #expect(TCPSequence(0xFFFF_FFFE) < TCPSequence(3))
        #expect(!(TCPSequence(3) < TCPSequence(0xFFFF_FFFE)))
    }
}

@Suite struct SlotIndexTests {
    /// Random inserts and removes with colliding hashes agree with a model.
    @Test(arguments: [UInt64(1), 2, 3])
    func agreesWithAModel(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var index = SlotIndex(minimumCapacity: 16)
        var model: [Int: UInt32] = [:]  // slot -> hash
        for step in 0..<20_000 {
            if model.isEmpty || random.next() % 3 != 0 {
                let slot = step
                let hash = UInt32(truncatingIfNeeded: random.next() % 64)  // many collisions
                index.insert(hash: hash, slot: slot)
                model[slot] = hash
            } else {
                let slot = model.keys.randomElement(using: &random)!
                index.remove(hash: model[slot]!, slot: slot)
                model[slot] = nil
            }
        }
        #expect(index.count == model.count)
        for (slot, hash) in model {
            #expect(index.find(hash: hash) { $0 == slot } == slot)
        }
        #expect(index.find(hash: 1000) { _ in true } == nil)
    }
}

@Suite struct ConnectionKeyTests {
    /// Clients of one subnet with nearby ports (address and port bits overlap) still hash apart.
    @Test(arguments: [UInt64(0), 0x1234_5678_9ABC_DEF0])
    func hashesOfNearbyClientsAreDistinct(seed: UInt64) {
        let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 8080)
        var hashes = Set<UInt32>()
        var isLow = false
        for n in 0..<100_000 {
            let client = Endpoint(address: IPAddress(ipv4: 0x0A01_0000 | UInt32(n >> 8)), port: UInt16(40_000 + n & 0xFF))
            hashes.insert(ConnectionKey(source: client, destination: server, sourceIsLow: &isLow).hash(seed: seed))
        }
        // 100,000 random 32-bit values collide about once.
        #expect(hashes.count >= 99_990)
    }

    @Test func bothDirectionsHaveOneKey() {
        let a = Endpoint(address: IPAddress("fe80::1")!, port: 1), b = Endpoint(address: IPAddress("fe80::2")!, port: 2)
        var aIsLow = false, bIsLow = false
        let forward = ConnectionKey(source: a, destination: b, sourceIsLow: &aIsLow)
        let backward = ConnectionKey(source: b, destination: a, sourceIsLow: &bIsLow)
        #expect(forward == backward)
        #expect(forward.hash(seed: 7) == backward.hash(seed: 7))
        #expect(aIsLow && !bIsLow)
    }
}
