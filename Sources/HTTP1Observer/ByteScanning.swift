/// Byte helpers for reading heads from borrowed bytes: searching, trimming, comparing names, decoding ISO-8859-1.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension UnsafeRawBufferPointer {
    /// Index of the first `byte` at or after `start` (memchr).
    @inline(__always)
    func firstIndex(of byte: UInt8, from start: Int) -> Int? {
        guard start < count, let base = baseAddress else { return nil }
        guard let hit = memchr(base + start, Int32(byte), count - start) else { return nil }
        return UnsafeRawPointer(hit) - base
    }

    /// `firstIndex(of:from:)` for a byte expected within a few dozen bytes (the end of a head line, a
    /// header name's colon): eight bytes a word in line, where a call to memchr costs more than the
    /// scan. In a word XORed with the byte repeated, the lowest flagged lane of the zero-byte test is
    /// the first zero byte (a borrow only flags lanes above a zero one).
    @inline(__always)
    func firstIndexNearby(of byte: UInt8, from start: Int) -> Int? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let pattern = UInt64(byte) &* ones
        var i = start
        while i + 8 <= count {
            let word = UInt64(littleEndian: loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ pattern
            let zeroLanes = (word &- ones) & ~word & 0x8080_8080_8080_8080
            if zeroLanes != 0 { return i + zeroLanes.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < count {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// Without leading and trailing SP / HTAB (OWS, RFC 9110 §5.6.3).
    @inline(__always)
    func trimmingOWS() -> UnsafeRawBufferPointer {
        // The usual field value: one SP after the colon, no blank at the end (a call and two loops
        // cost more than the test).
        if let base = baseAddress, count >= 2 {
            let second = base.load(fromByteOffset: 1, as: UInt8.self)
            let last = base.load(fromByteOffset: count &- 1, as: UInt8.self)
            if base.load(as: UInt8.self) == 0x20 && second != 0x20 && second != 0x09 && last != 0x20 && last != 0x09 {
                return UnsafeRawBufferPointer(start: base + 1, count: count &- 1)
            }
        }
        return trimmingOWSSlowly()
    }

    private func trimmingOWSSlowly() -> UnsafeRawBufferPointer {
        var lower = 0
        var upper = count
        while lower < upper && (self[lower] == 0x20 || self[lower] == 0x09) { lower += 1 }
        while upper > lower && (self[upper - 1] == 0x20 || self[upper - 1] == 0x09) { upper -= 1 }
        return UnsafeRawBufferPointer(rebasing: self[lower..<upper])
    }

    /// The 8 bytes at `offset`, read little-endian with the bits of `caseMask` set, equal `word`: with
    /// 0x20 in the mask at a letter's byte, that byte matches the letter in either case.
    @inline(__always)
    func word64(at offset: Int, equals word: UInt64, caseMask: UInt64) -> Bool {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) | caseMask == word
    }

    /// `word64` for 4 bytes.
    @inline(__always)
    func word32(at offset: Int, equals word: UInt32, caseMask: UInt32) -> Bool {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) | caseMask == word
    }

    /// ASCII case-insensitive comparison with a lower-case ASCII literal.
    /// Inlined, and without a closure: header names are compared several times per message.
    @inline(__always)
    func equalsIgnoringCase(_ lowercased: StaticString) -> Bool {
        let length = lowercased.utf8CodeUnitCount
        guard length == count else { return false }
        let literal = lowercased.utf8Start
        for i in 0..<length {
            let b = self[i]
            let l = literal[i]
            // `b | 0x20 == l` for a lower-case letter `l` holds only for `l` and its upper case.
            if b != l && (b | 0x20 != l || l < 0x61 || l > 0x7A) { return false }
        }
        return true
    }

    /// Comparison with a lower-case ASCII literal ignoring ASCII case, `-` and `_` (REFERENCE-BEHAVIOUR §6).
    @inline(__always)
    func equalsIgnoringCaseAndSeparators(_ lowercased: StaticString) -> Bool {
        let length = lowercased.utf8CodeUnitCount
        let literal = lowercased.utf8Start
        var j = 0
        for b in self where b != 0x2D && b != 0x5F {
            guard j < length else { return false }
            let lower = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
            guard lower == literal[j] else { return false }
            j += 1
        }
        return j == length
    }

    /// The bytes read as ISO-8859-1: each byte is one Unicode scalar (as WSGI servers decode headers).
    func latin1String() -> String {
        if isASCII { return String(decoding: self, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for b in self { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }

    /// The bytes, known to be ASCII, as a String: `latin1String` without checking them again.
    @inline(__always)
    func asciiString() -> String {
        String(decoding: self, as: UTF8.self)
    }

    /// No byte has its high bit set; eight bytes at a time (a new target or header value is read so
    /// on every exchange whose query or value differs from the cached ones).
    var isASCII: Bool {
        var i = 0
        var high: UInt64 = 0
        while i &+ 8 <= count {
            high |= loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < count {
            high |= UInt64(self[i])
            i &+= 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
