// A JSON document as Python's json module returns it, rendered as Python's str() would.

/// One JSON value with Python's semantics (what `json.loads` returns).
///
/// - Integers keep their literal digits (Python ints are exact, `-0` is `0`).
/// - Objects keep the order of each key's *first* occurrence with its *last*
///   value, as a Python `dict` built from the pairs does.
///
/// Not `indirect`: arrays and objects already hold their elements in array storage, and an
/// indirect enum boxes every value, scalars included (an allocation per value parsed).
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// The decimal digits of an integer literal, with `-` when negative (never `-0`).
    case integer(String)
    case float(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// Python truthiness: `None`, `False`, `0`, `0.0`, `""`, `[]`, `{}` are false.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let value): return value
        case .integer(let digits): return digits != "0"
        case .float(let value): return value != 0
        case .string(let text): return !text.isEmpty
        case .array(let items): return !items.isEmpty
        case .object(let object): return !object.keys.isEmpty
        }
    }

    /// Python `value == 0`: true for `0`, `0.0`, `-0.0` and `False`; never for text.
    public var equalsNumberZero: Bool {
        switch self {
        case .bool(let value): return !value
        case .integer(let digits): return digits == "0"
        case .float(let value): return value == 0
        default: return false
        }
    }

    /// Python `str(value)`: `None`, `True`, `1.5`, `100000.0`, text as is, containers as repr.
    public var pythonStr: String {
        switch self {
        case .string(let text): return text
        case .integer(let digits): return digits  // the usual business code: no new String
        case .null: return "None"
        case .bool(let value): return value ? "True" : "False"
        default: return pythonRepr
        }
    }

    /// Python `repr(value)`: `'text'`, `{'a': 1}`, `[1, 'x', None]`.
    public var pythonRepr: String {
        var out = ""
        appendRepr(to: &out)
        return out
    }

    private func appendRepr(to out: inout String) {
        switch self {
        case .null: out += "None"
        case .bool(let value): out += value ? "True" : "False"
        case .integer(let digits): out += digits
        case .float(let value): out += PythonFormatting.floatRepr(value)
        case .string(let text): out += PythonFormatting.stringRepr(text)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                item.appendRepr(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for i in object.keys.indices {
                if i > 0 { out += ", " }
                out += PythonFormatting.stringRepr(object.keys[i])
                out += ": "
                object.values[i].appendRepr(to: &out)
            }
            out += "}"
        }
    }
}

/// A JSON object in Python `dict` order: first occurrence of each key, last value.
public struct JSONObject: Hashable, Sendable {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []
    /// Key → index, built once an object grows past a few keys (keeps duplicate detection linear).
    private var lookup: [String: Int]?

    public init() {}

    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { set(key, value) }
    }

    /// Adds a pair; a repeated key keeps its place and takes the new value.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if lookup == nil, keys.count >= 16 {
            lookup = Dictionary(keys.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
        let existing = lookup != nil ? lookup![key] : keys.firstIndex(of: key)
        if let i = existing {
            values[i] = value
        } else {
            lookup?[key] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.keys == rhs.keys && lhs.values == rhs.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(keys)
        hasher.combine(values)
    }
}
