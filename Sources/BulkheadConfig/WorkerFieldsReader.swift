import BulkheadPolicy

/// Reads one worker mapping, or `defaults`, into `WorkerFields`, reporting every bad key and
/// value. Checks that need the whole file (names, depends_on, cycles) or the merged worker
/// (max ≥ initial, the executable) come later.
struct WorkerFieldsReader {
    let diagnostics: Diagnostics

    /// nil (reported) when `field` is not a mapping.
    func read(_ field: Field, isDefaults: Bool) -> WorkerFields? {
        var fields = WorkerFields(site: field.site)
        let known = isDefaults ? WorkerKeys.all.filter { !WorkerKeys.workerOnly.contains($0) } : WorkerKeys.all
        var refused: [String: String] = [:]
        if isDefaults {
            for key in WorkerKeys.workerOnly { refused[key] = "\(key) belongs to each worker and cannot be set in defaults" }
        }
        guard let mapping = diagnostics.mapping(field, known: known, refused: refused) else { return nil }
        let d = diagnostics
        fields.writtenKeys = Set(mapping.entries.map(\.key))
        for (key, value) in mapping.entries {
            switch key {
            case "name": fields.name = d.nonEmptyString(value).map(value.located)
            case "command": fields.command = readCommand(value)
            case "instances": fields.instances = d.int(value, in: ConfigRanges.instances).map(value.located)
            case "env": fields.env = readEnvironment(value)
            case "cwd": fields.cwd = d.optional(value, d.absolutePath)
            case "user": fields.user = d.optional(value, d.nonEmptyString)
            case "group": fields.group = d.optional(value, d.nonEmptyString)
            case "ready": fields.ready = readReady(value).map(value.located)
            case "start_timeout": fields.startTimeout = d.duration(value, in: ConfigRanges.startTimeout).map(value.located)
            case "watchdog": fields.watchdog = d.optional(value) { d.duration($0, in: ConfigRanges.watchdog) }
            // 0 is a choice: SIGKILL right after SIGQUIT, no time for a thread dump.
            case "watchdog_grace": fields.watchdogGrace = d.duration(value, in: ConfigRanges.watchdogGrace).map(value.located)
            case "depends_on": fields.dependsOn = readDependsOn(value)
            case "strategy":
                fields.strategy = d.choice(value, RestartStrategy.allCases.map { ($0.rawValue, $0) }).map(value.located)
            case "limits": fields.limits = readLimits(value)
            case "rules":
                fields.rules = RuleReader(diagnostics: d).read(value, labelPrefix: isDefaults ? "defaults.rules" : "rules")
            case "restart":
                fields.restart = d.choice(value, RestartMode.allCases.map { ($0.rawValue, $0) }).map(value.located)
            case "backoff": fields.backoff = readBackoff(value)
            case "crash_loop": fields.crashLoop = readCrashLoop(value)
            case "stop": fields.stop = readStop(value)
            case "backtrace": fields.backtrace = d.bool(value).map(value.located)
            case "output": fields.output = readOutput(value).map(value.located)
            default: break  // mapping(_:known:) keeps known keys only
            }
        }
        return fields
    }

    private func readCommand(_ field: Field) -> Located<[Located<String>]>? {
        if case .scalar = field.node, !isNull(field.node) {
            diagnostics.report(field.site, "expected a list (e.g. [/usr/local/bin/api, --port, \"8080\"]), got \(describe(field.node))")
            return nil
        }
        guard let items = diagnostics.list(field, of: "arguments") else { return nil }
        guard !items.isEmpty else {
            diagnostics.report(field.site, "must not be empty: give the program and its arguments")
            return nil
        }
        var arguments: [Located<String>] = []
        for item in items {
            guard let text = diagnostics.string(item) else { return nil }
            arguments.append(item.located(text))
        }
        return field.located(arguments)
    }

    /// Keys are names a shell would take; values are any scalar, taken as written (`1`, `yes`).
    private func readEnvironment(_ field: Field) -> [Located<EnvironmentEntry>] {
        guard let mapping = diagnostics.mapping(field, known: nil) else { return [] }
        var entries: [Located<EnvironmentEntry>] = []
        for (key, value) in mapping.entries {
            guard EnvironmentName.isValid(key) else {
                diagnostics.report(value.site, "\(quoted(key)) is not a valid environment variable name (letters, digits and _, not starting with a digit)")
                continue
            }
            if let reason = EnvironmentName.reservedReason(key) {
                diagnostics.report(value.site, reason)
                continue
            }
            if isNull(value.node) {
                diagnostics.report(value.site, "needs a value (write \"\" for an empty string)")
                continue
            }
            guard let text = diagnostics.scalar(value, expected: "a string, number or bool")?.text else { continue }
            entries.append(value.located(EnvironmentEntry(key, text)))
        }
        return entries
    }

    private func readReady(_ field: Field) -> ReadyMode? {
        guard let (text, _) = diagnostics.scalar(field, expected: "notify, spawn or a duration") else { return nil }
        switch text {
        case "notify": return .notify
        case "spawn": return .spawn
        default:
            if Units.isDurationSyntax(text) {
                guard let duration = diagnostics.duration(field, in: ConfigRanges.readyAfter) else { return nil }
                return .after(duration)
            }
            let hint = Suggestion.hint(for: text, in: ["notify", "spawn"])
            diagnostics.report(field.site, "\(quoted(text)) is not notify, spawn or a duration (e.g. 2s)\(hint)")
            return nil
        }
    }

    /// `bulkhead` (pipes bulkhead reads), `journal-direct` or `append:/absolute/path`.
    private func readOutput(_ field: Field) -> WorkerOutput? {
        guard let (text, _) = diagnostics.scalar(field, expected: "bulkhead, journal-direct or append:PATH") else { return nil }
        switch text {
        case "bulkhead": return .bulkhead
        case "journal-direct": return .journalDirect
        default:
            if text.hasPrefix("append:") {
                let path = String(text.dropFirst("append:".count))
                guard path.hasPrefix("/"), path.count > 1 else {
                    diagnostics.report(field.site, "append: needs an absolute file path (e.g. append:/var/log/api.log)")
                    return nil
                }
                return .append(path: path)
            }
            let hint = Suggestion.hint(for: text, in: ["bulkhead", "journal-direct"])
            diagnostics.report(field.site, "\(quoted(text)) is not bulkhead, journal-direct or append:PATH\(hint)")
            return nil
        }
    }

    private func readDependsOn(_ field: Field) -> Located<[Located<String>]>? {
        guard let items = diagnostics.list(field, of: "worker names", scalarAllowed: true) else { return nil }
        var names: [Located<String>] = []
        for item in items {
            guard let name = diagnostics.nonEmptyString(item) else { continue }
            if names.contains(where: { $0.value == name }) {
                diagnostics.report(item.site, "\(quoted(name)) is listed twice")
                continue
            }
            names.append(item.located(name))
        }
        return field.located(names)
    }

    private func readLimits(_ field: Field) -> LimitFields {
        var limits = LimitFields()
        guard let mapping = diagnostics.mapping(field, known: WorkerKeys.limits) else { return limits }
        let d = diagnostics
        for (key, value) in mapping.entries {
            switch key {
            // No limit at all is not RLIM_INFINITY here but the absence of a memory cgroup limit.
            case "memory": limits.memory = unlimitedOr(value, unlimited: nil) { d.size($0, in: ConfigRanges.memory) }
            // The kernel refuses RLIM_INFINITY for RLIMIT_NOFILE, so no `unlimited`.
            case "open_files": limits.openFiles = d.optional(value) { d.int($0, in: ConfigRanges.openFiles).map(UInt64.init) }
            case "processes":
                limits.processes = unlimitedOr(value, unlimited: .max) { d.int($0, in: ConfigRanges.processes).map(UInt64.init) }
            // 0 is the usual way to turn core dumps off.
            case "core": limits.coreSize = unlimitedOr(value, unlimited: .max) { d.size($0, in: ConfigRanges.coreSize) }
            case "cpu_time": limits.cpuSeconds = unlimitedOr(value, unlimited: .max) { cpuSeconds($0) }
            case "file_size": limits.fileSize = unlimitedOr(value, unlimited: .max) { d.size($0, in: ConfigRanges.fileSize) }
            default: break
            }
        }
        return limits
    }

    /// `unlimited` (RLIM_INFINITY is UInt64.max), null (unset), or what `read` makes of it.
    private func unlimitedOr(_ field: Field, unlimited: UInt64?, _ read: (Field) -> UInt64?) -> Located<UInt64?>? {
        if case .scalar(let scalar) = field.node, scalar.string == "unlimited" { return field.located(unlimited) }
        return diagnostics.optional(field, read)
    }

    /// RLIMIT_CPU counts whole seconds: a fraction is rounded up, so the limit is never shorter than written.
    private func cpuSeconds(_ field: Field) -> UInt64? {
        guard let duration = diagnostics.duration(field, in: ConfigRanges.cpuTime) else { return nil }
        let (seconds, attoseconds) = duration.components
        return UInt64(seconds) + (attoseconds > 0 ? 1 : 0)
    }

    private func readBackoff(_ field: Field) -> BackoffFields {
        var backoff = BackoffFields()
        guard let mapping = diagnostics.mapping(field, known: WorkerKeys.backoff) else { return backoff }
        let d = diagnostics
        for (key, value) in mapping.entries {
            switch key {
            // 0 would restart at once, every time: multiplying 0 never backs off.
            case "initial": backoff.initial = d.duration(value, in: ConfigRanges.backoffInitial).map(value.located)
            case "max": backoff.max = d.duration(value, in: ConfigRanges.backoffMax).map(value.located)
            case "multiplier":
                guard let number = d.double(value) else { continue }
                guard number >= ConfigRanges.multiplier.lowerBound else {
                    d.report(value.site, "must be at least 1 (got \(number)): below 1 the delays would shrink")
                    continue
                }
                guard number <= ConfigRanges.multiplier.upperBound else {
                    d.report(value.site, "\(number) is above the maximum \(ConfigRanges.decimalText(ConfigRanges.multiplier.upperBound))")
                    continue
                }
                backoff.multiplier = value.located(number)
            case "jitter":
                guard let number = d.double(value) else { continue }
                guard ConfigRanges.jitter.contains(number) else {
                    d.report(value.site, "must be between 0 and 1 (got \(number)): it is a fraction of the delay")
                    continue
                }
                backoff.jitter = value.located(number)
            case "reset_after": backoff.resetAfter = d.duration(value, in: ConfigRanges.resetAfter).map(value.located)
            default: break
            }
        }
        return backoff
    }

    private func readCrashLoop(_ field: Field) -> CrashLoopFields {
        var crashLoop = CrashLoopFields()
        guard let mapping = diagnostics.mapping(field, known: WorkerKeys.crashLoop) else { return crashLoop }
        let d = diagnostics
        for (key, value) in mapping.entries {
            switch key {
            case "max_restarts": crashLoop.maxRestarts = d.int(value, in: ConfigRanges.maxRestarts).map(value.located)
            case "window": crashLoop.window = d.duration(value, in: ConfigRanges.window).map(value.located)
            case "cooldown": crashLoop.cooldown = d.duration(value, in: ConfigRanges.cooldown).map(value.located)
            // 0 turns the same-crash check off.
            case "same_crash": crashLoop.sameCrash = d.int(value, in: ConfigRanges.sameCrash).map(value.located)
            default: break
            }
        }
        return crashLoop
    }

    private func readStop(_ field: Field) -> StopFields {
        var stop = StopFields()
        guard let mapping = diagnostics.mapping(field, known: WorkerKeys.stop) else { return stop }
        for (key, value) in mapping.entries {
            switch key {
            case "signal": stop.signal = diagnostics.signal(value).map(value.located)
            case "timeout": stop.timeout = diagnostics.duration(value, in: ConfigRanges.stopTimeout).map(value.located)
            default: break
            }
        }
        return stop
    }
}

/// Environment variable names a worker may set.
enum EnvironmentName {
    /// `[A-Za-z_][A-Za-z0-9_]*`: what a shell can name, so a worker's scripts can read it.
    static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || ("0"..."9").contains($0) }
    }

    /// bulkhead sets these for every instance (ARCHITECTURE.md, the worker environment); a
    /// config value would be overwritten or, worse, break readiness and the watchdog.
    static func reservedReason(_ name: String) -> String? {
        let reserved: Set<String> = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]
        guard reserved.contains(name) || name.hasPrefix("BULKHEAD_") else { return nil }
        return "\(name) is set by bulkhead for every instance and cannot be set in env"
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}
