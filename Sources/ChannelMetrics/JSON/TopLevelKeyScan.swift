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
    /// returns the values of the top-level keys matching `keys` (at most `MatchSlots.capacity`).
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
    /// Set when the block scan found the text valid and every byte ASCII (it reads them all):
    /// well-formed UTF-8 without the separate check (`PythonJSONParser.scanUsualBody`).
    var textIsASCII = false

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
    }

    /// Two passes over 64-byte blocks when they can tell (nearly always: a valid object),
    /// else byte by byte from the start.
    mutating func scan(_ keys: [FuzzyKey]) throws(JSONRejection) -> TopLevelKeys {
        guard let matches = try scanMatches(keys) else { return .notAnObject }
        return .values(try values(of: matches, keys.count))
    }

    /// The matches of a valid document whose top level is an object; nil when it is not an object.
    /// `blocks` false: byte by byte from the start (the block scan left this text to it before).
    mutating func scanMatches(_ keys: [FuzzyKey], blocks: Bool = true) throws(JSONRejection) -> MatchSlots? {
        var matches = MatchSlots(count: keys.count)
        switch blocks ? scanInBlocks(keys, into: &matches) : .undecided {
        case .notAnObject: return nil
        case .valid: return matches
        case .undecided:
            matches = MatchSlots(count: keys.count)
            cursor.position = 0
            guard try scanByteByByte(keys, into: &matches) else { return nil }
            return matches
        }
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
    /// A member's name: where its bytes are, and its text when it is not ASCII without escapes
    /// (the usual name is matched and compared as bytes, without building a String).
    struct Key {
        let bytes: UnsafeBufferPointer<UInt8>
        /// The name's bytes between the quotes.
        let range: Range<Int>
        /// The decoded name, when not ASCII without escapes (nil: the bytes are the text).
        let decoded: String?

        var asciiRange: Range<Int>? { decoded == nil ? range : nil }

        var text: String { decoded ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }

        func matches(_ key: FuzzyKey) -> Bool {
            if let decoded { return key.matches(decoded) }
            return key.matches(ascii: UnsafeBufferPointer(rebasing: bytes[range]))
        }

        /// String `==` (canonical equivalence): between two ASCII names it is byte equality.
        func equals(_ match: MatchSlots.Match) -> Bool {
            if match.plain, decoded == nil { return MatchSlots.sameBytes(range, match.range, in: bytes) }
            return MatchSlots.name(of: match, in: bytes) == text
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
        if plain { return Key(bytes: cursor.bytes, range: range, decoded: nil) }
        cursor.position = start
        let decoded = try cursor.parseString()
        return Key(bytes: cursor.bytes, range: range, decoded: decoded)
    }
}

/// For each key asked for (at most `capacity`): where the name of its first matching key is
/// and where the value of its last occurrence starts. The slots live inline and a match holds
/// no String (a name not ASCII without escapes is decoded again when compared: rare), so the
/// slots are plain integers to copy (measured: copying and destroying slots that held a
/// String was a tenth of the glue around the block scan; then about 140 instructions per body
/// of outlined copies and destroys of an optional array for more than two keys).
struct MatchSlots {
    /// A match: its name between the quotes (`plain`: ASCII without escapes, the bytes are the
    /// text) and where its value starts.
    struct Match: Equatable {
        var range: Range<Int>
        var plain: Bool
        var valueStart: Int

        var asciiRange: Range<Int>? { plain ? range : nil }
    }

    /// The most keys a scan looks for (the label rules ask for one or two).
    static let capacity = 4

    private var first: Match?
    private var second: Match?
    private var third: Match?
    private var fourth: Match?

    init(count: Int) {
        precondition(count <= Self.capacity, "at most \(Self.capacity) keys")
    }

    /// A member named `key` whose value starts at `valueStart`, for each key asked for.
    mutating func note(_ key: TopLevelScanner.Key, valueAt valueStart: Int, for keys: [FuzzyKey]) {
        if key.decoded == nil { return note(plain: key.range, in: key.bytes, valueAt: valueStart, for: keys) }
        for i in keys.indices {
            if let match = self[i] {
                if key.equals(match) { self[i]!.valueStart = valueStart }  // a repeated key: its last value
            } else if key.matches(keys[i]) {
                self[i] = Match(range: key.range, plain: key.decoded == nil, valueStart: valueStart)
            }
        }
    }

    /// `note` for the usual name, ASCII without escapes at `range` of `bytes`: no `Key` (which
    /// holds a String) to build and destroy per member.
    mutating func note(plain range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>, valueAt valueStart: Int, for keys: [FuzzyKey]) {
        // Each slot in place, without the subscript's Optional copies (measured).
        guard !keys.isEmpty else { return }
        Self.note(plain: range, in: bytes, valueAt: valueStart, for: keys[0], into: &first)
        guard keys.count > 1 else { return }
        Self.note(plain: range, in: bytes, valueAt: valueStart, for: keys[1], into: &second)
        guard keys.count > 2 else { return }
        Self.note(plain: range, in: bytes, valueAt: valueStart, for: keys[2], into: &third)
        guard keys.count > 3 else { return }
        Self.note(plain: range, in: bytes, valueAt: valueStart, for: keys[3], into: &fourth)
    }

    /// `note(plain:)` for one key and its slot.
    @inline(__always)
    private static func note(
        plain range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>, valueAt valueStart: Int, for key: FuzzyKey, into slot: inout Match?
    ) {
        if let match = slot {
            let same = match.plain ? sameBytes(range, match.range, in: bytes) : sameName(match, range, in: bytes)
            if same { slot!.valueStart = valueStart }  // a repeated key: its last value
        } else if key.matches(ascii: UnsafeBufferPointer(rebasing: bytes[range])) {
            slot = Match(range: range, plain: true, valueStart: valueStart)
        }
    }

    subscript(index: Int) -> Match? {
        get {
            switch index {
            case 0: return first
            case 1: return second
            case 2: return third
            default: return fourth
            }
        }
        set {
            switch index {
            case 0: first = newValue
            case 1: second = newValue
            case 2: third = newValue
            default: fourth = newValue
            }
        }
    }
}

extension MatchSlots {
    /// Whether two ranges of `bytes` hold the same bytes.
    static func sameBytes(_ a: Range<Int>, _ b: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where bytes[a.lowerBound + i] != bytes[b.lowerBound + i] { return false }
        return true
    }

    /// Whether the ASCII name at `range` of `bytes` is the name of `match`, which is not ASCII
    /// without escapes (decoded: rare). Apart, so that `note(plain:)` needs no String and no
    /// large frame (measured).
    @inline(never)
    static func sameName(_ match: Match, _ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        name(of: match, in: bytes) == String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The name of `match`, whose bytes are in `bytes` (a valid string there).
    static func name(of match: Match, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        if match.plain { return String(decoding: UnsafeBufferPointer(rebasing: bytes[match.range]), as: UTF8.self) }
        return decodedName(of: match, in: bytes)!
    }

    /// The decoded name of a match that is not ASCII without escapes, else nil.
    static func decodedName(of match: Match, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard !match.plain else { return nil }
        var cursor = Cursor(bytes: bytes, maxDepth: 0)
        cursor.position = match.range.lowerBound - 1
        return try? cursor.parseString()
    }
}
