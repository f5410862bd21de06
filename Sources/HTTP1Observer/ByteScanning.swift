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

    /// In a request target: the first `?` when no `#` comes before it (where a query starts), and the
    /// first `#` (where a fragment starts), in one pass 16 bytes at a time (searching the query again
    /// for a `#` cost a second search's set-up and last block on every target with a query).
    @inline(__always)
    func queryAndFragmentStarts() -> (questionMark: Int?, hash: Int?) {
        guard let base = baseAddress else { return (nil, nil) }
        let count = count
        var question = -1
        // Each block from `at`, its first `skip` bytes looked at already; the hash's index when it has one.
        @inline(__always) func scan(at offset: Int, skip: Int) -> Int? {
            let block = (base + offset).loadUnaligned(as: SIMD16<UInt8>.self)
            if question < 0 {
                let lane = firstSetLane(block .== SIMD16(repeating: 0x3F), from: skip)
                if lane < 16 { question = offset &+ lane }
            }
            let lane = firstSetLane(block .== SIMD16(repeating: 0x23), from: skip)
            return lane < 16 ? offset &+ lane : nil
        }
        var hash: Int?
        if count >= 16 {
            var i = 0
            while i &+ 16 <= count {
                hash = scan(at: i, skip: 0)
                if hash != nil { break }
                i &+= 16
            }
            // The last 16 bytes, without those looked at already.
            if hash == nil && i < count { hash = scan(at: count &- 16, skip: i &- (count &- 16)) }
        } else {
            var i = 0
            while i < count {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                if byte == 0x23 {
                    hash = i
                    break
                }
                if byte == 0x3F && question < 0 { question = i }
                i &+= 1
            }
        }
        if let hash, question > hash { question = -1 }
        return (question >= 0 ? question : nil, hash)
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
    ///
    /// At most 15 bytes make a small string (kept in the value itself, no storage), built here from
    /// its two words (see `SmallASCIIString`): `String(decoding:as:)` checked the bytes again and copied
    /// them in a byte at a time (about 120 instructions for a query like `id=42`).
    @inline(__always)
    func asciiString() -> String {
        if count <= SmallASCIIString.capacity, let small = SmallASCIIString.make(self) { return small }
        return String(decoding: self, as: UTF8.self)
    }

    /// No byte has its high bit set; eight bytes at a time, the last eight (or, below eight bytes, the
    /// first and last four) overlapping the others (a new target or header value is read so on every
    /// exchange whose query or value differs from the cached ones).
    @inline(__always)
    var isASCII: Bool {
        guard let base = baseAddress else { return true }
        let count = count
        if count >= 8 {
            var high: UInt64 = 0
            var i = 0
            while i &+ 8 < count {
                high |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            high |= base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            return high & 0x8080_8080_8080_8080 == 0
        }
        if count >= 4 {
            let high = base.loadUnaligned(as: UInt32.self) | base.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)
            return high & 0x8080_8080 == 0
        }
        var high: UInt8 = 0
        var i = 0
        while i < count {
            high |= base.load(fromByteOffset: i, as: UInt8.self)
            i &+= 1
        }
        return high & 0x80 == 0
    }
}

/// Small ASCII strings made from their bits. A string of at most 15 UTF-8 bytes is kept in its two
/// words on 64-bit platforms: the bytes in order (little-endian), then in the top byte of the second
/// word the flags (immortal, small, ASCII: 0xE0) and the count. That layout is checked once, against
/// literals, before any string is made so; where it does not hold, `make` gives nil.
enum SmallASCIIString {
    static let capacity = 15

    /// The flags byte of a small ASCII string, without its count, shifted into place.
    private static let flags: UInt64 = 0xE0 << 56

    /// The layout holds for this platform and standard library (literals of 0, 3 and 15 bytes).
    static let layoutHolds: Bool = {
        #if _endian(little) && _pointerBitWidth(_64)
            func bits(_ string: String) -> (UInt64, UInt64) { unsafeBitCast(string, to: (UInt64, UInt64).self) }
            return bits("") == (0, flags) && bits("abc") == (0x63_6261, flags | 3 << 56)
                && bits("0123456789abcde") == (0x3736_3534_3332_3130, flags | 15 << 56 | 0x65_6463_6261_3938)
        #else
            return false
        #endif
    }()

    /// `bytes` (at most 15, all ASCII: the caller checked) as a small string; nil where the layout does not hold.
    @inline(__always)
    static func make(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard layoutHolds else { return nil }
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return "" }
        var low: UInt64 = 0
        var high: UInt64 = 0
        if count >= 8 {
            // Bytes 8... are the top `count - 8` bytes of the last eight (which overlap the first eight).
            low = base.loadUnaligned(as: UInt64.self)
            if count > 8 {
                high = base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self) &>> UInt64(8 &* (16 &- count))
            }
        } else if count >= 4 {
            // The first and last four bytes, overlapping (equal bytes or-ed together).
            low = UInt64(base.loadUnaligned(as: UInt32.self))
                | UInt64(base.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)) &<< UInt64(8 &* (count &- 4))
        } else {
            var i = 0
            while i < count {
                low |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) &<< UInt64(8 &* i)
                i &+= 1
            }
        }
        return String.owningNothing((low, high | flags | UInt64(count) &<< 56))
    }
}

/// The index of the first lane set in `lanes` at or after lane `skip` (0...15), 16 when none is. In a
/// compare's result each lane is 0x00 or 0xFF, so the lowest set bit of each 8-byte half marks its
/// first lane exactly (`trailingZeroBitCount` of 0 is 64: 8 lanes).
@inline(__always)
func firstSetLane(_ lanes: SIMDMask<SIMD16<Int8>>, from skip: Int) -> Int {
    let halves = unsafeBitCast(lanes, to: SIMD2<UInt64>.self)
    var low = halves[0]
    var high = halves[1]
    if skip >= 8 {
        low = 0
        high &= ~0 &<< UInt64(truncatingIfNeeded: (skip &- 8) &* 8)
    } else {
        low &= ~0 &<< UInt64(truncatingIfNeeded: skip &* 8)
    }
    return low != 0 ? low.trailingZeroBitCount &>> 3 : 8 &+ high.trailingZeroBitCount &>> 3
}
