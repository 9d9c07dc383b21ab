import Yams

/// Where something was written: its key path and its position in the file.
struct Site: Equatable, Sendable {
    var path: String
    var line: Int
    var column: Int
}

/// A value read from the config together with where it was written, so a problem found later
/// (after `defaults` are merged in) can still name the line that caused it.
struct Located<Value> {
    var value: Value
    var site: Site
}

/// A YAML node and its key path (`workers[1].backoff`).
struct Field {
    let node: Node
    let path: String

    var site: Site {
        Site(path: path, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    func child(_ key: String, _ node: Node) -> Field {
        Field(node: node, path: path.isEmpty ? key : "\(path).\(key)")
    }

    func element(_ index: Int, _ node: Node) -> Field {
        Field(node: node, path: "\(path)[\(index)]")
    }

    func located<Value>(_ value: Value) -> Located<Value> {
        Located(value: value, site: site)
    }
}

/// Collects every problem of one pass. The parsers report here and carry on with what they
/// could read, so one run names all problems instead of the first.
final class Diagnostics {
    let file: String
    private var collected: [ConfigError] = []
    /// Mappings already expanded for `<<`, so shared anchors are walked once (MappingReading).
    var mergeCache: [MergeSource: [MappingEntry]] = [:]

    init(file: String) {
        self.file = file
    }

    func report(_ site: Site, _ message: String) {
        collected.append(ConfigError(file: file, line: site.line, column: site.column, keyPath: site.path, message: message))
    }

    /// Something the config's reader was told to let pass (ConfigOptions).
    private(set) var warnings: [ConfigError] = []

    func warn(_ site: Site, _ message: String) {
        warnings.append(ConfigError(file: file, line: site.line, column: site.column, keyPath: site.path, message: message))
    }

    var isEmpty: Bool { collected.isEmpty }

    /// Sorted by position, the order of discovery kept among equals; an error reported twice
    /// (a `defaults` value that is wrong for every worker) appears once.
    var errors: [ConfigError] {
        var seen = Set<ConfigError>()
        let unique = collected.filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
    }
}
