// The reference's FuzzyGet: find a key in JSON ignoring case, '-' and '_' (REFERENCE-BEHAVIOUR §6).

import CJSONBlocks

/// A key name matched as the reference's `FuzzyGet` does: `-` and `_` removed, then
/// Python `str.lower()` (`errorCode`, `error_code` and `ERROR-CODE` all match `errorcode`).
public struct FuzzyKey: Sendable, Hashable {
    /// The normalized key (lower case, no `-` or `_`).
    public let normalized: String
    private let scalars: [Unicode.Scalar]
    /// The normalized key for the block scan to match top-level names itself
    /// (`cejson_key_search`), when it is ASCII of at most 16 bytes; else nil.
    let blockKey: cejson_key?

    public init(_ key: String) {
        normalized = FuzzyKey.normalize(key)
        scalars = Array(normalized.unicodeScalars)
        blockKey = FuzzyKey.blockKey(normalized)
    }

    private static func blockKey(_ normalized: String) -> cejson_key? {
        let bytes = Array(normalized.utf8)
        guard bytes.count <= 16, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var key = cejson_key()
        key.count = bytes.count
        withUnsafeMutableBytes(of: &key.bytes) { $0.copyBytes(from: bytes) }
        return key
    }

    // By the normalized key alone (the rest is made from it).
    public static func == (a: FuzzyKey, b: FuzzyKey) -> Bool { a.normalized == b.normalized }
    public func hash(into hasher: inout Hasher) { hasher.combine(normalized) }

    public static let code = FuzzyKey("code")
    public static let errorCode = FuzzyKey("errorcode")
    public static let methodCode = FuzzyKey("Method-Code")

    /// `k.replace('-', '').replace('_', '').lower()`.
    public static func normalize(_ key: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in key.unicodeScalars where scalar != "-" && scalar != "_" {
            if scalar.isASCII {
                out.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// True when `name` normalizes to this key; allocation-free for ASCII names.
    public func matches(_ name: String) -> Bool {
        var i = 0
        for scalar in name.unicodeScalars where scalar != "-" && scalar != "_" {
            if scalar.isASCII {
                let lower = scalar.value >= 0x41 && scalar.value <= 0x5A ? scalar.value + 32 : scalar.value
                guard i < scalars.count, scalars[i].value == lower else { return false }
                i += 1
            } else {
                for mapped in scalar.properties.lowercaseMapping.unicodeScalars {
                    guard i < scalars.count, scalars[i] == mapped else { return false }
                    i += 1
                }
            }
        }
        return i == scalars.count
    }

    /// `matches(_:)` for a name that is these ASCII bytes (its scalars): the same answer
    /// without building the String.
    @inline(__always)
    func matches(ascii name: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        for byte in name where byte != UInt8(ascii: "-") && byte != UInt8(ascii: "_") {
            let lower = byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte
            guard i < scalars.count, scalars[i].value == UInt32(lower) else { return false }
            i += 1
        }
        return i == scalars.count
    }
}

/// The reference's `FuzzyGet(data, key).v` over a parsed JSON document.
///
/// Depth first, in document order, into objects and arrays. Inside one object the
/// first matching key is taken and the rest of that object is not visited (keys
/// before it are searched into). Every match replaces the previous one, including a
/// `null` (→ nil). A top-level array is searched as `{"data": [...]}`; a top-level
/// scalar gives nil.
public enum FuzzyKeySearch {
    public static func find(_ key: FuzzyKey, in document: JSONValue) -> JSONValue? {
        var found: JSONValue?
        switch document {
        case .object(let object):
            visit(object, key, &found)
        case .array:
            visit(JSONObject([("data", document)]), key, &found)
        default:
            return nil
        }
        return found
    }

    /// The reference's `fuzzy_get_many(data, 'code', 'errorcode')`: the first key found non-null.
    public static func findFirst(_ keys: [FuzzyKey], in document: JSONValue) -> JSONValue? {
        for key in keys {
            if let value = find(key, in: document) { return value }
        }
        return nil
    }

    /// Searches a sequence of (name, value) pairs as one object (a header list, query or form
    /// fields): the first matching name wins; nil when none matches.
    public static func firstMatch<S: Sequence>(_ key: FuzzyKey, in pairs: S) -> String? where S.Element == (String, String) {
        for (name, value) in pairs where key.matches(name) { return value }
        return nil
    }

    private static func visit(_ object: JSONObject, _ key: FuzzyKey, _ found: inout JSONValue?) {
        for i in object.keys.indices {
            if key.matches(object.keys[i]) {
                let value = object.values[i]
                found = value == .null ? nil : value
                return
            }
            visit(object.values[i], key, &found)
        }
    }

    static func visit(_ value: JSONValue, _ key: FuzzyKey, _ found: inout JSONValue?) {
        switch value {
        case .object(let object): visit(object, key, &found)
        case .array(let items): for item in items { visit(item, key, &found) }
        default: break
        }
    }
}
