/// Why parsing failed, and where.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was wrong.
    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        /// The input ended inside a value.
        case unexpectedEnd
        /// A value was expected (at the start, after `[`, `,` or `:`).
        case expectedValue
        /// A string key was expected (after `{` or `,` in an object).
        case expectedKey
        /// A string was expected (`JSONStringBytes.decode`).
        case expectedString
        /// `:` was expected after a key.
        case expectedColon
        /// `,` or `]` was expected after an array element.
        case expectedCommaOrBracket
        /// `,` or `}` was expected after an object member.
        case expectedCommaOrBrace
        /// A word starting like `true`, `false` or `null` was not one of them.
        case invalidLiteral
        /// A number broke the grammar (`01`, `1.`, `.5`, `+1`, `1e`, `-`).
        case invalidNumber
        /// A number had more characters than ``JSONLimits/maxNumberLength``.
        case numberTooLong(limit: Int)
        /// A number's magnitude is beyond `Double` (it would be infinite).
        case numberOutOfRange
        /// A string held a raw control character (U+0000–U+001F), which must be escaped.
        case controlCharacterInString
        /// A backslash escape was not one of `\" \\ \/ \b \f \n \r \t \uXXXX`.
        case invalidEscape
        /// A `\u` escape named half of a UTF-16 surrogate pair without the other half.
        case loneSurrogate
        /// A string held bytes that are not well-formed UTF-8.
        case invalidUTF8
        /// Something other than whitespace followed the value.
        case trailingData
        /// Arrays and objects nested deeper than ``JSONLimits/maxDepth``.
        case tooDeep(limit: Int)
        /// The input was longer than ``JSONLimits/maxInputBytes``.
        case inputTooLarge(limit: Int)
        /// A string (after unescaping) was longer than ``JSONLimits/maxStringBytes``.
        case stringTooLong(limit: Int)
        /// The document held more values than ``JSONLimits/maxElements``.
        case tooManyElements(limit: Int)

        /// A short phrase for messages.
        public var description: String {
            switch self {
            case .unexpectedEnd: "unexpected end of input"
            case .expectedValue: "expected a value"
            case .expectedKey: "expected a string key"
            case .expectedString: "expected a string"
            case .expectedColon: "expected ':'"
            case .expectedCommaOrBracket: "expected ',' or ']'"
            case .expectedCommaOrBrace: "expected ',' or '}'"
            case .invalidLiteral: "invalid literal"
            case .invalidNumber: "invalid number"
            case .numberTooLong(let limit): "number longer than \(limit) characters"
            case .numberOutOfRange: "number out of range"
            case .controlCharacterInString: "unescaped control character in string"
            case .invalidEscape: "invalid escape"
            case .loneSurrogate: "unpaired UTF-16 surrogate in \\u escape"
            case .invalidUTF8: "invalid UTF-8"
            case .trailingData: "unexpected data after the value"
            case .tooDeep(let limit): "nested deeper than \(limit)"
            case .inputTooLarge(let limit): "input larger than \(limit) bytes"
            case .stringTooLong(let limit): "string longer than \(limit) bytes"
            case .tooManyElements(let limit): "more than \(limit) values"
            }
        }
    }

    /// The byte offset in the input where the problem was found.
    public var offset: Int
    /// What was wrong.
    public var reason: Reason

    /// An error at byte `offset`.
    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    /// `invalid JSON at byte <offset>: <reason>`.
    public var description: String {
        "invalid JSON at byte \(offset): \(reason)"
    }
}
