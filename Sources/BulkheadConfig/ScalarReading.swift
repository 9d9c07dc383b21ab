import BulkheadPolicy
import Yams

/// `~`, `null`, or nothing at all after the colon. Quoted text is never null.
func isNull(_ node: Node) -> Bool {
    guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
}

/// How a node reads in a message: a scalar's text quoted, else what kind of node it is.
func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let scalar): return isNull(node) ? "nothing" : quoted(scalar.string)
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

/// Typed reads of scalars. Each returns nil after reporting what is wrong, so the caller just
/// skips the key and the pass carries on.
///
/// Scalars are read from their text, not from YAML's type guess: `on` is the journal mode, not
/// a bool, and `0660` is a file mode, not the decimal 660. Numbers and bools must be plain
/// (unquoted): `instances: "2"` is a string where a number belongs, so it is reported.
extension Diagnostics {
    /// The text of a scalar that is not null, and whether it was written plain.
    func scalar(_ field: Field, expected what: String) -> (text: String, plain: Bool)? {
        guard case .scalar(let scalar) = field.node else {
            report(field.site, "expected \(what), got \(describe(field.node))")
            return nil
        }
        if isNull(field.node) {
            report(field.site, "needs a value (\(what))")
            return nil
        }
        return (scalar.string, scalar.style == .plain || scalar.style == .any)
    }

    /// Any scalar as text: `user: 1000` is the string "1000".
    func string(_ field: Field) -> String? {
        scalar(field, expected: "a string")?.text
    }

    func nonEmptyString(_ field: Field) -> String? {
        guard let text = string(field) else { return nil }
        guard !text.isEmpty else {
            report(field.site, "must not be empty")
            return nil
        }
        return text
    }

    func absolutePath(_ field: Field) -> String? {
        guard let text = nonEmptyString(field) else { return nil }
        guard text.hasPrefix("/") else {
            report(field.site, "\(quoted(text)) is not an absolute path (it must start with /)")
            return nil
        }
        return text
    }

    /// A key whose value may be null to mean "unset" (which also overrides a value from `defaults`).
    func optional<Value>(_ field: Field, _ read: (Field) -> Value?) -> Located<Value?>? {
        if isNull(field.node) { return field.located(nil) }
        return read(field).map { field.located($0) }
    }

    /// A whole number; below `minimum` or above `maximum` is reported. With `atMost` the message
    /// gives both ends (a small range such as an exit code's), otherwise it names the end passed.
    func int(_ field: Field, atLeast minimum: Int, atMost maximum: Int? = nil) -> Int? {
        guard let value = wholeNumber(field) else { return nil }
        if let maximum, !(minimum...maximum).contains(value) {
            report(field.site, "must be between \(minimum) and \(maximum) (got \(value))")
            return nil
        }
        guard value >= minimum else {
            report(field.site, "must be at least \(minimum) (got \(value))")
            return nil
        }
        return value
    }

    /// A whole number in `range` (ConfigRanges).
    func int(_ field: Field, in range: ClosedRange<Int>) -> Int? {
        guard let value = wholeNumber(field) else { return nil }
        guard value >= range.lowerBound else {
            report(field.site, "must be at least \(range.lowerBound) (got \(value))")
            return nil
        }
        guard value <= range.upperBound else {
            report(field.site, "\(value) is above the maximum \(range.upperBound)")
            return nil
        }
        return value
    }

    private func wholeNumber(_ field: Field) -> Int? {
        guard let (text, plain) = scalar(field, expected: "a whole number") else { return nil }
        guard plain else {
            report(field.site, "expected a whole number, got the string \(quoted(text)) (remove the quotes)")
            return nil
        }
        guard let value = Int(text) else {
            let digits = text.drop { $0 == "-" || $0 == "+" }
            if !digits.isEmpty, digits.allSatisfy(\.isASCIIDigitCharacter) {
                report(field.site, "\(text) is too large")
            } else {
                report(field.site, "\(quoted(text)) is not a whole number")
            }
            return nil
        }
        return value
    }

    func double(_ field: Field) -> Double? {
        guard let (text, plain) = scalar(field, expected: "a number") else { return nil }
        guard plain else {
            report(field.site, "expected a number, got the string \(quoted(text)) (remove the quotes)")
            return nil
        }
        // Double(_:) also takes "nan", "inf" and hex floats: only decimal digits are a number here.
        guard text.allSatisfy({ $0.isASCIIDigitCharacter || "+-.eE".contains($0) }),
              let value = Double(text), value.isFinite else {
            report(field.site, "\(quoted(text)) is not a number")
            return nil
        }
        return value
    }

    /// `true`/`false`, and YAML 1.1's `yes`/`no`/`on`/`off`, which mean nothing else here.
    func bool(_ field: Field) -> Bool? {
        guard let (text, plain) = scalar(field, expected: "true or false") else { return nil }
        switch plain ? text.lowercased() : "" {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report(field.site, "\(quoted(text)) is not true or false")
            return nil
        }
    }

    /// A duration in `range` (ConfigRanges).
    func duration(_ field: Field, in range: ClosedRange<Duration>) -> Duration? {
        guard let (text, _) = scalar(field, expected: "a duration") else { return nil }
        guard let value = Units.duration(text) else {
            if Double(text) != nil, text.allSatisfy({ $0.isASCIIDigitCharacter || $0 == "." }) {
                report(field.site, "\(quoted(text)) is not a duration: add a unit (e.g. \(text)s or \(text)ms)")
            } else if Units.isDurationSyntax(text) {
                report(field.site, "\(quoted(text)) is above the maximum \(Units.format(range.upperBound))")
            } else {
                report(field.site, "\(quoted(text)) is not a duration (use e.g. 250ms, 10s, 5m, 1h)")
            }
            return nil
        }
        if value == .zero && range.lowerBound > .zero {
            report(field.site, "must be more than 0")
            return nil
        }
        guard value >= range.lowerBound else {
            report(field.site, "\(quoted(text)) is below the minimum \(Units.format(range.lowerBound))")
            return nil
        }
        guard value <= range.upperBound else {
            report(field.site, "\(quoted(text)) is above the maximum \(Units.format(range.upperBound))")
            return nil
        }
        return value
    }

    /// A byte size in `range` (ConfigRanges).
    func size(_ field: Field, in range: ClosedRange<UInt64>) -> UInt64? {
        guard let (text, _) = scalar(field, expected: "a size") else { return nil }
        guard let value = Units.size(text) else {
            report(field.site, "\(quoted(text)) is not a size (use e.g. 512MiB, 2GiB, 4096)")
            return nil
        }
        if value == 0 && range.lowerBound > 0 {
            report(field.site, "must be more than 0")
            return nil
        }
        guard value >= range.lowerBound else {
            report(field.site, "\(quoted(text)) is below the minimum \(ConfigRanges.sizeText(range.lowerBound))")
            return nil
        }
        guard value <= range.upperBound else {
            report(field.site, "\(quoted(text)) is above the maximum \(ConfigRanges.sizeText(range.upperBound))")
            return nil
        }
        return value
    }

    /// A whole percentage written with its sign (`150%`: one and a half CPUs), in `range`.
    func percent(_ field: Field, in range: ClosedRange<Int>) -> Int? {
        guard let (text, _) = scalar(field, expected: "a percentage such as 150%") else { return nil }
        let digits = text.hasSuffix("%") ? text.dropLast() : ""
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigitCharacter) else {
            report(field.site, "\(quoted(text)) is not a percentage of one CPU (e.g. 50% or 150%)")
            return nil
        }
        guard let value = Int(digits), value <= range.upperBound else {
            report(field.site, "\(quoted(text)) is above the maximum \(range.upperBound)%")
            return nil
        }
        guard value >= range.lowerBound else {
            report(field.site, "must be at least \(range.lowerBound)% (got \(text))")
            return nil
        }
        return value
    }

    /// `TERM`, `SIGTERM`, `term` or `15`.
    func signal(_ field: Field) -> Int32? {
        guard let (text, _) = scalar(field, expected: "a signal") else { return nil }
        guard let number = Signals.number(text) else {
            var name = text.uppercased()
            if name.hasPrefix("SIG") { name.removeFirst(3) }
            let hint = Suggestion.hint(for: name, in: Signals.table.map(\.name))
            report(field.site, "\(quoted(text)) is not a signal (use a name like TERM or SIGINT, or a number)\(hint)")
            return nil
        }
        return number
    }

    /// One of a fixed set of words.
    func choice<Value>(_ field: Field, _ options: [(word: String, value: Value)]) -> Value? {
        guard let (text, _) = scalar(field, expected: "one of " + options.map(\.word).joined(separator: ", ")) else { return nil }
        if let match = options.first(where: { $0.word == text }) { return match.value }
        let words = options.map(\.word)
        report(field.site, "\(quoted(text)) is not one of \(words.joined(separator: ", "))\(Suggestion.hint(for: text, in: words))")
        return nil
    }

    /// The elements of a list (null: none). With `scalarAllowed`, one scalar is a list of one
    /// (`exit_code: 75` as well as `exit_code: [75]`) and keeps the key's path.
    func list(_ field: Field, of what: String, scalarAllowed: Bool = false) -> [Field]? {
        switch field.node {
        case .sequence(let sequence):
            return sequence.enumerated().map { field.element($0.offset, $0.element) }
        case .scalar where isNull(field.node):
            return []
        case .scalar where scalarAllowed:
            return [field]
        default:
            report(field.site, "expected a list of \(what), got \(describe(field.node))")
            return nil
        }
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
