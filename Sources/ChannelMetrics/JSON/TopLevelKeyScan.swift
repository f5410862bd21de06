// The fast path of the key search: a top-level key wins (REFERENCE-BEHAVIOUR §6), so a
// document whose top-level object has the key needs validating, not building.

/// What `PythonJSONParser.scanTopLevel` found.
public enum TopLevelKeys: Sendable, Hashable {
    /// The document is not an object (an array or a scalar): nothing was validated.
    case notAnObject
    /// A valid document whose top-level object was searched: for each key asked for, the value
    /// of its first matching key (a repeated key's last value, as Python's dict keeps), or nil.
    case values([JSONValue?])
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

private struct TopLevelScanner {
    var cursor: Cursor

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
    }

    mutating func scan(_ keys: [FuzzyKey]) throws(JSONRejection) -> TopLevelKeys {
        cursor.skipWhitespace()
        guard cursor.peek() == UInt8(ascii: "{") else { return .notAnObject }
        guard 1 <= cursor.maxDepth else { throw .tooDeep }
        cursor.position += 1
        var matches = MatchSlots(count: keys.count)
        cursor.skipWhitespace()
        if cursor.peek() == UInt8(ascii: "}") {
            cursor.position += 1
        } else {
            members: while true {
                guard cursor.peek() == UInt8(ascii: "\"") else { throw .syntax }
                let key = try cursor.parseString()
                cursor.skipWhitespace()
                guard cursor.peek() == UInt8(ascii: ":") else { throw .syntax }
                cursor.position += 1
                cursor.skipWhitespace()
                let start = cursor.position
                try cursor.skipValue(depth: 1)
                for i in keys.indices {
                    if let first = matches[i] {
                        if first.name == key { matches[i] = (first.name, start) }  // a repeated key: its last value
                    } else if keys[i].matches(key) {
                        matches[i] = (key, start)
                    }
                }
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
        var values = [JSONValue?]()
        values.reserveCapacity(keys.count)
        for i in keys.indices {
            guard let match = matches[i] else {
                values.append(nil)
                continue
            }
            cursor.position = match.valueStart
            values.append(try cursor.parseValue(depth: 1))
        }
        return .values(values)
    }
}

/// For each key asked for: the name of its first matching key and where the value of its
/// last occurrence starts. The callers ask for one or two keys: those live inline, so a
/// scan allocates nothing but its result.
private struct MatchSlots {
    typealias Match = (name: String, valueStart: Int)
    private var first: Match?
    private var second: Match?
    private var rest: [Match?]

    init(count: Int) {
        rest = count > 2 ? Array(repeating: nil, count: count - 2) : []
    }

    subscript(index: Int) -> Match? {
        get {
            switch index {
            case 0: return first
            case 1: return second
            default: return rest[index - 2]
            }
        }
        set {
            switch index {
            case 0: first = newValue
            case 1: second = newValue
            default: rest[index - 2] = newValue
            }
        }
    }
}
