// Python's str()/repr() of floats and strings, and prometheus_client's floatToGoString.

/// Renders numbers and strings exactly as CPython 3 does, because label values
/// of the reference are `str(value)` of what its JSON parser returned.
public enum PythonFormatting {
    /// `repr(float)` (= `str(float)`): shortest round-trip digits; exponent form when
    /// the decimal exponent is < -4 or >= 16 (CPython `format_float_short`, mode 'r').
    ///
    /// `1.5` → `1.5`, `1e5` → `100000.0`, `1e16` → `1e+16`, `1e-05`, `nan`, `inf`, `-0.0`.
    public static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, decimalPoint) = shortestDigits(value)
        var text = negative ? "-" : ""
        if decimalPoint <= -4 || decimalPoint > 16 {
            text.append(digits.first!)
            if digits.count > 1 {
                text.append(".")
                text.append(contentsOf: digits.dropFirst())
            }
            let exponent = decimalPoint - 1
            text.append(exponent < 0 ? "e-" : "e+")
            let magnitude = String(abs(exponent))
            if magnitude.count < 2 { text.append("0") }
            text.append(magnitude)
        } else if decimalPoint <= 0 {
            text.append("0.")
            text.append(String(repeating: "0", count: -decimalPoint))
            text.append(contentsOf: digits)
        } else if decimalPoint >= digits.count {
            text.append(contentsOf: digits)
            text.append(String(repeating: "0", count: decimalPoint - digits.count))
            text.append(".0")
        } else {
            text.append(contentsOf: digits.prefix(decimalPoint))
            text.append(".")
            text.append(contentsOf: digits.dropFirst(decimalPoint))
        }
        return text
    }

    /// prometheus_client's `floatToGoString`: `+Inf`, `-Inf`, `NaN`, else `repr`, with
    /// positive values of 7+ integer digits moved to Go's exponent form (`1e+06`).
    public static func goFloat(_ value: Double) -> String {
        // Fast path for counts: whole numbers below 10^6 print as `N.0` in both Python and Go forms.
        if value >= 0, value < 1_000_000, value == value.rounded(.towardZero), value.sign == .plus {
            return String(Int(value)) + ".0"
        }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value.isNaN { return "NaN" }
        let text = floatRepr(value)
        guard value > 0, let dot = text.firstIndex(of: ".") else { return text }
        let dotOffset = text.distance(from: text.startIndex, to: dot)
        guard dotOffset > 6 else { return text }
        var mantissa = String(text.first!) + "." + text[text.index(after: text.startIndex)..<dot]
            + text[text.index(after: dot)...]
        while let last = mantissa.last, last == "0" || last == "." { mantissa.removeLast() }
        let exponent = String(dotOffset - 1)
        return mantissa + "e+" + (exponent.count < 2 ? "0" : "") + exponent
    }

    /// Shortest round-trip decimal digits of a finite non-zero value, with the position
    /// of the decimal point (value = 0.DIGITS × 10^decimalPoint). Swift's `description`
    /// already prints the shortest round-trip digits; only the layout differs from Python.
    static func shortestDigits(_ value: Double) -> (negative: Bool, digits: [Character], decimalPoint: Int) {
        var text = Substring(value.description)
        let negative = text.first == "-"
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var integerPart = text
        var fractionPart: Substring = ""
        if let dot = text.firstIndex(of: ".") {
            integerPart = text[..<dot]
            fractionPart = text[text.index(after: dot)...]
        }
        var digits = Array(integerPart) + Array(fractionPart)
        var decimalPoint = integerPart.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            decimalPoint -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (negative, digits, decimalPoint)
    }

    /// `repr(str)`: single quotes unless the text holds `'` and no `"`; `\\`, the quote,
    /// `\t`, `\n`, `\r` escaped; other non-printable characters as `\xhh`, `\uhhhh`,
    /// `\Uhhhhhhhh` (CPython `unicode_repr`, printable = not Cc/Cf/Cs/Co/Cn/Zl/Zp/Zs but space).
    public static func stringRepr(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let quote: Unicode.Scalar = scalars.contains("'") && !scalars.contains("\"") ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for scalar in scalars {
            switch scalar {
            case quote, "\\":
                out.append("\\")
                out.append(scalar)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out.append(contentsOf: hexEscape(scalar.value, prefix: "x", width: 2).unicodeScalars)
                } else if scalar.value < 0x7f || isPrintable(scalar) {
                    out.append(scalar)
                } else if scalar.value <= 0xff {
                    out.append(contentsOf: hexEscape(scalar.value, prefix: "x", width: 2).unicodeScalars)
                } else if scalar.value <= 0xffff {
                    out.append(contentsOf: hexEscape(scalar.value, prefix: "u", width: 4).unicodeScalars)
                } else {
                    out.append(contentsOf: hexEscape(scalar.value, prefix: "U", width: 8).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
            .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    private static func hexEscape(_ value: UInt32, prefix: String, width: Int) -> String {
        let hex = String(value, radix: 16)
        return "\\" + prefix + String(repeating: "0", count: max(0, width - hex.count)) + hex
    }
}
