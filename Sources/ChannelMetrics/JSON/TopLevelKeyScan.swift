// The fast path of the key search: a top-level key wins (REFERENCE-BEHAVIOUR §6), so a
// document whose top-level object has the key needs validating, not building.

/// What `PythonJSONParser.scanTopLevel` found.
public enum TopLevelKeys: Sendable, Hashable {
    /// The document is not an object (an array or a scalar): nothing was validated.
    case notAnObject
    /// A valid document whose top-level object was searched: for each key asked for, the value
    /// of its first matching key (a repeated key's last value, as Python's dict keeps), or nil.
    case values(TopLevelValues)
}

/// The values found for the keys asked for, in their order. The callers ask for one or two
/// keys: those are held inline, so a scan allocates no array (measured: one per exchange).
public struct TopLevelValues: RandomAccessCollection, Sendable, Hashable {
    private var first: JSONValue?
    private var second: JSONValue?
    private var rest: [JSONValue?] = []
    public let count: Int

    init(count: Int) {
        self.count = count
        if count > 2 { rest = Array(repeating: nil, count: count - 2) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> JSONValue? {
        get {
            precondition(index >= 0 && index < count, "index out of range")
            switch index {
            case 0: return first
            case 1: return second
            default: return rest[index - 2]
            }
        }
        set {
            precondition(index >= 0 && index < count, "index out of range")
            switch index {
            case 0: first = newValue
            case 1: second = newValue
            default: rest[index - 2] = newValue
            }
        }
    }
}

extension PythonJSONParser {
    /// Validates `bytes` exactly as `parse(utf8:)` does, without building the document, and
    /// returns the values of the top-level keys matching `keys`.
    ///
    /// Measured on real traffic (Benchmarks/README.md): building the whole tree of every
    /// response body was two thirds of the pipeline's time; most bodies carry their code at
    /// the top level (`{"code": 0, "data": {…}}`), where the search ends.
    public func scanTopLevel(utf8 bytes: [UInt8], for keys: [FuzzyKey]) -> Result<TopLevelKeys, JSONRejection> {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = TopLevelScanner(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONRejection) {
                return .success(try scanner.scan(keys))
            } catch {
                return .failure(error)
            }
        }
    }
}

struct TopLevelScanner {
    var cursor: Cursor

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
    }

    /// Two passes over 64-byte blocks when they can tell (nearly always: a valid object),
    /// else byte by byte from the start.
    mutating func scan(_ keys: [FuzzyKey]) throws(JSONRejection) -> TopLevelKeys {
        var matches = MatchSlots(count: keys.count)
        switch scanInBlocks(keys, into: &matches) {
        case .notAnObject: return .notAnObject
        case .valid: break
        case .undecided:
            matches = MatchSlots(count: keys.count)
            cursor.position = 0
            guard try scanByteByByte(keys, into: &matches) else { return .notAnObject }
        }
        return .values(try values(of: matches, keys.count))
    }

    /// `scan` one byte after the other (`validateValue`), which finds the first rejection in
    /// document order; false when the text is not an object.
    mutating func scanByteByByte(_ keys: [FuzzyKey], into matches: inout MatchSlots) throws(JSONRejection) -> Bool {
        cursor.skipWhitespace()
        guard cursor.peek() == UInt8(ascii: "{") else { return false }
        guard 1 <= cursor.maxDepth else { throw .tooDeep }
        cursor.position += 1
        cursor.skipWhitespace()
        if cursor.peek() == UInt8(ascii: "}") {
            cursor.position += 1
        } else {
            members: while true {
                guard cursor.peek() == UInt8(ascii: "\"") else { throw .syntax }
                let key = try scanKey()
                cursor.skipWhitespace()
                guard cursor.peek() == UInt8(ascii: ":") else { throw .syntax }
                cursor.position += 1
                cursor.skipWhitespace()
                let start = cursor.position
                try cursor.skipValue(depth: 1)
                matches.note(key, valueAt: start, for: keys)
                cursor.skipWhitespace()
                switch cursor.peek() {
                case UInt8(ascii: ","):
                    cursor.position += 1
                    cursor.skipWhitespace()
                case UInt8(ascii: "}"):
                    cursor.position += 1
                    break members
                default:
                    throw .syntax
                }
            }
        }
        cursor.skipWhitespace()
        guard cursor.atEnd else { throw .syntax }
        return true
    }

    /// The values of the matches of a valid document, built.
    mutating func values(of matches: MatchSlots, _ count: Int) throws(JSONRejection) -> TopLevelValues {
        var values = TopLevelValues(count: count)
        for i in 0..<count {
            guard let match = matches[i] else { continue }
            cursor.position = match.valueStart
            values[i] = try cursor.parseValue(depth: 1)
        }
        return values
    }
}

extension TopLevelScanner {
    /// A member's name: where its bytes are when they are ASCII without escapes (the usual
    /// case, where the text is the bytes: matched and compared without building a String),
    /// else its text.
    struct Key {
        let bytes: UnsafeBufferPointer<UInt8>
        /// The name's bytes between the quotes, when ASCII without escapes.
        let asciiRange: Range<Int>?
        let decoded: String?

        var text: String { decoded ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[asciiRange!]), as: UTF8.self) }

        func matches(_ key: FuzzyKey) -> Bool {
            if let asciiRange { return key.matches(ascii: UnsafeBufferPointer(rebasing: bytes[asciiRange])) }
            return key.matches(decoded!)
        }

        /// String `==` (canonical equivalence): between two ASCII names it is byte equality.
        func equals(_ match: MatchSlots.Match) -> Bool {
            if let other = match.asciiRange, let same = equals(ascii: other) { return same }
            return MatchSlots.name(of: match, in: bytes) == text
        }

        /// Whether this name is the ASCII name at `other`, when this one is ASCII too (nil:
        /// compare the texts).
        func equals(ascii other: Range<Int>) -> Bool? {
            guard let asciiRange else { return nil }
            guard asciiRange.count == other.count else { return false }
            for i in 0..<asciiRange.count where bytes[asciiRange.lowerBound + i] != bytes[other.lowerBound + i] { return false }
            return true
        }
    }

    /// Validates the name string at `position` as `parseString` does and moves past it.
    mutating func scanKey() throws(JSONRejection) -> Key {
        let start = cursor.position
        let end = cursor.skipString(from: start)  // parseString's grammar, its rejection
        guard end >= 0 else { throw .syntax }
        cursor.position = end
        let range = (start + 1)..<(end - 1)
        var plain = true
        for i in range where cursor.bytes[i] >= 0x80 || cursor.bytes[i] == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain { return Key(bytes: cursor.bytes, asciiRange: range, decoded: nil) }
        cursor.position = start
        let decoded = try cursor.parseString()
        return Key(bytes: cursor.bytes, asciiRange: nil, decoded: decoded)
    }
}

/// For each key asked for: the name of its first matching key and where the value of its
/// last occurrence starts. The callers ask for one or two keys: those live inline, so a
/// scan allocates nothing but its result (and no array is touched: an empty one in a
/// mutated struct is copied on each write, measured).
struct MatchSlots {
    /// A match's name: the text's bytes at `asciiRange` when ASCII without escapes (no String
    /// built: measured, a String per match was a tenth of the scan of a small body), else
    /// `decoded`.
    typealias Match = (decoded: String?, asciiRange: Range<Int>?, valueStart: Int)
    private var first: Match?
    private var second: Match?
    private var rest: [Match?]?

    init(count: Int) {
        if count > 2 { rest = Array(repeating: nil, count: count - 2) }
    }

    /// A member named `key` whose value starts at `valueStart`, for each key asked for.
    ///
    /// The usual name matches nothing: it is tested without copying a slot (a copy retains
    /// and releases its name, measured: most of the cost of a top-level member).
    mutating func note(_ key: TopLevelScanner.Key, valueAt valueStart: Int, for keys: [FuzzyKey]) {
        for i in keys.indices {
            if isFilled(i) {
                if isNamed(key, at: i) { setValueStart(valueStart, at: i) }  // a repeated key: its last value
            } else if key.matches(keys[i]) {
                self[i] = (key.decoded, key.asciiRange, valueStart)
            }
        }
    }

    /// Whether the filled slot `index` has the name `key`: two ASCII names compared without
    /// copying the slot.
    private func isNamed(_ key: TopLevelScanner.Key, at index: Int) -> Bool {
        let range: Range<Int>?
        switch index {
        case 0: range = first!.asciiRange
        case 1: range = second!.asciiRange
        default: range = rest![index - 2]!.asciiRange
        }
        if let range, let same = key.equals(ascii: range) { return same }
        return key.equals(self[index]!)
    }

    private func isFilled(_ index: Int) -> Bool {
        switch index {
        case 0: return first != nil
        case 1: return second != nil
        default: return rest![index - 2] != nil
        }
    }

    private mutating func setValueStart(_ valueStart: Int, at index: Int) {
        switch index {
        case 0: first!.valueStart = valueStart
        case 1: second!.valueStart = valueStart
        default: rest![index - 2]!.valueStart = valueStart
        }
    }

    subscript(index: Int) -> Match? {
        get {
            switch index {
            case 0: return first
            case 1: return second
            default: return rest![index - 2]
            }
        }
        set {
            switch index {
            case 0: first = newValue
            case 1: second = newValue
            default: rest![index - 2] = newValue
            }
        }
    }
}

extension MatchSlots {
    /// The name of `match`, whose ASCII range is in `bytes`.
    static func name(of match: Match, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        match.decoded ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[match.asciiRange!]), as: UTF8.self)
    }
}
