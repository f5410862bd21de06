/// The content coding of an answer, chosen from the request's `Accept-Encoding` (RFC 9110 §12.5.3).
///
/// The server offers gzip and identity. Prometheus sends `Accept-Encoding: gzip` on every scrape
/// (its `enable_compression`, on by default); curl sends nothing unless `--compressed`.
public enum ContentCoding: String, Sendable {
    case identity
    case gzip

    /// The coding to answer with, given the request's `Accept-Encoding` values joined with commas
    /// (nil when the request has none).
    ///
    /// - No field: identity. Any coding would be allowed, but a client that said nothing may not
    ///   decode gzip (curl without `--compressed`), as client_golang also answers.
    /// - An empty field: identity ("does not want any content coding").
    /// - `gzip` (or `x-gzip`, RFC 9110 §8.4.1.3) with the highest non-zero weight: gzip; a tie with
    ///   identity goes to gzip, which is what scrapers list it for. `*` stands for whichever of the
    ///   two is not listed. Identity not listed and not covered by `*` is acceptable but comes last
    ///   (the RFC gives it no weight): `gzip;q=0.2` alone still means gzip.
    /// - Nothing acceptable (`identity;q=0` or `*;q=0` without gzip): identity all the same, which
    ///   RFC 9110 lets a server send, rather than a 406 that would fail the scrape.
    ///
    /// Coding names and the `q` parameter are case-insensitive; an element whose weight is not a
    /// valid qvalue (`0`–`1` with at most three decimals) is ignored, and a coding listed twice
    /// counts with its highest weight.
    public static func negotiate(acceptEncoding: String?) -> ContentCoding {
        guard let field = acceptEncoding else { return .identity }
        let weights = Weights(field)
        let gzip = weights.gzip ?? weights.any ?? 0
        let identity = weights.identity ?? weights.any ?? 1
        return gzip > 0 && gzip >= identity ? .gzip : .identity
    }

    /// The weights (in thousandths) the field gives gzip, identity and `*`; nil where not listed.
    struct Weights {
        var gzip: Int?
        var identity: Int?
        var any: Int?

        init(_ field: String) {
            for element in field.split(separator: ",", omittingEmptySubsequences: true) {
                var parts = element.split(separator: ";", omittingEmptySubsequences: false).makeIterator()
                let coding = Self.trimmed(parts.next() ?? "").lowercased()
                guard !coding.isEmpty else { continue }
                var weight: Int? = 1000
                while let parameter = parts.next() {
                    let nameAndValue = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard Self.trimmed(nameAndValue[0]).lowercased() == "q" else { continue }
                    weight = nameAndValue.count == 2 ? Self.qvalue(Self.trimmed(nameAndValue[1])) : nil
                }
                guard let weight else { continue }
                switch coding {
                case "gzip", "x-gzip": gzip = max(gzip ?? 0, weight)
                case "identity": identity = max(identity ?? 0, weight)
                case "*": any = max(any ?? 0, weight)
                default: break
                }
            }
        }

        /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths; nil when invalid.
        static func qvalue(_ text: Substring) -> Int? {
            let bytes = Array(text.utf8)
            guard let first = bytes.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
            var thousandths = first == UInt8(ascii: "1") ? 1000 : 0
            guard bytes.count > 1 else { return thousandths }
            let decimals = bytes.dropFirst(2)
            guard bytes[1] == UInt8(ascii: "."), decimals.count <= 3 else { return nil }
            var scale = 100
            for digit in decimals {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
                thousandths += Int(digit - UInt8(ascii: "0")) * scale
                scale /= 10
            }
            return thousandths <= 1000 ? thousandths : nil
        }

        /// Without the optional whitespace (spaces and tabs) around list elements and parameters.
        static func trimmed(_ text: Substring) -> Substring {
            let isWhitespace = { (c: Character) in c == " " || c == "\t" }
            guard let start = text.firstIndex(where: { !isWhitespace($0) }),
                let last = text.lastIndex(where: { !isWhitespace($0) })
            else { return "" }
            return text[start...last]
        }
    }
}
