// A JSON parser with CPython's `json.loads` semantics over UTF-8 bytes, with a depth bound.

/// Why bytes were not taken as a JSON document.
public enum JSONRejection: String, Error, Sendable, Hashable, CaseIterable {
    /// Not JSON as Python's parser defines it (also: empty, trailing data).
    case syntax
    /// Not decodable in the encoding Python would use (e.g. invalid UTF-8).
    case encoding
    /// Nested deeper than the configured bound (Python itself fails with RecursionError).
    case tooDeep = "too_deep"
    /// An integer literal of more than 4300 digits (Python 3.11+ `int` limit: ValueError).
    case integerTooLong = "integer_too_long"
}

/// Parses JSON text as CPython's `json` module does (RFC 8259 plus its extensions).
///
/// Python's parser accepts `NaN`, `Infinity` and `-Infinity`, keeps duplicate keys'
/// last value, rejects raw control characters inside strings (strict mode), allows
/// only ` \t\n\r` as whitespace and rejects anything after the value. Lone
/// surrogate escapes (`\ud800`) become U+FFFD (Python would keep them).
public struct PythonJSONParser: Sendable {
    /// Nesting deeper than this is rejected (`JSONRejection.tooDeep`) instead of recursing.
    public var maxDepth: Int

    public init(maxDepth: Int = 512) { self.maxDepth = maxDepth }

    /// Parses UTF-8 text (already decoded and validated by the caller).
    public func parse(utf8 bytes: [UInt8]) -> Result<JSONValue, JSONRejection> {
        bytes.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONRejection) {
                cursor.skipWhitespace()
                let value = try cursor.parseValue(depth: 0)
                cursor.skipWhitespace()
                guard cursor.atEnd else { return .failure(.syntax) }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
    }
}

struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    var atEnd: Bool { position >= bytes.count }

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

    mutating func parseValue(depth: Int) throws(JSONRejection) -> JSONValue {
        guard let byte = peek() else { throw .syntax }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "n"): if expect("null") { return .null }
        case UInt8(ascii: "t"): if expect("true") { return .bool(true) }
        case UInt8(ascii: "f"): if expect("false") { return .bool(false) }
        case UInt8(ascii: "N"): if expect("NaN") { return .float(.nan) }
        case UInt8(ascii: "I"): if expect("Infinity") { return .float(.infinity) }
        case UInt8(ascii: "-"):
            if expect("-Infinity") { return .float(-.infinity) }
            return try parseNumber()
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: break
        }
        throw .syntax
    }

    mutating func parseObject(depth: Int) throws(JSONRejection) -> JSONValue {
        guard depth <= maxDepth else { throw .tooDeep }
        position += 1
        var object = JSONObject()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw .syntax }
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw .syntax }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            object.set(key, value)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return .object(object)
            default:
                throw .syntax
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONRejection) -> JSONValue {
        guard depth <= maxDepth else { throw .tooDeep }
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return .array(items)
            default:
                throw .syntax
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`: an int without fraction and exponent.
    mutating func parseNumber() throws(JSONRejection) -> JSONValue {
        let (start, isFloat) = try scanNumber()
        let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isFloat {
            // Double(String) rounds correctly like CPython's float(); overflow gives ±inf as in Python.
            guard let value = Double(literal) else { throw .syntax }
            return .float(value)
        }
        return .integer(literal == "-0" ? "0" : literal)
    }

    /// Moves past a number literal (the grammar above), enforcing CPython's 4300-digit
    /// bound on integers; returns where it started and whether it is a float.
    mutating func scanNumber() throws(JSONRejection) -> (start: Int, isFloat: Bool) {
        let start = position
        let count = bytes.count
        var i = position
        if i < count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let integerStart = i
        guard i < count, isDigit(bytes[i]) else { throw .syntax }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            repeat { i += 1 } while i < count && isDigit(bytes[i])
        }
        let integerDigits = i - integerStart
        var isFloat = false
        if i + 1 < count, bytes[i] == UInt8(ascii: "."), isDigit(bytes[i + 1]) {
            isFloat = true
            i += 2
            while i < count, isDigit(bytes[i]) { i += 1 }
        }
        if i < count, bytes[i] | 0x20 == UInt8(ascii: "e") {  // e or E
            var probe = i + 1
            if probe < count, bytes[probe] == UInt8(ascii: "+") || bytes[probe] == UInt8(ascii: "-") { probe += 1 }
            if probe < count, isDigit(bytes[probe]) {
                isFloat = true
                i = probe + 1
                while i < count, isDigit(bytes[i]) { i += 1 }
            }
        }
        position = i
        if !isFloat, integerDigits > 4300 { throw .integerTooLong }
        return (start, isFloat)
    }

    mutating func parseString() throws(JSONRejection) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw .syntax }
            position += 1
        }
        guard position < bytes.count else { throw .syntax }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self).unicodeScalars)
        var runStart = position
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
                if runStart < position {
                    scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart..<position]), as: UTF8.self).unicodeScalars)
                }
                if b == UInt8(ascii: "\"") {
                    position += 1
                    return String(scalars)
                }
                position += 1
                scalars.append(try parseEscape())
                runStart = position
                continue
            }
            if b < 0x20 { throw .syntax }
            position += 1
        }
        throw .syntax
    }

    mutating func parseEscape() throws(JSONRejection) -> Unicode.Scalar {
        guard let c = peek() else { throw .syntax }
        position += 1
        switch c {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try parseHex4()
            if (0xD800..<0xDC00).contains(high), position + 1 < bytes.count,
                bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            {
                let saved = position
                position += 2
                let low = try parseHex4()
                if (0xDC00..<0xE000).contains(low) {
                    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
                }
                position = saved
            }
            return Unicode.Scalar(high) ?? "\u{FFFD}"
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

    @inline(__always)
    func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
}
