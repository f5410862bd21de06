// Finds one key in a query string without building its list of fields.

/// What a search of a query string for one key found.
public enum QueryKeyMatch: Equatable, Sendable {
    /// The query is not UTF-8: werkzeug's parse fails, so the reference sees no arguments.
    case unparsable
    /// The query parses to no fields at all (`?`, `?&&`).
    case noFields
    case noMatch
    /// The value of the first field whose name matches (what `firstMatch` over
    /// `firstValues(parseQuery(…))` gives: the first occurrence of a name comes first).
    case value(String)
}

extension RequestFields {
    /// `firstMatch(key, in: parseQuery(wireBytes(query)))`, reading the query in place:
    /// only the matching field's value becomes a `String`. Every request of a busy
    /// service carries a query, so this runs once per exchange; the general path builds
    /// two strings per field.
    public static func firstMatch(_ key: FuzzyKey, inQuery query: String) -> QueryKeyMatch {
        // In place (a small string's bytes on the stack): no copy of the query to make it mutable.
        if let fast = query.utf8.withContiguousStorageIfAvailable({ asciiFirstMatch(key, in: $0) }), let result = fast {
            return result
        }
        guard let pairs = parseQuery(wireBytes(query)) else { return .unparsable }
        if pairs.isEmpty { return .noFields }
        return FuzzyKeySearch.firstMatch(key, in: pairs).map(QueryKeyMatch.value) ?? .noMatch
    }

    /// `firstMatch` of an all-ASCII query (its wire bytes are its UTF-8, valid); nil for any
    /// other, which takes the general path.
    private static func asciiFirstMatch(_ key: FuzzyKey, in bytes: UnsafeBufferPointer<UInt8>) -> QueryKeyMatch? {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return .noFields }
        guard bytes.isASCII else { return nil }
        var sawField = false
        var start = 0
        while start <= count {
            var end = start
            while end < count && base[end] != UInt8(ascii: "&") { end &+= 1 }
            if end > start {
                sawField = true
                var nameEnd = start
                var quoted = false  // a name with `%` or `+` is unquoted first; any other is its own bytes
                while nameEnd < end && base[nameEnd] != UInt8(ascii: "=") {
                    quoted = quoted || base[nameEnd] == UInt8(ascii: "%") || base[nameEnd] == UInt8(ascii: "+")
                    nameEnd &+= 1
                }
                let name = UnsafeBufferPointer(start: base + start, count: nameEnd &- start)
                if quoted ? key.matches(unquotePlus(ArraySlice(name))) : key.matches(ascii: name) {
                    let value = nameEnd < end ? ArraySlice(UnsafeBufferPointer(start: base + nameEnd + 1, count: end &- nameEnd &- 1)) : []
                    return .value(unquotePlus(value))
                }
            }
            start = end &+ 1
        }
        return sawField ? .noMatch : .noFields
    }
}
