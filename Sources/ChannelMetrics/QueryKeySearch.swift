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
        var query = query
        let fast: QueryKeyMatch?? = query.withUTF8 { bytes -> QueryKeyMatch?? in
            // Only an all-ASCII query takes the fast path: its wire bytes are its UTF-8 (valid).
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            var sawField = false
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "&") { end += 1 }
                if end > start {
                    sawField = true
                    var nameEnd = start
                    while nameEnd < end && bytes[nameEnd] != UInt8(ascii: "=") { nameEnd += 1 }
                    let name = UnsafeBufferPointer(rebasing: bytes[start..<nameEnd])
                    // A name with `%` or `+` is unquoted first; any other is its own bytes.
                    let matched =
                        name.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") })
                        ? key.matches(unquotePlus(ArraySlice<UInt8>(name))) : key.matches(ascii: name)
                    if matched {
                        let value = nameEnd < end ? ArraySlice<UInt8>(UnsafeBufferPointer(rebasing: bytes[(nameEnd + 1)..<end])) : []
                        return .some(.value(unquotePlus(value)))
                    }
                }
                start = end + 1
            }
            return .some(sawField ? .noMatch : .noFields)
        }
        if let fast, let result = fast { return result }
        guard let pairs = parseQuery(wireBytes(query)) else { return .unparsable }
        if pairs.isEmpty { return .noFields }
        return FuzzyKeySearch.firstMatch(key, in: pairs).map(QueryKeyMatch.value) ?? .noMatch
    }
}
