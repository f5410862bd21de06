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
        var i = 0
        var high: UInt64 = 0
        while i &+ 8 <= count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < count {
            high |= UInt64(base[i])
            i &+= 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
