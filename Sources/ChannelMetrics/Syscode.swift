// The service's syscode: the metric-name prefix and the appid/application labels.

/// A syscode: an ASCII letter and 9 ASCII digits (`^[A-Za-z][0-9]{9}$`), stored upper-cased.
///
/// The reference checks a looser regex (`[a-zA-Z]\d{9}$` with `re.match`, so Unicode
/// digits pass); REFERENCE-BEHAVIOUR §1 asks for the strict ASCII form.
public struct Syscode: Sendable, Hashable, CustomStringConvertible {
    /// Upper-cased, e.g. `A123010101`: the `application` label and the metric-name prefix.
    public let value: String

    public enum ValidationError: Error, Hashable, CustomStringConvertible {
        case invalid(String)

        public var description: String {
            guard case .invalid(let text) = self else { return "" }
            return "syscode \"\(text)\" is invalid: expected a letter followed by 9 digits, e.g. A123010101"
        }
    }

    public init(_ text: String) throws(ValidationError) {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 10,
            scalars[0].isASCII, scalars[0].properties.isAlphabetic,
            scalars.dropFirst().allSatisfy({ $0.value >= 0x30 && $0.value <= 0x39 })
        else { throw .invalid(text) }
        value = text.uppercased()
        appid = String(value.prefix(4))
    }

    /// The first 4 characters: the `appid` label (stored: every observation reads it).
    public let appid: String

    public var description: String { value }
}
