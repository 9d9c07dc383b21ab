import BulkheadPolicy

/// Reads a merged worker's env files into `envFileEntries` and checks that its credentials'
/// files exist. Env files are read when the config is read (start, `reload`, `check-config`),
/// not at every spawn as systemd does: a restart after a crash runs what the last reload
/// checked, and an edited env file takes effect with `bulkhead reload` (which restarts the
/// workers whose values changed).
struct WorkerInputsLoader {
    let diagnostics: Diagnostics
    let options: ConfigOptions

    /// Env files are a page of variables; the bound only stops a wrong path from eating memory.
    static let maxEnvFileBytes = 1 << 20

    func load(_ spec: inout WorkerSpec, _ fields: WorkerFields, merge: DefaultsMerge) {
        var entries: [EnvironmentEntry] = []
        for file in merge.envFiles(fields) {
            guard let read = read(file, spec: &spec) else { continue }
            entries.append(contentsOf: read)
        }
        // A later file wins, as in systemd: keep each key once, at its last value.
        var last: [String: String] = [:]
        var order: [String] = []
        for entry in entries where last.updateValue(entry.value, forKey: entry.key) == nil { order.append(entry.key) }
        spec.envFileEntries = order.map { EnvironmentEntry($0, last[$0] ?? "") }

        for credential in merge.credentials(fields) where ConfigFile.isMissing(credential.value.path) {
            missing(credential.site, "credential \(quoted(credential.value.name)): \(credential.value.path) does not exist", spec: &spec)
        }
    }

    private func read(_ file: Located<EnvFileReference>, spec: inout WorkerSpec) -> [EnvironmentEntry]? {
        let path = file.value.path
        switch ConfigFile.readFile(path, maxBytes: Self.maxEnvFileBytes) {
        case .failure(let failure):
            if failure.isMissing && file.value.optional { return nil }
            let why = failure == .tooLarge ? "is larger than \(Self.maxEnvFileBytes >> 20) MiB" : "cannot be read: \(failure.text)"
            missing(file.site, "\(path) \(why)\(failure.isMissing ? " (a leading - makes an env file optional)" : "")", spec: &spec)
            return nil
        case .success(let bytes):
            switch EnvFile.parse(bytes) {
            case .failure(let problems):
                for problem in problems.problems {
                    diagnostics.report(file.site, "\(path):\(problem.line): \(problem.message)")
                }
                return nil
            case .success(let entries):
                var kept: [EnvironmentEntry] = []
                for entry in entries {
                    if let reason = EnvironmentName.reservedReason(entry.key, settingIn: "an env file") {
                        diagnostics.report(file.site, "\(path): \(reason)")
                    } else {
                        kept.append(entry)
                    }
                }
                return kept
            }
        }
    }

    /// A file the worker needs is not there: an error, or at daemon start (SPEC §2, as for a
    /// missing program) a warning that fails only this worker, with the reason.
    private func missing(_ site: Site, _ message: String, spec: inout WorkerSpec) {
        if options.missingExecutablesAreWarnings {
            diagnostics.warn(site, message)
            if spec.startProblem == nil { spec.startProblem = message }
        } else {
            diagnostics.report(site, message)
        }
    }
}
