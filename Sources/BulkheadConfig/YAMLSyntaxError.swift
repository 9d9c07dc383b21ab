import Yams

extension YamlError {
    /// The libyaml error in bulkhead's format: the line, then what went wrong at which column.
    func configError(file: String) -> ConfigError {
        switch self {
        case .scanner(let context, let problem, let mark, let yaml),
             .parser(let context, let problem, let mark, let yaml),
             .composer(let context, let problem, let mark, let yaml):
            var message = "YAML syntax error at column \(mark.column): \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            // libyaml says "found character that cannot start any token" for the commonest cause.
            if scalar(atLine: mark.line, column: mark.column, in: yaml) == "\t" {
                message += ": a tab; YAML indents with spaces only"
            }
            return ConfigError(file: file, line: mark.line, column: mark.column, keyPath: "", message: message)
        case .reader(let problem, let offset, _, let yaml):
            let (line, column) = offset.map { position(ofCharacter: $0, in: yaml) } ?? (0, 0)
            return ConfigError(file: file, line: line, column: column, keyPath: "", message: "cannot read the YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams names the first occurrence (context.mark) of the first duplicated key.
            let keys = duplicates.map(quoted).joined(separator: ", ")
            let message = "\(duplicates.count == 1 ? "key" : "keys") \(keys) \(duplicates.count == 1 ? "appears" : "appear") more than once in one mapping"
            return ConfigError(file: file, line: context.mark.line, column: context.mark.column, keyPath: "", message: message)
        default:
            return ConfigError(file: file, line: 0, keyPath: "", message: "cannot parse the YAML: \(self)")
        }
    }
}

/// The Unicode scalar at a 1-based line and column (libyaml's counting), if there is one.
private func scalar(atLine line: Int, column: Int, in text: String) -> Unicode.Scalar? {
    guard line >= 1, column >= 1 else { return nil }
    let lines = text.unicodeScalars.split(separator: "\n", maxSplits: line, omittingEmptySubsequences: false)
    guard line <= lines.count else { return nil }
    let found = lines[line - 1]
    guard column <= found.count else { return nil }
    return found[found.index(found.startIndex, offsetBy: column - 1)]
}

/// 1-based line and column of the character at `offset`.
private func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
    var line = 1, column = 1
    for character in text.prefix(offset) {
        if character == "\n" || character == "\r\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
    }
    return (line, column)
}
