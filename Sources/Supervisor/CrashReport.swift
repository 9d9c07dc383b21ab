import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

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
        }
        if case .signaled = record.facts.termination {} else { o.append(("core_dumped", false)) }
        o.append(("class", .string(record.classification.deathClass.rawValue)))
        if let original = record.originalClass { o.append(("original_class", .string(original.rawValue))) }
        o.append(("rule", .string(record.classification.rule)))
        o.append(("fatal_message", record.facts.fatalMessage.map(JSON.string) ?? .null))
        o.append(("source_location", record.facts.sourceLocation.map(JSON.string) ?? .null))
        o.append(("headline", record.facts.headline.map(JSON.string) ?? .null))
        o.append(("backtrace", evidence?.backtrace?.json(allThreads: record.classification.deathClass == .hang) ?? .null))
        o.append(("stderr_tail", .array((evidence?.stderrTail.map(\.text) ?? record.facts.stderrTail).map(JSON.string))))
        o.append(("breadcrumbs", .array((evidence?.breadcrumbs ?? []).map { crumb in
            .object([
                ("at", .string(WallClockText.iso8601(crumb.wallNanoseconds))),
                ("seq", .int(Int64(bitPattern: crumb.sequence))),
                ("text", .string(crumb.text)),
            ])
        })))
        o.append(("fingerprint", .string(record.fingerprint)))
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

    /// The one-line summary kept in the index (for `bulkhead crashes`).
    /// One line on why: the fatal message or the runtime's headline when there is one; for a
    /// death bulkhead caused (watchdog, start timeout), the rule that says so, since the
    /// worker's last words (a thread dump's banner) do not.
    static func reason(_ record: DeathRecord) -> String {
        if let message = record.facts.fatalMessage ?? record.facts.headline { return message }
        if record.classification.deathClass == .hang || record.classification.rule.contains("start_timeout") {
            return String(record.classification.rule.trimmingPrefix("default: "))
        }
        return CrashFingerprint.stderrHeadline(record.facts.stderrTail) ?? ""
    }

    static func summary(id: String, record: DeathRecord, wall: Int64) -> JSON {
        var how: String
        switch record.facts.termination {
        case .exited(let code): how = "exit \(code)"
        case .signaled(let signal, _): how = "SIG\(Signals.name(signal))"
        case .spawnFailed: how = "spawn failed"
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
