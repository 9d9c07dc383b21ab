import BulkheadControl
import BulkheadForensics
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// SPEC §7: one JSON document per death that is not clean.
enum CrashReport {
    static func build(id: String, record: DeathRecord, evidence: DeathEvidence?) -> JSON {
        var o: [(String, JSON)] = [
            ("id", .string(id)),
            ("worker", .string(record.instance.worker)),
            ("instance", .string(record.instance.description)),
            ("pid", record.pid.map { .int(Int64($0)) } ?? .null),
        ]
        let ended = evidence?.endedWall ?? WallClock.nowNanoseconds()
        if let started = evidence?.startedWall, started > 0 {
            o.append(("started_at", .string(WallClockText.iso8601(started))))
        } else {
            o.append(("started_at", .null))
        }
        o.append(("ended_at", .string(WallClockText.iso8601(ended))))
        if let started = record.startedAt {
            o.append(("uptime_ms", .int(record.endedAt.duration(since: started).milliseconds)))
        } else {
            o.append(("uptime_ms", .null))
        }
        switch record.facts.termination {
        case .exited(let code):
            o.append(("exit_code", .int(Int64(code))))
        case .signaled(let signal, let core):
            o.append(("signal", .string(Signals.name(signal))))
            o.append(("signal_number", .int(Int64(signal))))
            o.append(("core_dumped", .bool(core)))
        case .spawnFailed(let failure):
            o.append(("spawn_error", .string("\(failure.stage): \(failure.reason)")))
        case .unknown:
            o.append(("exit_status", .string("unknown: an adopted process, not bulkhead's child")))
        }
        if case .signaled = record.facts.termination {} else { o.append(("core_dumped", false)) }
        o.append(("class", .string(record.classification.deathClass.rawValue)))
        if let original = record.originalClass { o.append(("original_class", .string(original.rawValue))) }
        o.append(("rule", .string(record.classification.rule)))
        if let limit = limitReached(record) { o.append(("limit", .string(limit))) }
        o.append(("fatal_message", record.facts.fatalMessage.map(JSON.string) ?? .null))
        o.append(("source_location", record.facts.sourceLocation.map(JSON.string) ?? .null))
        o.append(("headline", .string(headline(record))))
        let explanation = evidence?.explanation
        o.append(("runtime", explanation?.runtime.map { .string($0.rawValue) } ?? .null))
        o.append(("crash_kind", explanation?.kind.map(JSON.string) ?? .null))
        o.append(("crash_site", explanation?.site.map(site) ?? .null))
        if let message = explanation?.message { o.append(("crash_message", .string(message))) }
        o.append(("backtrace", explanation.map { backtrace($0, allThreads: record.classification.deathClass == .hang) } ?? .null))
        let details = (explanation?.details ?? []).filter { !Self.detailsWrittenElsewhere.contains($0.key) }
        if !details.isEmpty { o.append(("details", .object(details.map { ($0.key, JSON.string($0.value)) }))) }
        o.append(("stderr_tail", .array((evidence?.stderrTail.map(\.text) ?? record.facts.stderrTail).map(JSON.string))))
        o.append(("output_tail", .array((evidence?.outputTail ?? []).suffix(Self.outputTailLines).map { line in
            .object([("stream", .string(line.stream.rawValue)), ("text", .string(line.text))])
        })))
        o.append(("breadcrumbs", .array((evidence?.breadcrumbs ?? []).map { crumb in
            .object([
                ("at", .string(WallClockText.iso8601(crumb.wallNanoseconds))),
                ("seq", .int(Int64(bitPattern: crumb.sequence))),
                ("text", .string(crumb.text)),
            ])
        })))
        // The process's last health-check results, in wall time (the death's instant anchors it).
        let wallOffset = ended - Int64(bitPattern: record.endedAt.nanoseconds)
        o.append(("health", .array(record.probes.map { probe in
            .object([
                ("probe", .string(probe.role.rawValue)),
                ("check", .string(probe.check.description)),
                ("passed", .bool(probe.result.passed)),
                ("at", .string(WallClockText.iso8601(Int64(bitPattern: probe.result.at.nanoseconds) + wallOffset))),
                ("latency_us", .int(probe.result.latency.microseconds)),
                ("detail", .string(probe.result.detail)),
            ])
        })))
        o.append(("fingerprint", .string(record.fingerprint)))
        if !record.facts.fingerprintBasis.isEmpty {
            o.append(("fingerprint_basis", .array(record.facts.fingerprintBasis.map(JSON.string))))
        }
        o.append(("restarts", .int(Int64(record.restarts))))
        o.append(("action", .string(record.action)))
        if let note = record.note { o.append(("note", .string(note))) }
        o.append(("detect_latency_us", evidence?.detectLatencyMicroseconds.map { .int($0) } ?? .null))
        o.append(("detect_latency_source", .string(evidence?.latencySource ?? "not measured")))
        if let exit = evidence?.exit {
            o.append(("resources", .object([
                ("max_rss_kib", .int(exit.maxResidentKiB)),
                ("cpu_user_ms", .int(exit.userMicroseconds / 1000)),
                ("cpu_system_ms", .int(exit.systemMicroseconds / 1000)),
            ])))
        }
        if let leftovers = evidence?.leftoversKilled, leftovers > 0 {
            o.append(("leftover_processes_killed", .int(Int64(leftovers))))
        }
        o.append(("command", .array((evidence?.command ?? []).map(JSON.string))))
        o.append(("bulkhead_version", .string(BulkheadVersion.current)))
        return .object(o)
    }

    /// Lines of `output_tail` in a report (the window the explanation read is longer).
    static let outputTailLines = 60
    /// Details of an explanation that have a field of their own, or say nothing a reader needs.
    static let detailsWrittenElsewhere: Set<String> = ["backtrace_description", "thread_count", "crashed_thread", "omitted_frames", "runtime_failure"]

    /// One line on why, for every death (SPEC §7): the explanation's; for a death bulkhead
    /// caused (watchdog, start timeout, liveness), the rule that says so, since the worker's
    /// last words (a thread dump's banner) do not.
    static func headline(_ record: DeathRecord) -> String {
        if case .spawnFailed(let failure) = record.facts.termination {
            return "could not start (\(failure.stage): \(failure.reason))"
        }
        if record.classification.rule == "liveness" {
            let live = record.probes.filter { $0.role == .live }
            let failed = live.reversed().prefix { !$0.result.passed }.count
            let last = live.last.map { ": \($0.result.detail) (\($0.check))" } ?? ""
            return "live probe failed \(failed) time\(failed == 1 ? "" : "s") in a row\(last)"
        }
        if record.classification.deathClass == .hang || record.classification.rule.contains("start_timeout") {
            return String(record.classification.rule.trimmingPrefix("default: "))
        }
        if let headline = record.facts.headline { return headline }
        // A worker's line may be 32 KiB: a headline is one line to read.
        guard let line = CrashFingerprint.stderrHeadline(record.facts.stderrTail) else { return "" }
        return line.count > 200 ? String(line.prefix(199)) + "…" : line
    }

    /// Which limit the death was read as hitting (`limit` class only).
    static func limitReached(_ record: DeathRecord) -> String? {
        guard record.classification.deathClass == .limit, record.classification.rule.hasPrefix("default:") else { return nil }
        if record.facts.killedForLimit { return "memory" }
        if record.facts.tasksLimitReached { return "tasks" }
        if case .signaled(let signal, _) = record.facts.termination {
            if signal == SIGXCPU { return "cpu_time" }
            if signal == SIGXFSZ { return "file_size" }
        }
        return nil
    }

    static func site(_ site: CrashSite) -> JSON {
        .object([
            ("function", site.function.map(JSON.string) ?? .null),
            ("file", site.file.map(JSON.string) ?? .null),
            ("line", site.line.map { .int(Int64($0)) } ?? .null),
        ])
    }

    /// The crashed thread's frames, or (a SIGQUIT dump) every thread's.
    static func backtrace(_ explanation: CrashExplanation, allThreads: Bool, maxFramesPerThread: Int = 48, maxThreads: Int = 64) -> JSON {
        func frames(_ frames: [CrashFrame]) -> JSON {
            .array(frames.prefix(maxFramesPerThread).enumerated().map { index, f in
                var o: [(String, JSON)] = [("index", .int(Int64(index))), ("function", .string(f.function))]
                if let image = f.image { o.append(("image", .string(image))) }
                if let file = f.file, let line = f.line, line > 0 { o.append(("source", .string("\(file):\(line)"))) }
                if f.isInlined { o.append(("inlined", true)) }
                if f.isRuntime { o.append(("runtime", true)) }
                return .object(o)
            })
        }
        guard !explanation.threads.isEmpty || !explanation.frames.isEmpty else { return .null }
        var o: [(String, JSON)] = []
        if let description = explanation.detail("backtrace_description") { o.append(("signal_description", .string(description))) }
        if let failure = explanation.detail("runtime_failure") { o.append(("runtime_failure", .string(failure))) }
        o.append(("thread_count", .int(Int64(max(explanation.threads.count, 1)))))
        let crashed = explanation.threads.first { $0.crashed }
        if allThreads || (explanation.threads.count > 1 && crashed == nil) {
            o.append(("threads", .array(explanation.threads.prefix(maxThreads).map { t in
                .object([("name", t.name.map(JSON.string) ?? .null), ("frames", frames(t.frames))])
            })))
        } else {
            o.append(("crashed_thread", crashed?.name.map(JSON.string) ?? .null))
            o.append(("frames", frames(explanation.frames.isEmpty ? crashed?.frames ?? [] : explanation.frames)))
        }
        return .object(o)
    }

    /// The one-line summary kept in the index (for `bulkhead crashes`).
    /// One line on why: the fatal message or the runtime's headline when there is one; for a
    /// death bulkhead caused (watchdog, start timeout), the rule that says so, since the
    /// worker's last words (a thread dump's banner) do not.
    static func reason(_ record: DeathRecord) -> String {
        headline(record)
    }

    static func summary(id: String, record: DeathRecord, wall: Int64) -> JSON {
        var how: String
        switch record.facts.termination {
        case .exited(let code): how = "exit \(code)"
        case .signaled(let signal, _): how = "SIG\(Signals.name(signal))"
        case .spawnFailed: how = "spawn failed"
        case .unknown: how = "exit status unknown"
        }
        return .object([
            ("id", .string(id)),
            ("worker", .string(record.instance.worker)),
            ("instance", .string(record.instance.description)),
            ("ended_at", .string(WallClockText.iso8601(wall))),
            ("class", .string(record.classification.deathClass.rawValue)),
            ("how", .string(how)),
            ("reason", .string(reason(record))),
            ("fingerprint", .string(record.fingerprint)),
            ("action", .string(record.action)),
        ])
    }
}
