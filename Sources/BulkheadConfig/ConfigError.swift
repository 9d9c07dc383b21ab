/// One problem in a config file: where it is and what is wrong.
///
/// `description` is the line an operator reads:
/// `bulkhead.yaml:14: workers[1].backoff.initial: "10 seconds" is not a duration (use e.g. 250ms, 10s, 5m, 1h)`.
public struct ConfigError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The config file as it was named to the loader.
    public var file: String
    /// 1-based; 0 when the problem is the file as a whole (it cannot be read, it is empty).
    public var line: Int
    /// 1-based, in Unicode scalars as libyaml counts them; 0 when unknown.
    public var column: Int
    /// `workers[1].backoff.initial`; empty when the problem has no key (YAML syntax errors).
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int, column: Int = 0, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var text = file
        if line > 0 { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        return text + message
    }
}

/// Every problem found in one pass over a config, sorted by line.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// One error a line, in file order.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
