// The JSON validator before the word-at-a-time one, kept as the reference of JSONSkippingTests.

import ChannelMetrics

/// The validating part of `Cursor` before the word-at-a-time version: a recursive descent
/// with the position in the struct (the reference for the tests above).
struct ReferenceCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        let base = literal.utf8Start
        for i in 0..<count where bytes[position + i] != base[i] { return false }
        position += count
        return true
    }

    mutating func skipValue(depth: Int) throws(JSONRejection) {
        guard let byte = peek() else { throw .syntax }
        switch byte {
        case UInt8(ascii: "{"): return try skipContainer(close: UInt8(ascii: "}"), isObject: true, depth: depth + 1)
        case UInt8(ascii: "["): return try skipContainer(close: UInt8(ascii: "]"), isObject: false, depth: depth + 1)
        case UInt8(ascii: "\""): return try skipString()
        case UInt8(ascii: "n"): if expect("null") { return }
        case UInt8(ascii: "t"): if expect("true") { return }
        case UInt8(ascii: "f"): if expect("false") { return }
        case UInt8(ascii: "N"): if expect("NaN") { return }
        case UInt8(ascii: "I"): if expect("Infinity") { return }
        case UInt8(ascii: "-"):
            if expect("-Infinity") { return }
            _ = try scanNumber()
            return
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
            return
        default: break
        }
        throw .syntax
    }

    mutating func skipContainer(close: UInt8, isObject: Bool, depth: Int) throws(JSONRejection) {
        guard depth <= maxDepth else { throw .tooDeep }
        position += 1
        skipWhitespace()
        if peek() == close {
            position += 1
            return
        }
        while true {
            if isObject {
                guard peek() == UInt8(ascii: "\"") else { throw .syntax }
                try skipString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw .syntax }
                position += 1
                skipWhitespace()
            }
            try skipValue(depth: depth)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case close:
                position += 1
                return
            default:
                throw .syntax
            }
        }
    }

    mutating func skipString() throws(JSONRejection) {
        position += 1
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                position += 1
                return
            }
            if b == UInt8(ascii: "\\") {
                position += 1
                try skipEscape()
                continue
            }
            if b < 0x20 { throw .syntax }
            position += 1
        }
        throw .syntax
    }

    /// `Cursor.parseEscape`'s grammar: one of `"\/bfnrt`, or `u` and four hex digits (a high
    /// surrogate followed by `\u` reads the second escape's four hex digits too).
    mutating func skipEscape() throws(JSONRejection) {
        guard let c = peek() else { throw .syntax }
        position += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let high = try parseHex4()
            if (0xD800..<0xDC00).contains(high), position + 1 < bytes.count,
                bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            {
                let saved = position
                position += 2
                let low = try parseHex4()
                if (0xDC00..<0xE000).contains(low) { return }
                position = saved
            }
        default:
            throw .syntax
        }
    }

    mutating func parseHex4() throws(JSONRejection) -> UInt32 {
        guard position + 4 <= bytes.count else { throw .syntax }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw .syntax
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    mutating func scanNumber() throws(JSONRejection) -> (start: Int, isFloat: Bool) {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        guard let first = peek(), isDigit(first) else { throw .syntax }
        if first == UInt8(ascii: "0") {
            position += 1
        } else {
            while let b = peek(), isDigit(b) { position += 1 }
        }
        let integerDigits = position - integerStart
        var isFloat = false
        if peek() == UInt8(ascii: "."), position + 1 < bytes.count, isDigit(bytes[position + 1]) {
            isFloat = true
            position += 1
            while let b = peek(), isDigit(b) { position += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var probe = position + 1
            if probe < bytes.count, bytes[probe] == UInt8(ascii: "+") || bytes[probe] == UInt8(ascii: "-") { probe += 1 }
            if probe < bytes.count, isDigit(bytes[probe]) {
                isFloat = true
                position = probe
                while let b = peek(), isDigit(b) { position += 1 }
            }
        }
        if !isFloat, integerDigits > 4300 { throw .integerTooLong }
        return (start, isFloat)
    }

    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
