import BulkheadPolicy

/// Reads `health: { ready: PROBE, live: PROBE }`, each probe one of `http`, `tcp` or `exec` with
/// its timing (`initial_delay`, `interval`, `timeout`, `failures`, `successes`).
struct HealthReader {
    let diagnostics: Diagnostics

    func read(_ field: Field) -> HealthChecks? {
        guard let mapping = diagnostics.mapping(field, known: ProbeRole.allCases.map(\.rawValue)) else { return nil }
        var health = HealthChecks()
        var valid = true
        for (key, value) in mapping.entries {
            guard !isNull(value.node) else { continue }
            guard let probe = readProbe(value) else {
                valid = false
                continue
            }
            if key == ProbeRole.ready.rawValue { health.ready = probe } else { health.live = probe }
        }
        return valid ? health : nil
    }

    private func readProbe(_ field: Field) -> ProbeSpec? {
        let d = diagnostics
        guard let mapping = d.mapping(field, known: WorkerKeys.probe) else { return nil }
        let kinds = mapping.entries.filter { ["http", "tcp", "exec"].contains($0.key) }
        guard kinds.count == 1, let (kind, target) = kinds.first else {
            d.report(field.site, kinds.isEmpty ? "needs one check: http, tcp or exec"
                                               : "has \(kinds.map(\.key).joined(separator: " and ")): give one check per probe")
            return nil
        }
        var check: ProbeCheck?
        switch kind {
        case "http": check = httpCheck(target)
        case "tcp": check = tcpCheck(target)
        default: check = execCheck(target)
        }
        var probe = ProbeSpec(check: check ?? .exec([]))
        var valid = check != nil
        for (key, value) in mapping.entries {
            switch key {
            case "initial_delay": if let v = d.duration(value, in: ConfigRanges.probeInitialDelay) { probe.initialDelay = v } else { valid = false }
            case "interval": if let v = d.duration(value, in: ConfigRanges.probeInterval) { probe.interval = v } else { valid = false }
            case "timeout": if let v = d.duration(value, in: ConfigRanges.probeTimeout) { probe.timeout = v } else { valid = false }
            case "failures": if let v = d.int(value, in: ConfigRanges.probeThreshold) { probe.failures = v } else { valid = false }
            case "successes": if let v = d.int(value, in: ConfigRanges.probeThreshold) { probe.successes = v } else { valid = false }
            default: break
            }
        }
        return valid ? probe : nil
    }

    /// `http://127.0.0.1:8080/healthz` (numeric host; the port may be `BASE+index`).
    private func httpCheck(_ field: Field) -> ProbeCheck? {
        guard let text = diagnostics.nonEmptyString(field) else { return nil }
        if text.hasPrefix("https://") {
            diagnostics.report(field.site, "https is not probed (bulkhead has no TLS): probe a plain http port, or use exec with a client")
            return nil
        }
        guard text.hasPrefix("http://") else {
            diagnostics.report(field.site, "\(quoted(text)) is not an http:// URL (e.g. http://127.0.0.1:8080/healthz)")
            return nil
        }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let path = rest[slash...].isEmpty ? "/" : String(rest[slash...])
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !path.contains("#") else {
            diagnostics.report(field.site, "the path \(quoted(path)) must be printable ASCII without spaces or a fragment (percent-encode the rest)")
            return nil
        }
        guard let target = target(String(rest[..<slash]), field) else { return nil }
        return .http(target, path: path)
    }

    /// `127.0.0.1:6379`, `[::1]:6379`, `127.0.0.1:9000+index`.
    private func tcpCheck(_ field: Field) -> ProbeCheck? {
        guard let text = diagnostics.nonEmptyString(field) else { return nil }
        return target(text, field).map(ProbeCheck.tcp)
    }

    private func target(_ authority: String, _ field: Field) -> ProbeTarget? {
        switch HostPort.parse(authority) {
        case .success(let hostPort):
            return ProbeTarget(host: hostPort.host, port: hostPort.port, portPlusIndex: hostPort.plusIndex)
        case .failure(let error):
            diagnostics.report(field.site, error.message)
            return nil
        }
    }

    /// `[/usr/local/bin/api-check, --quick]`; the program is checked with the worker's command.
    private func execCheck(_ field: Field) -> ProbeCheck? {
        guard let items = diagnostics.list(field, of: "arguments") else { return nil }
        guard !items.isEmpty else {
            diagnostics.report(field.site, "must not be empty: give the program and its arguments")
            return nil
        }
        var arguments: [String] = []
        for item in items {
            guard let text = diagnostics.string(item) else { return nil }
            arguments.append(text)
        }
        guard !arguments[0].isEmpty else {
            diagnostics.report(items[0].site, "is empty: give the program to run")
            return nil
        }
        return .exec(arguments)
    }
}
