import BulkheadPolicy

/// An `env_file:` file's text → variables, by systemd's `EnvironmentFile=` rules (its
/// env-file.c), as one pure total function: any bytes in, variables or line-numbered problems
/// out, never a trap (the fuzz helper feeds it anything).
///
/// The rules, as systemd reads the file:
/// - `KEY=VALUE` per line; whitespace around the key and before the value is dropped, and so is
///   whitespace at the end of an unquoted value; `export` is not special.
/// - A line whose first non-blank character is `#` or `;` is a comment. A `#` later in a line
///   is part of the value (systemd has no trailing comments).
/// - `'…'` takes everything literally, line ends included. `"…"` takes everything but `\"`,
///   `\\`, `` \` `` and `\$`, which stand for the character, and a backslash before a line end,
///   which joins the lines; any other backslash is kept. Quoted parts and unquoted text run
///   together (`A="x"'y'z` is `xyz`).
/// - Unquoted, a backslash takes the next character literally; before a line end it joins the
///   lines.
/// - A later assignment of the same key wins.
///
/// Where bulkhead is stricter (a config error instead of systemd's log line and carrying on):
/// a line without `=`, a name that is not `[A-Za-z_][A-Za-z0-9_]*`, a quote still open at the
/// end of the file (systemd closes it there), a NUL byte, text that is not UTF-8.
public enum EnvFile {
    public struct Problem: Equatable, Sendable, CustomStringConvertible {
        /// 1-based line of the file.
        public var line: Int
        public var message: String

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }

        public var description: String { "line \(line): \(message)" }
    }

    /// Every problem of a file, in line order.
    public struct Problems: Error, Equatable, Sendable {
        public var problems: [Problem]
    }

    /// The file's assignments in order (a repeated key appears once, with its last value, where
    /// it was first set), or every problem found.
    public static func parse(_ bytes: [UInt8]) -> Result<[EnvironmentEntry], Problems> {
        var parser = EnvFileParser()
        for byte in bytes { parser.consume(byte) }
        parser.finish()
        if !parser.problems.isEmpty {
            // In line order: a quote left open is only known at the end, after problems of the
            // lines it swallowed (found by the fuzzer).
            let ordered = parser.problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            return .failure(Problems(problems: ordered.map(\.element)))
        }
        var order: [String] = []
        var values: [String: String] = [:]
        for (key, value) in parser.assignments {
            if values.updateValue(value, forKey: key) == nil { order.append(key) }
        }
        return .success(order.map { EnvironmentEntry($0, values[$0] ?? "") })
    }
}

/// The state machine behind `EnvFile.parse`, one byte at a time (systemd's states, named alike).
private struct EnvFileParser {
    enum State {
        case preKey, key, preValue, value, valueEscape
        case singleQuote, doubleQuote, doubleQuoteEscape
        case comment
    }

    var state = State.preKey
    var line = 1
    /// Where the current assignment (or open quote) started, for messages.
    var keyLine = 1
    var quoteLine = 1
    var key: [UInt8] = []
    var value: [UInt8] = []
    /// Length of `value` before trailing unquoted whitespace (nil: no trailing whitespace).
    var valueEndBeforeSpace: Int?
    var assignments: [(String, String)] = []
    var problems: [EnvFile.Problem] = []
    var sawNUL = false

    static let newline = UInt8(ascii: "\n")
    static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }
    static func isWhitespace(_ c: UInt8) -> Bool { isBlank(c) || c == newline }

    mutating func consume(_ c: UInt8) {
        if c == 0 && !sawNUL {
            sawNUL = true
            problems.append(.init(line: line, message: "contains a NUL byte (not a text file?)"))
        }
        switch state {
        case .preKey:
            if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                state = .comment
            } else if !Self.isWhitespace(c) {
                state = .key
                keyLine = line
                key = [c]
            }
        case .key:
            if c == Self.newline {
                problems.append(.init(line: keyLine, message: "\"\(Self.text(trimmed(key)))\" has no '=' (expected KEY=VALUE)"))
                key = []
                state = .preKey
            } else if c == UInt8(ascii: "=") {
                state = .preValue
                value = []
                valueEndBeforeSpace = nil
            } else {
                key.append(c)
            }
        case .preValue:
            if c == Self.newline {
                push()
            } else if c == UInt8(ascii: "'") {
                state = .singleQuote
                quoteLine = line
            } else if c == UInt8(ascii: "\"") {
                state = .doubleQuote
                quoteLine = line
            } else if c == UInt8(ascii: "\\") {
                state = .valueEscape
            } else if !Self.isBlank(c) {
                state = .value
                value.append(c)
            }
        case .value:
            if c == Self.newline {
                push()
            } else if c == UInt8(ascii: "\\") {
                state = .valueEscape
                valueEndBeforeSpace = nil
            } else {
                if Self.isBlank(c) {
                    if valueEndBeforeSpace == nil { valueEndBeforeSpace = value.count }
                } else {
                    valueEndBeforeSpace = nil
                }
                value.append(c)
            }
        case .valueEscape:
            state = .value
            if c != Self.newline { value.append(c) }
        case .singleQuote:
            if c == UInt8(ascii: "'") { state = .preValue } else { value.append(c) }
        case .doubleQuote:
            if c == UInt8(ascii: "\"") {
                state = .preValue
            } else if c == UInt8(ascii: "\\") {
                state = .doubleQuoteEscape
            } else {
                value.append(c)
            }
        case .doubleQuoteEscape:
            state = .doubleQuote
            if [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "`"), UInt8(ascii: "$")].contains(c) {
                value.append(c)
            } else if c != Self.newline {
                value.append(UInt8(ascii: "\\"))
                value.append(c)
            }
        case .comment:
            if c == Self.newline { state = .preKey }
        }
        if c == Self.newline { line += 1 }
    }

    /// The end of the file: an assignment in progress counts; an open quote is a problem.
    mutating func finish() {
        switch state {
        case .preValue, .value, .valueEscape:
            push()
        case .singleQuote, .doubleQuote, .doubleQuoteEscape:
            problems.append(.init(line: quoteLine, message: "a quote opened here is never closed"))
        case .key:
            problems.append(.init(line: keyLine, message: "\"\(Self.text(trimmed(key)))\" has no '=' (expected KEY=VALUE)"))
        case .preKey, .comment:
            break
        }
        state = .preKey
    }

    mutating func push() {
        if let end = valueEndBeforeSpace { value.removeSubrange(end...) }
        let name = trimmed(key)
        state = .preKey
        key = []
        defer {
            value = []
            valueEndBeforeSpace = nil
        }
        guard Self.isValidName(name) else {
            problems.append(.init(line: keyLine, message: "\"\(Self.text(name))\" is not a valid variable name (letters, digits and _, not starting with a digit)"))
            return
        }
        guard let text = String(validating: value, as: UTF8.self) else {
            problems.append(.init(line: keyLine, message: "the value of \(Self.text(name)) is not UTF-8 text"))
            return
        }
        guard !value.contains(0) else { return }   // reported once, as the file's NUL byte
        // The name whole (it is validated ASCII): `text` shortens for messages, and an
        // environment must get the name as written (found by the fuzz target `envfile`).
        assignments.append((String(decoding: name, as: UTF8.self), text))
    }

    /// The key without the blanks systemd drops after it (`KEY =value`).
    func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 0 && Self.isBlank(bytes[end - 1]) { end -= 1 }
        return Array(bytes[..<end])
    }

    static func isValidName(_ name: [UInt8]) -> Bool {
        guard let first = name.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.allSatisfy { c in
            c == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
        }
    }

    /// Bytes for a message: at most 60, anything not printable ASCII as `?`.
    static func text(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(60).map { (0x20..<0x7F).contains($0) ? Character(Unicode.Scalar($0)) : "?" }
        return String(shown) + (bytes.count > 60 ? "…" : "")
    }
}
