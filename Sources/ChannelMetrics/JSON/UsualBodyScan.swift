// The label of a top-level key in the usual body — UTF-8 without a BOM, a valid JSON object
// whose top-level names are ASCII without escapes — from one block scan, in one function.

import CJSONBlocks

/// One or two keys as the block scan matches them against the top-level names itself
/// (`cejson_key_search`), built once: the label rules' keys are fixed. Plain bytes (no array:
/// nothing to retain per body).
public struct TopLevelKeySet: Sendable {
    /// The scan's search for the keys, its matches empty; no keys when it cannot match them.
    let search: cejson_key_search

    public init(_ keys: [FuzzyKey]) {
        precondition(keys.count == 1 || keys.count == 2, "one or two keys")
        var search = cejson_key_search()
        if let first = keys[0].blockKey, keys.count == 1 || keys[1].blockKey != nil {
            search.keys.0 = first
            if keys.count == 2 { search.keys.1 = keys[1].blockKey! }
            search.key_count = keys.count
        }
        self.search = search
    }
}

/// What `PythonJSONParser.scanUsualLabel` found.
public enum UsualBodyLabel: Sendable, Hashable {
    /// Not the usual body: empty, or a text `json.loads` detects as another encoding (a BOM,
    /// NUL bytes): decoded first (`BodyTextDecoding.pythonJSONBytes`).
    case notUsual
    /// UTF-8 by its first bytes but not well-formed: `json.loads` fails to decode it.
    case notDecodable
    /// A valid document, an object, well-formed UTF-8: the first key's label at the top level
    /// (two keys: the second's, at the top level, when the first's is `null` — `code`, else
    /// `errorcode`).
    case found(CodeLabel)
    /// A valid document, an object, well-formed UTF-8, without the first key at the top level
    /// (two keys: or with it `null` and without the second): the whole document decides.
    case validWithoutFirst
    /// The document is not an object (an array or a scalar): nothing was validated, not even
    /// its UTF-8.
    case notAnObject
    /// Left to the byte-by-byte scan (`scanTopLevelLabels(byteByByte:for:)`), which finds the
    /// first rejection in document order: an error, an anomaly of the token stream, nesting
    /// beyond the block scan's 63 levels. Its UTF-8 was not checked.
    case leftToByteByByte
    /// A top-level name with escapes or non-ASCII bytes (or a key the scan cannot match: not
    /// ASCII, or longer than 16 bytes): for the general scan (`scanUsualBody`), which decodes.
    case namesNotPlain
}

extension PythonJSONParser {
    /// The usual body's first key (of `keys`) at the top level, from one block scan that also
    /// validates the text and matches the top-level names, without the general scan's layers
    /// (`scanUsualBody`), which answer as this does where this answers.
    ///
    /// Measured (callgrind, `bench json` on k1m-small.pcap's 103-byte response body): the
    /// layers around the block scan — the top-level scanner, its match slots and each member
    /// handed back and noted, the scan's enum of labels — were about 800 instructions a body.
    public func scanUsualLabel(_ body: UnsafeBufferPointer<UInt8>, for keys: TopLevelKeySet) -> UsualBodyLabel {
        guard !body.isEmpty, BodyTextDecoding.detectEncoding(body) == .utf8 else { return .notUsual }
        return scanLabel(body, for: keys, asciiOnly: false, surrogates: true)
    }

    /// `scanUsualLabel` for requests' `Response.json()` (the outgoing calls, REFERENCE-BEHAVIOUR
    /// §3–§4): a body whose text requests reads as the body itself
    /// (`BodyTextDecoding.requestsTextIdentity`), else `.notUsual` (decoded first). Declared
    /// ISO-8859-1 (`.whenASCII`): only a valid object of ASCII bytes is answered, any other is
    /// `.notUsual`; otherwise `.notDecodable` means requests decodes it with replacements
    /// (decoded first too), and `.notAnObject` and `.leftToByteByByte` are the body's when it
    /// is well-formed UTF-8.
    public func scanUndecodedLabel(
        _ body: UnsafeBufferPointer<UInt8>, contentType: String?, for keys: TopLevelKeySet
    ) -> UsualBodyLabel {
        guard !body.isEmpty else { return .notUsual }
        switch BodyTextDecoding.requestsTextIdentity(body, contentType: contentType) {
        case .whenValidUTF8: return scanLabel(body, for: keys, asciiOnly: false, surrogates: false)
        case .whenASCII: return scanLabel(body, for: keys, asciiOnly: true, surrogates: false)
        case .unknown: return .notUsual
        }
    }

    /// The block scan's label of a non-empty body taken as UTF-8 text; `asciiOnly`: any answer
    /// but a valid object of ASCII bytes (or names not plain) is `.notUsual`; `surrogates`: the
    /// text is `json.loads(bytes)`'s, which passes surrogates (`UTF8Validation`).
    private func scanLabel(
        _ body: UnsafeBufferPointer<UInt8>, for keys: TopLevelKeySet, asciiOnly: Bool, surrogates: Bool
    ) -> UsualBodyLabel {
        var search = keys.search
        var isASCII = false
        let outcome = scanKeys(body, into: &search, isASCII: &isASCII, surrogates: surrogates)
        switch outcome {
        case Int32(CEJSON_VALID):
            if asciiOnly, !isASCII { return .notUsual }
            let first = search.matches.0
            guard first.name_end != 0 else { return .validWithoutFirst }
            var scanner = TopLevelScanner(bytes: body, maxDepth: maxDepth)
            // (A value the block scan found valid is read as the general scan reads it.)
            guard let label = try? scanner.label(at: first.value_start) else { return .leftToByteByByte }
            guard label.isNull, search.key_count == 2 else { return .found(label) }
            let second = search.matches.1
            guard second.name_end != 0 else { return .validWithoutFirst }
            guard let secondLabel = try? scanner.label(at: second.value_start) else { return .leftToByteByByte }
            return .found(secondLabel)
        case Int32(CEJSON_NOT_PLAIN): return .namesNotPlain
        case _ where asciiOnly: return .notUsual
        case Int32(CEJSON_NOT_AN_OBJECT): return .notAnObject
        case -1: return .notDecodable
        default: return .leftToByteByByte
        }
    }

    /// The block scan of `body` (`cejson_scan_keys`) matching the top-level names against the
    /// keys of `search` (a `TopLevelKeySet`'s), its matches there: what it tells (`CEJSON_…`;
    /// -1: valid but not well-formed UTF-8; `CEJSON_NOT_PLAIN` also for keys it cannot match).
    @inline(__always)
    func scanKeys(_ body: UnsafeBufferPointer<UInt8>, into search: inout cejson_key_search) -> Int32 {
        var isASCII = false
        return scanKeys(body, into: &search, isASCII: &isASCII)
    }

    /// `scanKeys`, and whether the scan found the text valid and every byte ASCII (it read them
    /// all; false says nothing either way).
    @inline(__always)
    func scanKeys(
        _ body: UnsafeBufferPointer<UInt8>, into search: inout cejson_key_search, isASCII: inout Bool, surrogates: Bool = false
    ) -> Int32 {
        guard search.key_count != 0 else { return Int32(CEJSON_NOT_PLAIN) }
        return withUnsafeTemporaryAllocation(of: cejson_scanner.self, capacity: 1) { scannerBuffer -> Int32 in
            let scanner = scannerBuffer.baseAddress!
            let outcome = cejson_scan_keys(scanner, body.baseAddress, body.count, max(maxDepth, 0), cejson_best_level(), &search)
            guard outcome == CEJSON_VALID else { return outcome }
            // ASCII (the scan read every byte) or else well-formed UTF-8.
            isASCII = scanner.pointee.high == 0
            if !isASCII, !UTF8Validation.isValid(UnsafeRawBufferPointer(body), surrogates: surrogates) { return -1 }
            return outcome
        }
    }
}
