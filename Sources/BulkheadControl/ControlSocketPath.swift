import Glibc

/// Where the control socket lives (SPEC §2 `control.socket`), for the daemon and the CLI alike.
public enum ControlSocketPath {
    /// Root's default.
    public static let system = "/run/bulkhead/control.sock"

    /// A user's default: `$XDG_RUNTIME_DIR/bulkhead/control.sock`.
    public static func user(runtimeDirectory: String?) -> String? {
        guard let runtimeDirectory, runtimeDirectory.hasPrefix("/") else { return nil }
        return runtimeDirectory + "/bulkhead/control.sock"
    }

    /// The path the daemon binds: `--socket`, else `control.socket`, else the default for the
    /// user it runs as. nil: a non-root daemon without `XDG_RUNTIME_DIR` and nothing configured.
    public static func forDaemon(override: String?, configured: String?, effectiveUID: UInt32 = geteuid(),
                                 runtimeDirectory: String? = environment("XDG_RUNTIME_DIR")) -> String? {
        if let override, !override.isEmpty { return override }
        if let configured, !configured.isEmpty { return configured }
        return effectiveUID == 0 ? system : user(runtimeDirectory: runtimeDirectory)
    }

    /// The path the CLI connects to: `--socket`, else `BULKHEAD_SOCKET`, else root's socket for
    /// root; for anyone else their own user daemon's socket when it exists, else the system one
    /// (a member of `control.group` talking to the system daemon).
    public static func forClient(explicit: String?, effectiveUID: UInt32 = geteuid(),
                                 variable: String? = environment("BULKHEAD_SOCKET"),
                                 runtimeDirectory: String? = environment("XDG_RUNTIME_DIR")) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let variable, !variable.isEmpty { return variable }
        if effectiveUID == 0 { return system }
        if let own = user(runtimeDirectory: runtimeDirectory), access(own, F_OK) == 0 { return own }
        return system
    }

    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
