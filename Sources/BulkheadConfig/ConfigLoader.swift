import BulkheadPolicy
import Yams

/// How a config is checked beyond its own text.
public struct ConfigOptions: Sendable {
    /// The PATH that bare command names are looked up on when a worker sets no `env.PATH`.
    /// nil: this process's PATH (`defaultExecutableSearchPath` when it has none).
    public var searchPath: String?
    /// Whether `command[0]` must name an executable file that exists here. Off for a config
    /// written for another machine.
    public var checksExecutables: Bool
    /// A missing or unusable `command[0]` is a warning, not an error: the daemon's start fails
    /// only that worker (SPEC §2), while `check-config` and `reload` refuse the config.
    public var missingExecutablesAreWarnings: Bool

    public init(searchPath: String? = nil, checksExecutables: Bool = true, missingExecutablesAreWarnings: Bool = false) {
        self.searchPath = searchPath
        self.checksExecutables = checksExecutables
        self.missingExecutablesAreWarnings = missingExecutablesAreWarnings
    }

    /// For the daemon's start: after a reboot, one worker whose program a bad deploy removed
    /// must not keep every other worker down (systemd fails just that unit).
    public static let daemonStart = ConfigOptions(missingExecutablesAreWarnings: true)
}

/// YAML (SPEC §2) → `SupervisorConfig`, with `defaults` merged into every worker. Every
/// problem is collected in one pass and named by file, line and key, sorted by line.
public enum ConfigLoader {
    /// SPEC §2: `--config PATH` overrides it.
    public static let defaultPath = "/etc/bulkhead/bulkhead.yaml"

    /// Reads and validates the file at `path`; errors name the file as `path` is written.
    public static func load(path: String, options: ConfigOptions = ConfigOptions()) throws(ConfigErrors) -> SupervisorConfig {
        try loadWithWarnings(path: path, options: options).config
    }

    /// Like `load`, also returning what `options` makes a warning (each with file, line, key).
    public static func loadWithWarnings(path: String, options: ConfigOptions) throws(ConfigErrors) -> (config: SupervisorConfig, warnings: [ConfigError]) {
        let text: String
        switch ConfigFile.contents(of: path) {
        case .success(let contents): text = contents
        case .failure(let error): throw ConfigErrors([error])
        }
        let (config, errors, warnings) = validate(yaml: text, file: path, options: options)
        guard let config, errors.isEmpty else { throw ConfigErrors(errors) }
        return (config, warnings)
    }

    /// The text of the file at `path` (what `loadWithWarnings(yaml:…)` then reads): the daemon
    /// keeps the text of the config it runs, so a re-exec applies the same one.
    public static func text(path: String) throws(ConfigErrors) -> String {
        switch ConfigFile.contents(of: path) {
        case .success(let contents): return contents
        case .failure(let error): throw ConfigErrors([error])
        }
    }

    /// Like `loadWithWarnings(path:options:)`, for text already read; `file` is the name its
    /// errors carry.
    public static func loadWithWarnings(yaml: String, file: String, options: ConfigOptions) throws(ConfigErrors) -> (config: SupervisorConfig, warnings: [ConfigError]) {
        let (config, errors, warnings) = validate(yaml: yaml, file: file, options: options)
        guard let config, errors.isEmpty else { throw ConfigErrors(errors) }
        return (config, warnings)
    }

    /// Validates `yaml`; `file` is the name its errors carry.
    public static func parse(yaml: String, file: String, options: ConfigOptions = ConfigOptions()) throws(ConfigErrors) -> SupervisorConfig {
        let (config, errors, _) = validate(yaml: yaml, file: file, options: options)
        guard let config, errors.isEmpty else { throw ConfigErrors(errors) }
        return config
    }

    /// Every problem of the file at `path` (`bulkhead check-config`); empty when it is valid.
    public static func check(path: String, options: ConfigOptions = ConfigOptions()) -> [ConfigError] {
        switch ConfigFile.contents(of: path) {
        case .success(let text): return check(yaml: text, file: path, options: options)
        case .failure(let error): return [error]
        }
    }

    /// Every problem of `yaml`; empty when it is valid.
    public static func check(yaml: String, file: String, options: ConfigOptions = ConfigOptions()) -> [ConfigError] {
        validate(yaml: yaml, file: file, options: options).errors
    }

    static func validate(yaml: String, file: String, options: ConfigOptions) -> (config: SupervisorConfig?, errors: [ConfigError], warnings: [ConfigError]) {
        let root: Node?
        do {
            // Resolver.basic: scalars are read from their text by the readers here, never by
            // YAML's type guessing. UTF-8 explicitly: `.default` consults an environment
            // variable and prints to stdout when it is set.
            root = try Yams.compose(yaml: yaml, Resolver.basic, Constructor.default, .utf8)
        } catch let error as YamlError {
            return (nil, [error.configError(file: file)], [])
        } catch {
            return (nil, [ConfigError(file: file, line: 0, keyPath: "", message: "cannot parse the YAML: \(error)")], [])
        }
        // One rule for a document with nothing in it: no text, only comments, or a lone `~`/`null`
        // all say nothing (an empty config is a mistake; no workers is `workers: []`).
        guard let root, !isNull(root) else {
            let message = "the config is empty (expected \(DocumentReader.topLevelKeys.joined(separator: ", ")))"
            return (nil, [ConfigError(file: file, line: 0, keyPath: "", message: message)], [])
        }
        let diagnostics = Diagnostics(file: file)
        let config = DocumentReader(diagnostics: diagnostics, options: options).read(root)
        return diagnostics.isEmpty ? (config, [], diagnostics.warnings) : (nil, diagnostics.errors, diagnostics.warnings)
    }
}
