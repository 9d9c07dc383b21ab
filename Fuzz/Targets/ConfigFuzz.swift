import BulkheadConfig
import BulkheadPolicy

/// The config file: YAML → every check → `SupervisorConfig`, then policy built from it and
/// started (the daemon's path at start and reload). The error list is formatted too.
enum ConfigFuzz {
    /// Executables are checked (the resolver runs) against a search path with nothing on it:
    /// quick, and the same for every input.
    static let options = ConfigOptions(searchPath: "/nonexistent-fuzz-path", checksExecutables: true)

    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        let yaml = String(decoding: bytes, as: UTF8.self)
        do {
            let config = try ConfigLoader.parse(yaml: yaml, file: "fuzz.yaml", options: options)
            var supervision = Supervision(config: config, seed: 1)
            _ = supervision.startAll(Instant(nanoseconds: 1_000_000_000))
            _ = supervision.snapshot()
            _ = supervision.nextDeadline()
        } catch {
            _ = error.description
        }
    }
}
