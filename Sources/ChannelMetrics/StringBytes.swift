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

extension String {
    /// The two strings are the same bits: the same small string (its bytes), or the same storage.
    @inline(__always)
    static func sameBits(_ a: String, _ b: String) -> Bool {
        unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self)
    }

    /// The same UTF-8 bytes: the identity of a label value. Python's `str` equality, which
    /// prometheus_client keys its series by, compares code points (not String `==`, canonical
    /// equivalence: `"é"` and `"e\u{301}"` are two series there).
    @inline(__always)
    func hasSameUTF8(as other: String) -> Bool {
        if Self.sameBits(self, other) { return true }
        guard utf8.count == other.utf8.count else { return false }
        return Self.sameUTF8Bytes(self, other)
    }

    /// The bytes of two strings of the same UTF-8 length, compared in place.
    private static func sameUTF8Bytes(_ a: String, _ b: String) -> Bool {
        let equal = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                UnsafeRawBufferPointer(x).hasSameBytes(as: UnsafeRawBufferPointer(y))
            }
        }
        if let equal, let equal { return equal }
        return a.utf8.elementsEqual(b.utf8)
    }
}

extension UnsafeRawBufferPointer {
    /// The same bytes as `other`, of the same count; eight at a time.
    func hasSameBytes(as other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        if count >= 8 {
            var i = 0
            while i &+ 8 <= count {
                if loadUnaligned(fromByteOffset: i, as: UInt64.self) != other.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    return false
                }
                i &+= 8
            }
            // The last eight bytes in one load (some compared twice).
            return loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
                == other.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
        }
        for i in 0..<count where self[i] != other[i] { return false }
        return true
    }
}
