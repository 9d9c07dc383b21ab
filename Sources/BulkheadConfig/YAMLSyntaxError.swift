import Yams

extension YamlError {
    /// The libyaml error in bulkhead's format: the line, then what went wrong at which column.
    func configError(file: String) -> ConfigError {
        switch self {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error at column \(mark.column): \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
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
