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
    ///
    /// One pass, by index, with no String built but the matching value: a field's name is
    /// compared only when it has at least as many bytes as the normalized key (decoding and
    /// normalizing never make a name longer: `%XX` is three bytes for one, an invalid byte
    /// kept as `%XX` three for three, a UTF-8 sequence of n bytes one scalar whose lower case
    /// has at most n), so the usual `id=19` is passed over after its length.
    private static func asciiFirstMatch(_ key: FuzzyKey, in bytes: UnsafeBufferPointer<UInt8>) -> QueryKeyMatch? {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return .noFields }
        guard bytes.isASCII else { return nil }
        let shortest = key.shortestQueryName
        // A query shorter than the key has no name long enough to match (the usual `id=19`):
        // only whether it has a field is left to tell, a byte other than `&` (measured,
        // callgrind, k1m-small.pcap: `inboundMethodCode` 239 -> 167 instructions an exchange).
        if count < shortest { return bytes.contains { $0 != UInt8(ascii: "&") } ? .noMatch : .noFields }
        var sawField = false
        var start = 0
        while start < count {
            // The name ends at the first `=` or at the field's `&`; the value at the next `&`.
            var nameEnd = start
            while nameEnd < count && base[nameEnd] != UInt8(ascii: "=") && base[nameEnd] != UInt8(ascii: "&") { nameEnd &+= 1 }
            var end = nameEnd
            if end < count && base[end] == UInt8(ascii: "=") {
                end &+= 1
                while end < count && base[end] != UInt8(ascii: "&") { end &+= 1 }
            }
            if end > start {
                sawField = true
                if nameEnd &- start >= shortest && nameMatches(key, UnsafeBufferPointer(start: base + start, count: nameEnd &- start)) {
                    let value = nameEnd < end ? ArraySlice(UnsafeBufferPointer(start: base + nameEnd + 1, count: end &- nameEnd &- 1)) : []
                    return .value(unquotePlus(value))
                }
            }
            start = end &+ 1
        }
        return sawField ? .noMatch : .noFields
    }

    /// Whether an ASCII field name matches: a name with `%` or `+` is unquoted first; any other
    /// is its own bytes.
    private static func nameMatches(_ key: FuzzyKey, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let quoted = name.contains { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }
        return quoted ? key.matches(unquotePlus(ArraySlice(name))) : key.matches(ascii: name)
    }
}

extension FuzzyKey {
    /// The fewest bytes a query field's name must have to match: the normalized key's length
    /// when it is ASCII (see `asciiFirstMatch`), else 0 (every name is compared).
    var shortestQueryName: Int { blockKey.map { Int($0.count) } ?? 0 }
}
