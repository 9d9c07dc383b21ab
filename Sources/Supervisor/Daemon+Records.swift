import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// A death, written down: the crash report (unless clean) and the `exit` event.
extension Daemon {
    /// The exit event goes out now; the report file is written by the store's own thread, so
    /// file I/O never delays the restart that follows.
    func recordDeath(_ record: DeathRecord) {
        let evidence = self.evidence.removeValue(forKey: record.instance)
        let wall = evidence?.endedWall ?? WallClock.nowNanoseconds()
        var crashID: String?
        if record.classification.deathClass != .clean {
            let id = reports.newID(for: record.instance, wall: wall)
            if reports.enqueue(id: id, record: record, evidence: evidence, wall: wall) { crashID = id }
        }
        // The report a verdict that follows this death will point to (the state file keeps it).
        durable?.lastCrashID[record.instance] = crashID
        emit(ExitEvent.make(record, crashID: crashID, latency: evidence?.detectLatencyMicroseconds), extra: ExitEvent.fields(record, crashID: crashID))
    }
}

/// The `exit` event: one line a person reads, and the structured fields of SPEC §6.
enum ExitEvent {
    static func make(_ record: DeathRecord, crashID: String?, latency: Int64?) -> SupervisorEvent {
        var how: String
        switch record.facts.termination {
        case .exited(let code): how = "exited with code \(code)"
        case .signaled(let signal, let core): how = "killed by SIG\(Signals.name(signal))" + (core ? " (core dumped)" : "")
        case .spawnFailed(let failure): how = "could not start (\(failure.stage): \(failure.reason))"
        case .unknown: how = "ended, exit status unknown (adopted: not bulkhead's child)"
        }
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
