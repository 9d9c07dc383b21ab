import BulkheadPolicy
import Yams

/// Reads the whole document: the top-level sections, `defaults`, every worker, and the checks
/// across them. Everything wrong goes to `diagnostics`; the config returned is only meaningful
/// when nothing was reported.
struct DocumentReader {
    let diagnostics: Diagnostics
    let options: ConfigOptions

    static let topLevelKeys = ["control", "state_dir", "crash_reports", "output", "cgroups", "defaults", "workers"]

    func read(_ root: Node) -> SupervisorConfig {
        var config = SupervisorConfig()
        // Top-level `x-…` keys are free for YAML anchors (`x-common: &common {…}`), as in Compose files.
        guard let top = diagnostics.mapping(Field(node: root, path: ""), known: Self.topLevelKeys, ignoredPrefix: "x-")
        else { return config }
        if let field = top["control"] { config.control = readControl(field) }
        if let field = top["state_dir"], let path = diagnostics.absolutePath(field) { config.stateDir = path }
        if let field = top["crash_reports"] { config.crashReports = readCrashReports(field) }
        if let field = top["output"] { config.output = readOutput(field) }
        if let field = top["cgroups"] {
            let modes: [(word: String, value: SupervisorConfig.Cgroups)] = [("auto", .auto), ("off", .off)]
            if let mode = diagnostics.choice(field, modes) { config.cgroups = mode }
        }

        let reader = WorkerFieldsReader(diagnostics: diagnostics)
        let defaults = top["defaults"].flatMap { reader.read($0, isDefaults: true) } ?? WorkerFields(site: top.site)
        var workers: [WorkerFields] = []
        if let field = top["workers"], let items = diagnostics.list(field, of: "workers") {
            workers = items.compactMap { reader.read($0, isDefaults: false) }
        }
        WorkerSetChecks(diagnostics: diagnostics).check(workers)

        let merge = DefaultsMerge(defaults: defaults)
        let checks = MergedWorkerChecks(diagnostics: diagnostics, merge: merge, options: options)
        for fields in workers {
            let spec = merge.spec(fields)
            checks.check(spec, fields)
            config.workers.append(spec)
        }
        return config
    }

    private func readControl(_ field: Field) -> ControlConfig {
        var control = ControlConfig()
        guard let mapping = diagnostics.mapping(field, known: ["socket", "mode", "group"]) else { return control }
        for (key, value) in mapping.entries {
            switch key {
            case "socket":
                guard !isNull(value.node) else { continue }  // null: the default for the mode
                guard let path = diagnostics.absolutePath(value) else { continue }
                // sun_path holds 108 bytes including the terminating NUL.
                guard path.utf8.count <= 107 else {
                    diagnostics.report(value.site, "is \(path.utf8.count) bytes long; a unix socket path holds at most 107")
                    continue
                }
                control.socket = path
            case "mode":
                if let mode = readMode(value) { control.mode = mode }
            case "group":
                if let group = diagnostics.optional(value, diagnostics.nonEmptyString) { control.group = group.value }
            default: break
            }
        }
        return control
    }

    /// A permission mode, always read as octal like chmod's: `"0660"`, `0660`, `660` and
    /// `0o660` all mean rw-rw----. (An unquoted `0660` would be decimal 660 to a YAML 1.2 reader
    /// and octal to a 1.1 one; reading the digits sidesteps both.)
    private func readMode(_ field: Field) -> UInt32? {
        guard let (text, _) = diagnostics.scalar(field, expected: "a file mode such as \"0660\"") else { return nil }
        let digits = text.hasPrefix("0o") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."7").contains($0) }),
              let mode = UInt32(digits, radix: 8), mode <= 0o777 else {
            diagnostics.report(field.site, "\(quoted(text)) is not a file mode (octal permission bits, e.g. \"0660\")")
            return nil
        }
        return mode
    }

    private func readCrashReports(_ field: Field) -> CrashReportRetention {
        var retention = CrashReportRetention()
        guard let mapping = diagnostics.mapping(field, known: ["per_worker", "total", "keep", "max_bytes"]) else { return retention }
        for (key, value) in mapping.entries {
            switch key {
            // `keep` is the older name of `total`.
            case "total", "keep": if let keep = diagnostics.int(value, in: ConfigRanges.crashReportsKeep) { retention.keep = keep }
            case "per_worker":
                if let count = diagnostics.int(value, in: ConfigRanges.crashReportsPerWorker) { retention.perWorker = count }
            case "max_bytes": if let bytes = diagnostics.size(value, in: ConfigRanges.crashReportsBytes) { retention.maxBytes = bytes }
            default: break
            }
        }
        return retention
    }

    private func readOutput(_ field: Field) -> OutputConfig {
        var output = OutputConfig()
        guard let mapping = diagnostics.mapping(field, known: ["journal", "buffer_lines", "stderr_tail_lines"]) else { return output }
        for (key, value) in mapping.entries {
            switch key {
            case "journal":
                let modes: [(word: String, value: OutputConfig.Journal)] = [("auto", .auto), ("on", .on), ("off", .off)]
                if let journal = diagnostics.choice(value, modes) { output.journal = journal }
            case "buffer_lines": if let lines = diagnostics.int(value, in: ConfigRanges.bufferLines) { output.bufferLines = lines }
            case "stderr_tail_lines": if let lines = diagnostics.int(value, in: ConfigRanges.stderrTailLines) { output.stderrTailLines = lines }
            default: break
            }
        }
        return output
    }
}
