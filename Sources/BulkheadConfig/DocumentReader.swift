import BulkheadPolicy
import Yams

/// Reads the whole document: the top-level sections, `defaults`, every worker, and the checks
/// across them. Everything wrong goes to `diagnostics`; the config returned is only meaningful
/// when nothing was reported.
struct DocumentReader {
    let diagnostics: Diagnostics
    let options: ConfigOptions

    static let topLevelKeys = ["control", "state_dir", "crash_reports", "output", "cgroups", "defaults", "workers",
                               "events", "hooks", "alerts", "metrics"]

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
        let inputs = WorkerInputsLoader(diagnostics: diagnostics, options: options)
        for fields in workers {
            var spec = merge.spec(fields)
            checks.check(spec, fields)
            inputs.load(&spec, fields, merge: merge)
            config.workers.append(spec)
        }
        let workerNames = Set(workers.compactMap { $0.name?.value })
        config.monitoring = MonitoringReader(diagnostics: diagnostics, options: options, workerNames: workerNames).read(top)
        checkSocketsUnique(workers, config.workers)
        return config
    }

    /// Two sockets on one address would fail to bind (port 0 picks a free port each time).
    private func checkSocketsUnique(_ fields: [WorkerFields], _ specs: [WorkerSpec]) {
        var seen: [ListenAddress: String] = [:]
        for (worker, spec) in zip(fields, specs) {
            for socket in spec.sockets {
                switch socket.address {
                case .tcp(_, 0), .udp(_, 0): continue
                case .tcp, .udp, .unix: break
                }
                if let first = seen[socket.address] {
                    diagnostics.report(worker.sockets?.site ?? worker.site, "\(socket.address) is also a socket of \(first): an address can be bound once")
                } else {
                    seen[socket.address] = spec.name
                }
            }
        }
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
                if let mode = diagnostics.fileMode(value) { control.mode = mode }
            case "group":
                if let group = diagnostics.optional(value, diagnostics.nonEmptyString) { control.group = group.value }
            default: break
            }
        }
        return control
    }

    private func readCrashReports(_ field: Field) -> CrashReportRetention {
        var retention = CrashReportRetention()
        guard let mapping = diagnostics.mapping(field, known: ["per_worker", "total", "keep", "max_bytes", "coalesce_after", "coalesce_window"]) else { return retention }
        for (key, value) in mapping.entries {
            switch key {
            // `keep` is the older name of `total`.
            case "total", "keep": if let keep = diagnostics.int(value, in: ConfigRanges.crashReportsKeep) { retention.keep = keep }
            case "per_worker":
                if let count = diagnostics.int(value, in: ConfigRanges.crashReportsPerWorker) { retention.perWorker = count }
            case "max_bytes": if let bytes = diagnostics.size(value, in: ConfigRanges.crashReportsBytes) { retention.maxBytes = bytes }
            case "coalesce_after":
                if let burst = diagnostics.int(value, in: ConfigRanges.coalesceAfter) { retention.coalescing.burst = burst }
            case "coalesce_window":
                if let window = diagnostics.duration(value, in: ConfigRanges.coalesceWindow) { retention.coalescing.window = window }
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
