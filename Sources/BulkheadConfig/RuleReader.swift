import BulkheadPolicy

/// Reads `rules`: each `{ when: { exit_code, signal, stderr, runtime, kind, message }, then: <class> }`.
/// `runtime`, `kind` and `message` match the crash bulkhead recognised in the worker's output
/// (the report's `runtime`, `crash_kind`, and `crash_message` or `headline`).
struct RuleReader {
    let diagnostics: Diagnostics

    /// - Parameter labelPrefix: `rules` or `defaults.rules`; rule i is labelled
    ///   `<prefix>[i]: exit_code [75]` for the crash report's `rule` field.
    func read(_ field: Field, labelPrefix: String) -> [ClassificationRule] {
        guard let items = diagnostics.list(field, of: "rules") else { return [] }
        return items.enumerated().compactMap { index, item in
            readRule(item, label: "\(labelPrefix)[\(index)]")
        }
    }

    private func readRule(_ field: Field, label: String) -> ClassificationRule? {
        let d = diagnostics
        guard let mapping = d.mapping(field, known: ["when", "then"]) else { return nil }
        var result: DeathClass?
        if let then = mapping["then"] {
            result = d.choice(then, DeathClass.allCases.map { ($0.rawValue, $0) })
        } else {
            let classes = DeathClass.allCases.map(\.rawValue).joined(separator: ", ")
            d.report(mapping.site, "missing key \"then\" (the class to give: \(classes))")
        }
        guard let when = mapping["when"] else {
            d.report(mapping.site, "missing key \"when\" (\(Self.conditionWords))")
            return nil
        }
        guard let conditions = d.mapping(when, known: Self.conditions) else { return nil }
        guard conditions.writtenCount > 0 else {
            // A rule that matches every death would silently replace the whole default table.
            d.report(when.site, "is empty: give \(Self.conditionWords)")
            return nil
        }
        var exitCodes: [Int32] = []
        var signals: [Int32] = []
        var stderr: String?
        var runtime: String?
        var kind: String?
        var message: String?
        var valid = true
        for (key, value) in conditions.entries {
            switch key {
            case "exit_code":
                guard let codes = nonEmptyList(value, of: "exit codes") else { valid = false; continue }
                for code in codes {
                    if let number = d.int(code, atLeast: 0, atMost: 255) { exitCodes.append(Int32(number)) } else { valid = false }
                }
            case "signal":
                guard let items = nonEmptyList(value, of: "signals") else { valid = false; continue }
                for item in items {
                    if let number = d.signal(item) { signals.append(number) } else { valid = false }
                }
            case "stderr":
                if let text = d.nonEmptyString(value) { stderr = text } else { valid = false }
            case "runtime":
                if let name = d.choice(value, RuntimeCrash.runtimes.map { ($0, $0) }) { runtime = name } else { valid = false }
            case "kind":
                if let text = d.nonEmptyString(value) { kind = text } else { valid = false }
            case "message":
                if let text = d.nonEmptyString(value) { message = text } else { valid = false }
            default: break
            }
        }
        if conditions["exit_code"] != nil, conditions["signal"] != nil {
            d.report(when.site, "exit_code and signal never hold together: a process either exits or is killed by a signal")
            valid = false
        }
        guard valid, !conditions.entries.isEmpty, let result else { return nil }
        var parts: [String] = []
        if !exitCodes.isEmpty { parts.append("exit_code [\(exitCodes.map(String.init).joined(separator: ", "))]") }
        if !signals.isEmpty { parts.append("signal [\(signals.map(Signals.name).joined(separator: ", "))]") }
        if let stderr { parts.append("stderr \(quoted(stderr))") }
        if let runtime { parts.append("runtime \(runtime)") }
        if let kind { parts.append("kind \(quoted(kind))") }
        if let message { parts.append("message \(quoted(message))") }
        return ClassificationRule(
            exitCodes: exitCodes, signals: signals, stderrContains: stderr, runtime: runtime, crashKind: kind,
            messageContains: message, result: result, label: "\(label): \(parts.joined(separator: ", "))"
        )
    }

    static let conditions = ["exit_code", "signal", "stderr", "runtime", "kind", "message"]
    static let conditionWords = "exit_code, signal, stderr, runtime, kind or message"

    private func nonEmptyList(_ field: Field, of what: String) -> [Field]? {
        guard let items = diagnostics.list(field, of: what, scalarAllowed: true) else { return nil }
        guard !items.isEmpty else {
            diagnostics.report(field.site, "is empty: give one or more \(what)")
            return nil
        }
        return items
    }
}
