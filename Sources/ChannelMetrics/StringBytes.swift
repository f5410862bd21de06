// Byte-level facts about label texts, read in place.

extension String {
    /// True when every UTF-8 byte is ASCII; over the bytes in place (iterating the UTF-8
    /// view decodes a small string byte by byte).
    var utf8IsASCII: Bool {
        utf8.withContiguousStorageIfAvailable { $0.isASCII } ?? utf8.allSatisfy { $0 < 0x80 }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// True when no byte has its high bit set; eight bytes at a time (paths, queries and
    /// hosts are read on every exchange).
    var isASCII: Bool {
        guard let base = baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var high: UInt64 = 0
        if count >= 8 {
            var i = 0
            while i &+ 8 <= count {
                high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            // The last eight bytes in one load (some read twice): no byte loop for the tail.
            high |= raw.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        } else if count >= 4 {
            // Two overlapping 4-byte loads cover 4 to 7 bytes.
            high = UInt64(raw.loadUnaligned(as: UInt32.self) | raw.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self))
        } else {
            for i in 0..<count { high |= UInt64(base[i]) }
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
