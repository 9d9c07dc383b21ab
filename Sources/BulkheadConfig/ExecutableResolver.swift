#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The PATH used when neither the worker's `env.PATH` nor the daemon's environment has one
/// (systemd's default for services).
public let defaultExecutableSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/// The absolute path `command[0]` runs, or nil when there is no executable file by that name.
///
/// - An absolute path is taken as it is.
/// - A relative path with a slash (`bin/api`) is resolved against `cwd`; without a `cwd` it
///   resolves to nothing, because the daemon's own working directory is not something a config
///   should depend on.
/// - A bare name (`python3`) is looked up on `path` (a PATH value; nil:
///   `defaultExecutableSearchPath`), first match wins, like `execvp`. Relative entries of PATH
///   (including the empty entry, which means the current directory) are skipped: a supervisor
///   running as root must not run whatever happens to sit in its working directory.
///
/// "Executable" means a regular file (after symlinks) that `access(X_OK)` accepts for the
/// calling process; whether the worker's `user` may run it is checked at spawn.
public func resolveExecutable(_ name: String, path: String?, cwd: String? = nil) -> String? {
    if case .found(let resolved) = lookUpExecutable(name, path: path, cwd: cwd) { return resolved }
    return nil
}

extension ConfigLoader {
    /// `resolveExecutable(_:path:cwd:)`, where the daemon looks for it.
    public static func resolveExecutable(_ name: String, path: String?, cwd: String? = nil) -> String? {
        BulkheadConfig.resolveExecutable(name, path: path, cwd: cwd)
    }
}

/// What `lookUpExecutable` found, with enough detail for a useful message.
enum ExecutableLookup: Equatable {
    case found(String)
    case empty
    case missing(String)
    case notAFile(String)
    case notExecutable(String)
    case relativeWithoutDirectory
    case notOnPath(String)
}

func lookUpExecutable(_ name: String, path: String?, cwd: String?) -> ExecutableLookup {
    guard !name.isEmpty else { return .empty }
    if name.hasPrefix("/") { return probe(name) }
    if name.contains("/") {
        guard let cwd else { return .relativeWithoutDirectory }
        return probe(join(cwd, name))
    }
    let searched = path ?? defaultExecutableSearchPath
    for directory in searched.split(separator: ":", omittingEmptySubsequences: true) where directory.hasPrefix("/") {
        let candidate = join(String(directory), name)
        if case .found = probe(candidate) { return .found(candidate) }
    }
    return .notOnPath(searched)
}

private func join(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}

private func probe(_ file: String) -> ExecutableLookup {
    var info = stat()
    guard stat(file, &info) == 0 else { return .missing(file) }
    guard info.st_mode & S_IFMT == S_IFREG else { return .notAFile(file) }
    guard access(file, X_OK) == 0 else { return .notExecutable(file) }
    return .found(file)
}

/// The calling process's PATH, or nil when it has none.
func processSearchPath() -> String? {
    getenv("PATH").map { String(cString: $0) }
}
