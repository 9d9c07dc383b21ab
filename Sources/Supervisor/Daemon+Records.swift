import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// A death, written down: the crash report (unless clean) and the `exit` event.
extension Daemon {
    /// The exit event goes out now; the report file is written by the store's own thread, so
    /// file I/O never delays the restart that follows. A repeat of a death already reported
    /// in this storm (`CrashCoalescer`) is folded into that report instead: no file of its own,
    /// and no journal line of its own (a "repeated N times" line stands for it, see
    /// `sayRepeatedDeaths`); the event's subscribers hear it like any other.
    func recordDeath(_ record: DeathRecord) {
        let evidence = self.evidence.removeValue(forKey: record.instance)
        let wall = evidence?.endedWall ?? WallClock.nowNanoseconds()
        var crashID: String?
        var audience = SupervisorEvents.Audience.everyone
        if record.classification.deathClass != .clean {
            let key = CrashCoalescer.Key(worker: record.instance.worker, fingerprint: record.fingerprint,
                                         deathClass: record.classification.deathClass)
            switch coalescer.death(key, instance: record.instance, pid: record.pid, wakeInstant) {
            case .report:
                let id = reports.newID(for: record.instance, wall: wall)
                let keepCopy = monitoring.wantsReports(of: record.instance.worker)
                if reports.enqueue(id: id, record: record, evidence: evidence, wall: wall, keepCopy: keepCopy) {
                    crashID = id
                    coalescer.reported(key, reportID: id, headline: ExitEvent.how(record) + " — " + CrashReport.headline(record), wakeInstant)
                }
            case .repeatOf(let id):
                reports.enqueueRepeat(id: id, CrashReportRepeats.Death(
                    instance: record.instance.description, pid: record.pid, startedWall: evidence?.startedWall,
                    endedWall: wall, how: ExitEvent.how(record)
                ))
                crashID = id
                audience = .subscribersOnly
            }
        }
        // The report a verdict that follows this death will point to (the state file keeps it).
        durable?.lastCrashID[record.instance] = crashID
        lastCrash = crashID.map { (record.instance, $0) }
        if audience == .subscribersOnly && !events.hasSubscribers { return }   // nobody to hear it: no line to make
        var fields = ExitEvent.fields(record, crashID: crashID)
        if let latency = evidence?.detectLatencyMicroseconds { fields.append(.init("DETECT_LATENCY_US", "\(latency)")) }
        emit(ExitEvent.make(record, crashID: crashID, latency: evidence?.detectLatencyMicroseconds), extra: fields, to: audience)
    }

    /// "repeated N times" lines that are due: one per storming report at most every few
    /// seconds, naming the report, how many deaths it stands for and (some of) their pids.
    func sayRepeatedDeaths(_ now: Instant, all: Bool = false) {
        for summary in coalescer.takeDue(now, all: all) {
            // `repeated 212 times in 5s (crash; its report stands for 1234 deaths): killed by SIGILL — …`
            let message = "repeated \(summary.repeats) times in \(Units.format(now.duration(since: summary.since))) "
                + "(\(summary.key.deathClass.rawValue); its report stands for \(summary.totalRepeats + 1) deaths): "
                + summary.headline
            let pids = summary.pids.map(String.init).joined(separator: " ") + (summary.pids.count < summary.repeats ? " …" : "")
            emit(SupervisorEvent(.exit, summary.lastInstance, priority: summary.key.deathClass.priority, message: message),
                 extra: [
                    .init("CLASS", summary.key.deathClass.rawValue), .init("FINGERPRINT", summary.key.fingerprint),
                    .init("CRASH_ID", summary.reportID), .init("REPEATS", "\(summary.repeats)"), .init("PIDS", pids),
                 ],
                 to: .sinkOnly)
        }
    }
}

/// The `exit` event: one line a person reads, and the structured fields of SPEC §6.
enum ExitEvent {
    /// How the process ended, in words.
    static func how(_ record: DeathRecord) -> String {
        switch record.facts.termination {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal, let core): return "killed by SIG\(Signals.name(signal))" + (core ? " (core dumped)" : "")
        case .spawnFailed(let failure): return "could not start (\(failure.stage): \(failure.reason))"
        case .unknown: return "ended, exit status unknown (adopted: not bulkhead's child)"
        }
    }

    static func make(_ record: DeathRecord, crashID: String?, latency: Int64?) -> SupervisorEvent {
        let how = how(record)
        var message = "\(how): \(record.classification.deathClass.rawValue) (\(record.classification.rule))"
        // Why, when something was read (a fatal message, a fault, a runtime's crash): the
        // report and `bulkhead crashes` always have a headline; this line says it only when it
        // adds to "exited with code N".
        if record.facts.fatalMessage != nil || record.facts.runtimeCrash != nil {
            message += " — \(CrashReport.headline(record))"
        }
        message += "; \(record.action)"
        if let note = record.note { message += "; \(note)" }
        if let latency { message += "; noticed in \(latency)us" }
        return SupervisorEvent(.exit, record.instance, pid: record.pid, priority: record.classification.deathClass.priority, message: message)
    }

    static func fields(_ record: DeathRecord, crashID: String?) -> [SupervisorEvent.Field] {
        var fields: [SupervisorEvent.Field] = [
            .init("CLASS", record.classification.deathClass.rawValue),
            .init("RULE", record.classification.rule),
            .init("RESTARTS", "\(record.restarts)"),
            .init("FINGERPRINT", record.fingerprint),
            .init("HEADLINE", CrashReport.headline(record)),
        ]
        switch record.facts.termination {
        case .exited(let code): fields.append(.init("EXIT_CODE", "\(code)"))
        case .signaled(let signal, _): fields.append(.init("SIGNAL", Signals.name(signal)))
        case .spawnFailed, .unknown: break
        }
        if let crashID { fields.append(.init("CRASH_ID", crashID)) }
        return fields
    }
}
