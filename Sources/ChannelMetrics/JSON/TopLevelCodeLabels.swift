// The business code's label straight from the scanned bytes: `str()` of a top-level value
// without building it, for the usual kinds (REFERENCE-BEHAVIOUR §2–§4, §6).

/// A top-level value as the label rules use it: Python's `str(value)`, whether it is `None`,
/// and whether it equals the number 0 (`value == 0`).
public struct CodeLabel: Sendable, Hashable {
    public let text: String
    public let isNull: Bool
    public let isNumberZero: Bool

    init(_ value: JSONValue) {
        self.init(text: value.pythonStr, isNull: value == .null, isNumberZero: value.equalsNumberZero)
    }

    init(text: String, isNull: Bool = false, isNumberZero: Bool = false) {
        self.text = text
        self.isNull = isNull
        self.isNumberZero = isNumberZero
    }
}

/// The labels of the first (and, when asked, second) key searched for.
public struct TopLevelCodeLabels: Sendable, Hashable {
    public var first: CodeLabel?
    public var second: CodeLabel?

    /// Whether `first` holds a label. Tested so and then read with `unsafelyUnwrapped`, a label is
    /// read in place: bound with `if let`, the optional label was copied through the runtime's
    /// generic value witness (a metadata lookup and a call, about 120 instructions per body).
    @inline(__always) public var hasFirst: Bool {
        if case .some = first { true } else { false }
    }

    /// Whether `second` holds a label (see `hasFirst`).
    @inline(__always) public var hasSecond: Bool {
        if case .some = second { true } else { false }
    }
}

/// What `scanTopLevelLabels` found. Not a `Result`: the generic enum's copies and destroys
/// went through the runtime's value witnesses (measured: about 60 instructions per body).
public enum TopLevelLabelScan: Sendable, Hashable {
    /// Not JSON, as the full parser would reject it.
    case rejected(JSONRejection)
    /// The document is not an object (an array or a scalar): nothing was validated.
    case notAnObject
    /// A valid document whose top-level object was searched.
    case labels(TopLevelCodeLabels)
}

extension PythonJSONParser {
    /// `scanTopLevel` for one or two keys, each value given as its label (`CodeLabel`, what
    /// `pythonStr` and `equalsNumberZero` of the built value give); the second key's value
    /// only when the first key's is `null` (its one use: `code`, else `errorcode`). nil when
    /// the document is not an object.
    ///
    /// Measured (callgrind, `bench metrics --only body`): building the value as a `JSONValue`
    /// and then its String, with the copies of the results between, was a fifth of the glue.
    public func scanTopLevelLabels(utf8 bytes: [UInt8], for keys: [FuzzyKey]) -> TopLevelLabelScan {
        var textIsASCII = false
        return scanTopLevelLabels(utf8: bytes, for: keys, textIsASCII: &textIsASCII)
    }

    /// `scanTopLevelLabels` of a body that `json.loads` reads as UTF-8 without a BOM (the usual
    /// one, `BodyTextDecoding.detectEncoding`), before its strict UTF-8 check, which a body the
    /// block scan found valid and ASCII does not need (it read every byte); nil for any other
    /// body (empty, a BOM, UTF-16 or UTF-32: decoded first). `decodable` false: not UTF-8, so
    /// `json.loads` fails to decode it and `scan` means nothing.
    ///
    /// Measured (callgrind, `bench metrics --only body`): the separate check read the benchmark's
    /// 20 KB body a second time, about 4,400 instructions.
    public func scanUsualBody(_ body: [UInt8], for keys: [FuzzyKey]) -> (scan: TopLevelLabelScan, decodable: Bool)? {
        body.withUnsafeBufferPointer { scanUsualBody($0, for: keys) }
    }

    /// `scanUsualBody` of bytes where they lie (a body the HTTP observer lent).
    public func scanUsualBody(_ body: UnsafeBufferPointer<UInt8>, for keys: [FuzzyKey]) -> (scan: TopLevelLabelScan, decodable: Bool)? {
        guard !body.isEmpty, BodyTextDecoding.detectEncoding(body) == .utf8 else { return nil }
        var textIsASCII = false
        let scan = scanTopLevelLabels(buffer: body, for: keys, textIsASCII: &textIsASCII)
        return (scan, textIsASCII || UTF8Validation.isValid(UnsafeRawBufferPointer(body), surrogates: true))
    }

    /// `scanTopLevelLabels` of raw body bytes, and whether the block scan found them a valid
    /// document of ASCII bytes only (it read every byte); false says nothing either way. For
    /// callers that can prove their decoding leaves such bytes as they are
    /// (`BodyTextDecoding.requestsTextKeepsASCII`) and so need not decode them first.
    public func scanBodyBytes(_ body: [UInt8], for keys: [FuzzyKey]) -> (scan: TopLevelLabelScan, isASCII: Bool) {
        body.withUnsafeBufferPointer { scanBodyBytes($0, for: keys) }
    }

    /// `scanBodyBytes` of bytes where they lie (a body the HTTP observer lent).
    public func scanBodyBytes(_ body: UnsafeBufferPointer<UInt8>, for keys: [FuzzyKey]) -> (scan: TopLevelLabelScan, isASCII: Bool) {
        var textIsASCII = false
        let scan = scanTopLevelLabels(buffer: body, for: keys, textIsASCII: &textIsASCII)
        return (scan, textIsASCII)
    }

    /// `scanTopLevelLabels` of a text the block scan left to the byte-by-byte scan
    /// (`UsualBodyLabel.leftToByteByByte`): that scan alone.
    public func scanTopLevelLabels(byteByByte text: UnsafeBufferPointer<UInt8>, for keys: [FuzzyKey]) -> TopLevelLabelScan {
        var textIsASCII = false
        return scanTopLevelLabels(buffer: text, for: keys, textIsASCII: &textIsASCII, blocks: false)
    }

    private func scanTopLevelLabels(utf8 bytes: [UInt8], for keys: [FuzzyKey], textIsASCII: inout Bool) -> TopLevelLabelScan {
        bytes.withUnsafeBufferPointer { scanTopLevelLabels(buffer: $0, for: keys, textIsASCII: &textIsASCII) }
    }

    private func scanTopLevelLabels(
        buffer: UnsafeBufferPointer<UInt8>, for keys: [FuzzyKey], textIsASCII: inout Bool, blocks: Bool = true
    ) -> TopLevelLabelScan {
        precondition(keys.count == 1 || keys.count == 2, "one or two keys")
        var scanner = TopLevelScanner(bytes: buffer, maxDepth: maxDepth)
        defer { textIsASCII = scanner.textIsASCII }
        do throws(JSONRejection) {
            guard let matches = try scanner.scanMatches(keys, blocks: blocks) else { return .notAnObject }
            var labels = TopLevelCodeLabels()
            if let match = matches[0] { labels.first = try scanner.label(at: match.valueStart) }
            if keys.count == 2, labels.first?.isNull ?? false, let match = matches[1] {
                labels.second = try scanner.label(at: match.valueStart)
            }
            return .labels(labels)
        } catch {
            return .rejected(error)
        }
    }
}

extension TopLevelScanner {
    /// The label of the (valid) value at `start`: read from the bytes for a literal, an integer
    /// of at most 18 digits and a string without escapes; else built (`parseValue`) and formatted.
    mutating func label(at start: Int) throws(JSONRejection) -> CodeLabel {
        let bytes = cursor.bytes
        switch bytes[start] {
        case UInt8(ascii: "n"): return CodeLabel(text: "None", isNull: true)
        case UInt8(ascii: "t"): return CodeLabel(text: "True")
        case UInt8(ascii: "f"): return CodeLabel(text: "False", isNumberZero: true)
        case UInt8(ascii: "\""):
            var i = start + 1
            while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                return CodeLabel(text: String(decoding: UnsafeBufferPointer(rebasing: bytes[(start + 1)..<i]), as: UTF8.self))
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var i = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
            let digitsStart = i
            while i < bytes.count, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            let isFloat = i < bytes.count && (bytes[i] == UInt8(ascii: ".") || bytes[i] | 0x20 == UInt8(ascii: "e"))
            if !isFloat, i > digitsStart, i - digitsStart <= 18 {
                if i - digitsStart == 1, bytes[digitsStart] == UInt8(ascii: "0") { return CodeLabel(text: "0", isNumberZero: true) }
                return CodeLabel(text: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
            }
        default:
            break
        }
        cursor.position = start
        return CodeLabel(try cursor.parseValue(depth: 1))
    }
}
