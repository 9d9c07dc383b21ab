import BulkheadJSON
import BulkheadPolicy

/// The document as JSON (docs/drafts/durable-state.md shows an example):
///
///     {"format":"bulkhead-state","version":1,
///      "clock":{"boot_id":"…","monotonic_ns":…,"wall_ns":…},
///      "daemon":{"pid":4242,"version":"0.1.0"},
///      "instances":[{"instance":"api:0","wanted":true,"state":"running",
///                    "process":{"pid":4250,"start_time":81234,"identity":"9f…","started_at_ns":…},
///                    "restarts":2,"attempt":1,"breaker":{"state":"closed","recent_restarts_ns":[…]},
///                    "same_crash":{"fingerprint":"5fd2…","count":2},"last_class":"crash"}, …]}
///
/// Every time is wall-clock nanoseconds (`*_ns`). Keys that would hold nothing are left out.
extension StateDocument {
    public func encoded(_ format: JSONFormat = .compact) -> [UInt8] {
        var bytes = json.encodedBytes(format)
        bytes.append(0x0A)
        return bytes
    }

    /// The document as a JSON value (a re-exec nests it in its own handoff).
    public var json: JSON {
        .object([
            ("format", .string(Self.formatName)),
            ("version", .int(Self.version)),
            ("clock", .object([
                ("boot_id", .string(clock.bootID)),
                ("monotonic_ns", .int(Int64(clamping: clock.monotonic.nanoseconds))),
                ("wall_ns", .int(clock.wallNanoseconds)),
            ])),
            ("daemon", .object([("pid", .int(Int64(daemonPID))), ("version", .string(daemonVersion))])),
            ("instances", .array(instances.map { encode($0) })),
        ])
    }

    func encode(_ entry: InstanceEntry) -> JSON {
        let r = entry.record
        var o: [(String, JSON)] = [
            ("instance", .string(r.id.description)),
            ("wanted", .bool(r.wanted)),
            ("state", .string(StateNames.phase(r.phase))),
        ]
        if let process = r.phase.process {
            var p: [(String, JSON)] = [("pid", .int(Int64(process.pid))), ("started_at_ns", wall(process.startedAt))]
            if let stamp = entry.process, stamp.pid == process.pid {
                p.append(("start_time", .int(Int64(clamping: stamp.startTime))))
                p.append(("identity", .string(stamp.identity)))
                if let inode = stamp.stdoutPipe { p.append(("stdout_pipe", .int(Int64(clamping: inode)))) }
                if let inode = stamp.stderrPipe { p.append(("stderr_pipe", .int(Int64(clamping: inode)))) }
                if let socket = stamp.notifySocket { p.append(("notify_socket", .string(socket))) }
            }
            if let at = process.watchdogAt { p.append(("watchdog_at_ns", wall(at))) }
            if let at = process.stableAt { p.append(("stable_at_ns", wall(at))) }
            o.append(("process", .object(p)))
        }
        switch r.phase {
        case .starting(_, let readyAt?): o.append(("ready_at_ns", wall(readyAt)))
        case .stopping(_, let cause, let killAt):
            o.append(("stop_cause", .string(cause.rawValue)))
            if let killAt { o.append(("kill_at_ns", wall(killAt))) }
        case .backoff(let until), .open(let until): o.append(("until_ns", wall(until)))
        case .starting, .running, .stopped, .waiting, .spawning, .failed, .quarantined: break
        }
        if let pending = r.pendingStop { o.append(("pending_stop", .string(pending.rawValue))) }
        if r.removed { o.append(("removed", .bool(true))) }
        o.append(("restarts", .int(Int64(r.restarts))))
        o.append(("attempt", .int(Int64(r.attempt))))
        var breaker: [(String, JSON)] = [("state", .string(StateNames.breaker(r.breaker.state)))]
        if case .open(let until) = r.breaker.state { breaker.append(("until_ns", wall(until))) }
        if !r.breaker.recentRestarts.isEmpty {
            breaker.append(("recent_restarts_ns", .array(r.breaker.recentRestarts.map(wall))))
        }
        o.append(("breaker", .object(breaker)))
        if let streak = r.sameCrash {
            o.append(("same_crash", .object([("fingerprint", .string(streak.fingerprint)), ("count", .int(Int64(streak.count)))])))
        }
        if let last = r.lastClass { o.append(("last_class", .string(last.rawValue))) }
        if let text = r.statusText { o.append(("status_text", .string(text))) }
        if let crash = entry.crashID { o.append(("crash_id", .string(crash))) }
        return .object(o)
    }

    private func wall(_ instant: Instant) -> JSON {
        .int(clock.wall(instant))
    }
}

/// The words the file uses for phases and breaker states.
enum StateNames {
    static func phase(_ phase: Phase) -> String {
        switch phase {
        case .stopped: return "stopped"
        case .waiting: return "waiting"
        case .spawning: return "spawning"
        case .starting: return "starting"
        case .running: return "running"
        case .stopping: return "stopping"
        case .backoff: return "backoff"
        case .open: return "open"
        case .failed: return "failed"
        case .quarantined: return "quarantined"
        }
    }

    static func breaker(_ state: CrashLoopBreaker.State) -> String {
        switch state {
        case .closed: return "closed"
        case .open: return "open"
        case .halfOpen: return "half-open"
        }
    }
}
