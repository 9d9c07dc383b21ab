import BulkheadPolicy

/// `/metrics` (SPEC §11): the Prometheus text exposition format 0.0.4, or OpenMetrics 1.0.0 when
/// the scraper asks for it. Every family has `# HELP` and `# TYPE`; names are `bulkhead_…` in
/// base units; instances are labelled `worker` and `slot` (never `instance` or `job`, which
/// Prometheus sets for the scrape target itself).
enum MetricsText {
    enum Format: Equatable, Sendable {
        case prometheus
        case openMetrics

        var contentType: String {
            switch self {
            case .prometheus: return "text/plain; version=0.0.4; charset=utf-8"
            case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }

        /// OpenMetrics when the `Accept` header names it (Prometheus asks for it first).
        static func negotiated(accept: String?) -> Format {
            (accept ?? "").lowercased().contains("application/openmetrics-text") ? .openMetrics : .prometheus
        }
    }

    static func render(_ s: MetricsSnapshot, _ format: Format) -> [UInt8] {
        var w = MetricsWriter(format: format, capacity: 4096 + s.rows.count * 1800)
        w.family("bulkhead_build_info", .gauge, "bulkhead's version (always 1).")
        w.sample("bulkhead_build_info", [("version", s.daemon.version)], 1)
        w.family("bulkhead_daemon_start_time_seconds", .gauge, "When the daemon started, in seconds since the Unix epoch.")
        w.sample("bulkhead_daemon_start_time_seconds", [], seconds: s.daemon.startedWallNanoseconds)
        if let p = s.process {
            w.family("bulkhead_daemon_resident_memory_bytes", .gauge, "The daemon's resident memory.")
            w.sample("bulkhead_daemon_resident_memory_bytes", [], Int64(clamping: p.residentBytes))
            w.family("bulkhead_daemon_virtual_memory_bytes", .gauge, "The daemon's virtual memory.")
            w.sample("bulkhead_daemon_virtual_memory_bytes", [], Int64(clamping: p.virtualBytes))
            w.family("bulkhead_daemon_open_fds", .gauge, "File descriptors the daemon has open.")
            w.sample("bulkhead_daemon_open_fds", [], Int64(p.openFDs))
            w.family("bulkhead_daemon_max_fds", .gauge, "The daemon's limit on open file descriptors (RLIMIT_NOFILE).")
            w.sample("bulkhead_daemon_max_fds", [], Int64(clamping: p.maxFDs))
            w.family("bulkhead_daemon_threads", .gauge, "Threads of the daemon: the supervision loop and its writers.")
            w.sample("bulkhead_daemon_threads", [], Int64(p.threads))
            w.family("bulkhead_daemon_cpu_seconds_total", .counter, "CPU time the daemon used, user and system.")
            w.sample("bulkhead_daemon_cpu_seconds_total", [], seconds: Int64(p.cpuSeconds * 1e9))
        }

        w.family("bulkhead_worker_state", .gauge, "1 for the state each worker instance is in, 0 for the others.")
        for row in s.rows {
            for state in InstanceState.allCases {
                w.sample("bulkhead_worker_state", labels(row.id) + [("state", state.rawValue)], row.state == state ? 1 : 0)
            }
        }
        w.family("bulkhead_worker_up", .gauge, "1 when the instance has a process that is ready (running), else 0.")
        for row in s.rows { w.sample("bulkhead_worker_up", labels(row.id), row.state == .running ? 1 : 0) }
        w.family("bulkhead_worker_uptime_seconds", .gauge, "How long the instance's current process has run (0 with no process).")
        for row in s.rows {
            let up = row.pid != nil ? row.startedAt.map { s.now.duration(since: $0).nanoseconds } ?? 0 : 0
            w.sample("bulkhead_worker_uptime_seconds", labels(row.id), seconds: up)
        }
        w.family("bulkhead_worker_restarts_total", .counter, "Automatic restarts of the instance since the daemon started.")
        for row in s.rows {
            w.sample("bulkhead_worker_restarts_total", labels(row.id), Int64(clamping: s.counters.instances[row.id]?.restarts ?? 0))
        }
        w.family("bulkhead_worker_deaths_total", .counter, "Deaths of the instance by class (clean, crash, hang, limit, transient, persistent, corruption).")
        for row in s.rows {
            let deaths = s.counters.instances[row.id]?.deaths ?? [:]
            for deathClass in DeathClass.allCases {
                w.sample("bulkhead_worker_deaths_total", labels(row.id) + [("class", deathClass.rawValue)], Int64(clamping: deaths[deathClass] ?? 0))
            }
        }
        w.family("bulkhead_worker_breaker_open", .gauge, "1 while the instance's crash-loop breaker is open (its half-open tries included).")
        for row in s.rows { w.sample("bulkhead_worker_breaker_open", labels(row.id), s.counters.breakerOpen.contains(row.id) ? 1 : 0) }
        w.family("bulkhead_worker_last_exit_code", .gauge, "The exit code of the instance's last death (128 + N when killed by signal N).")
        for row in s.rows {
            if let code = s.counters.instances[row.id]?.lastExitCode { w.sample("bulkhead_worker_last_exit_code", labels(row.id), code) }
        }
        w.family("bulkhead_worker_last_death_timestamp_seconds", .gauge, "When the instance last died, in seconds since the Unix epoch.")
        for row in s.rows {
            if let wall = s.counters.instances[row.id]?.lastDeathWall {
                w.sample("bulkhead_worker_last_death_timestamp_seconds", labels(row.id), seconds: wall)
            }
        }

        w.histogram("bulkhead_detect_latency_seconds", "From a worker's death (the kernel's exit event) to the supervisor noticing it.", s.counters.detectLatency)
        w.histogram("bulkhead_restart_latency_seconds", "From a worker's death to its replacement spawned (backoff included; not breaker cooldowns).", s.counters.restartLatency)

        w.family("bulkhead_hook_runs_total", .counter, "Hook runs by result: ok (exit 0), failed, timeout (killed), error (could not start).")
        for hook in s.hookNames {
            for result in MetricsCounters.hookResults {
                let count = s.counters.hookRuns[MetricsCounters.HookKey(hook: hook, result: result)] ?? 0
                w.sample("bulkhead_hook_runs_total", [("hook", hook), ("result", result)], Int64(clamping: count))
            }
        }
        w.family("bulkhead_hook_suppressed_total", .counter, "Events a hook did not run for: its rate limit, or its queue full.")
        for hook in s.hookNames {
            w.sample("bulkhead_hook_suppressed_total", [("hook", hook)], Int64(clamping: s.counters.hookSuppressed[hook] ?? 0))
        }
        w.family("bulkhead_hooks_running", .gauge, "Hook processes running now.")
        w.sample("bulkhead_hooks_running", [], Int64(s.hooksRunning))
        w.family("bulkhead_alert_firing", .gauge, "1 while the alert rule holds.")
        for alert in s.alertNames {
            w.sample("bulkhead_alert_firing", [("alert", alert)], s.counters.alertsFiring.contains(alert) ? 1 : 0)
        }
        w.family("bulkhead_events_total", .counter, "Supervisor events by kind (spawn, ready, exit, restart, …).")
        for kind in EventKind.allCases {
            w.sample("bulkhead_events_total", [("event", kind.rawValue)], Int64(clamping: s.counters.events[kind] ?? 0))
        }
        w.family("bulkhead_event_followers", .gauge, "Clients following the event stream (bulkhead events -f).")
        w.sample("bulkhead_event_followers", [], Int64(s.daemon.eventFollowers))
        w.family("bulkhead_event_followers_lost_total", .counter, "Events followers missed because they read too slowly.")
        w.sample("bulkhead_event_followers_lost_total", [], Int64(clamping: s.daemon.eventsLost))

        w.family("bulkhead_notify_dropped_total", .counter, "sd_notify messages dropped: from a process not of the instance, or malformed.")
        w.sample("bulkhead_notify_dropped_total", [], Int64(s.daemon.notifyDropped))
        w.family("bulkhead_output_lines_total", .counter, "Lines the workers wrote, by stream.")
        let workers = s.output.keys.sorted()
        for worker in workers {
            let o = s.output[worker] ?? OutputCounts()
            w.sample("bulkhead_output_lines_total", [("worker", worker), ("stream", "stdout")], Int64(clamping: o.stdoutLines))
            w.sample("bulkhead_output_lines_total", [("worker", worker), ("stream", "stderr")], Int64(clamping: o.stderrLines))
        }
        w.family("bulkhead_output_bytes_total", .counter, "Bytes the workers wrote, by stream (line ends not counted).")
        for worker in workers {
            let o = s.output[worker] ?? OutputCounts()
            w.sample("bulkhead_output_bytes_total", [("worker", worker), ("stream", "stdout")], Int64(clamping: o.stdoutBytes))
            w.sample("bulkhead_output_bytes_total", [("worker", worker), ("stream", "stderr")], Int64(clamping: o.stderrBytes))
        }
        w.family("bulkhead_output_dropped_lines_total", .counter, "Worker lines dropped because the log (journald or stderr) could not keep up.")
        w.sample("bulkhead_output_dropped_lines_total", [], Int64(s.daemon.outputLinesDropped))
        w.family("bulkhead_crash_reports_unsaved", .gauge, "Crash reports the disk refused, kept in memory until it takes them.")
        w.sample("bulkhead_crash_reports_unsaved", [], Int64(s.daemon.reportsUnsaved))
        w.family("bulkhead_crash_reports_lost_total", .counter, "Crash reports lost: refused by the disk and pushed out of memory.")
        w.sample("bulkhead_crash_reports_lost_total", [], Int64(s.daemon.reportsLost))
        return w.finish()
    }

    static func labels(_ id: InstanceID) -> [(String, String)] {
        [("worker", id.worker), ("slot", String(id.index))]
    }
}

/// Writes families and samples in either format.
struct MetricsWriter: ~Copyable {
    enum Kind: String { case counter, gauge, histogram }

    let format: MetricsText.Format
    private var w: CompactWriter

    init(format: MetricsText.Format, capacity: Int) {
        self.format = format
        w = CompactWriter(capacity: capacity)
    }

    /// `# HELP` and `# TYPE`. OpenMetrics names a counter's family without `_total`.
    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        let family = format == .openMetrics && kind == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        w.raw("# HELP ")
        w.plain(family)
        w.byte(0x20)
        w.plain(help.replacingBackslashes())
        w.raw("\n# TYPE ")
        w.plain(family)
        w.byte(0x20)
        w.plain(kind.rawValue)
        w.byte(0x0A)
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int64) {
        head(name, labels)
        w.int(value)
        w.byte(0x0A)
    }

    /// A value in seconds, from nanoseconds (written with up to nine decimals).
    mutating func sample(_ name: String, _ labels: [(String, String)], seconds nanoseconds: Int64) {
        head(name, labels)
        Self.seconds(nanoseconds, into: &w)
        w.byte(0x0A)
    }

    mutating func histogram(_ name: String, _ help: String, _ h: LatencyHistogram) {
        family(name, .histogram, help)
        var cumulative: UInt64 = 0
        for (index, bound) in h.bounds.enumerated() {
            cumulative += h.counts[index]
            sample(name + "_bucket", [("le", bound.label)], Int64(clamping: cumulative))
        }
        sample(name + "_bucket", [("le", "+Inf")], Int64(clamping: h.count))
        sample(name + "_sum", [], seconds: h.sumNanoseconds)
        sample(name + "_count", [], Int64(clamping: h.count))
    }

    consuming func finish() -> [UInt8] {
        if format == .openMetrics { w.raw("# EOF\n") }
        return w.bytes
    }

    private mutating func head(_ name: String, _ labels: [(String, String)]) {
        w.plain(name)
        if !labels.isEmpty {
            w.byte(0x7B)
            for (index, (key, value)) in labels.enumerated() {
                if index > 0 { w.byte(0x2C) }
                w.plain(key)
                w.raw("=\"")
                w.plain(Self.escapedLabel(value))
                w.byte(0x22)
            }
            w.byte(0x7D)
        }
        w.byte(0x20)
    }

    /// Label values escape `\`, `"` and newlines (both formats).
    static func escapedLabel(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// `12.5`, `0.000125`, `3`: seconds from nanoseconds, trailing zeros dropped.
    static func seconds(_ nanoseconds: Int64, into w: inout CompactWriter) {
        let negative = nanoseconds < 0
        let magnitude = nanoseconds.magnitude
        if negative { w.byte(0x2D) }
        w.int(Int64(magnitude / 1_000_000_000))
        var fraction = magnitude % 1_000_000_000
        guard fraction > 0 else { return }
        var digits = 9
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        w.byte(0x2E)
        var divisor: UInt64 = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            w.byte(UInt8(truncatingIfNeeded: (fraction / divisor) % 10) + 0x30)
            divisor /= 10
        }
    }
}

extension String {
    /// HELP text escapes `\` and newlines.
    fileprivate func replacingBackslashes() -> String {
        guard contains(where: { $0 == "\\" || $0 == "\n" }) else { return self }
        var out = ""
        for character in self {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
