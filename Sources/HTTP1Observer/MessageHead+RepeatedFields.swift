// A header field sent more than once under one name: its values joined, as the reference's server does.

extension MessageHead {
    /// Joins the repeats of `User-Agent`, `Method-Code` and `T-Code` the way the reference reads them.
    ///
    /// The reference reads these from the WSGI environ, where the server (waitress, in the parity
    /// captures) has already joined every field of one name with `", "` (RFC 9110 §5.3), in order:
    /// `User-Agent: a` then `User-Agent: b` is `a, b`. A field of another spelling that the fuzzy
    /// match also takes (`UserAgent`) is another environ key, met after the first one: it is not
    /// joined, and the first spelling wins as before. Names compare ignoring case only, as the
    /// environ key does (upper-cased; a name with `_` never reaches it, captures/parity/README.md, "Known differences").
    ///
    /// Rare (`apply` only notes a repeat), so the head is read again here rather than making the
    /// usual one-field head pay for remembering names. `bytes`: the whole head, start line included.
    mutating func joinRepeatedLooseFields(_ bytes: UnsafeRawBufferPointer, cache: SharedParserState) {
        repeatsLooseField = false
        let fields: [KnownField] = [.userAgent, .methodCode, .tCode]
        var names: [[UInt8]?] = [nil, nil, nil]
        var values: [[UInt8]] = [[], [], []]
        var repeated = [false, false, false]
        // The kept field an obs-fold line continues (nil after any other field), and its value as it
        // stands after the colon with the obs-fold lines appended (as `parseGeneral` does), trimmed
        // and kept (or joined) when the field ends.
        var continued: Int?
        var current: [UInt8] = []
        var currentRepeats = false
        func keepCurrent() {
            guard let index = continued else { return }
            let value = current.withUnsafeBytes { Array($0.trimmingOWS()) }
            if currentRepeats {
                values[index].append(contentsOf: [0x2C, 0x20])
                values[index].append(contentsOf: value)
            } else {
                values[index] = value
            }
            continued = nil
        }
        var lineStart = (bytes.firstIndex(of: 0x0A) ?? bytes.count) + 1
        while lineStart < bytes.count, let lf = bytes[lineStart...].firstIndex(of: 0x0A) {
            var lineEnd = lf
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            lineStart = lf + 1
            if line.isEmpty { break }
            if line[0] == 0x20 || line[0] == 0x09 {
                if continued != nil { current.append(contentsOf: line) }
                continue
            }
            keepCurrent()
            guard let colon = line.firstIndex(of: 0x3A), colon > 0, line[colon - 1] != 0x20, line[colon - 1] != 0x09
            else { continue }
            let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
            guard let field = KnownField.classify(name), let index = fields.firstIndex(of: field) else { continue }
            if let first = names[index] {
                guard Self.sameNameIgnoringCase(first, name) else { continue }
                repeated[index] = true
                currentRepeats = true
            } else {
                names[index] = Array(name)
                currentRepeats = false
            }
            continued = index
            current = Array(line[(colon + 1)...])
        }
        keepCurrent()
        for index in fields.indices where repeated[index] {
            values[index].withUnsafeBytes { joined in
                switch fields[index] {
                case .userAgent: userAgent = cache.string(joined, slot: .userAgent)
                case .methodCode: methodCode = cache.string(joined, slot: .methodCode)
                default: tCode = cache.string(joined, slot: .tCode)
                }
            }
        }
    }

    private static func sameNameIgnoringCase(_ first: [UInt8], _ name: UnsafeRawBufferPointer) -> Bool {
        guard first.count == name.count else { return false }
        for (a, b) in zip(first, name) where a != b {
            // Letters differ only in the case bit; anything else that differs is another name.
            guard a | 0x20 == b | 0x20, (0x61...0x7A).contains(a | 0x20) else { return false }
        }
        return true
    }
}
