/// Policy's state as records, and back: the state file after a crash of the daemon (`restore`),
/// and a re-exec of the daemon in place (`resume`).
extension Supervision {
    /// Every instance, in config order (instances of removed workers still stopping included).
    public var records: [InstanceRecord] {
        order.compactMap { id in instances[id].map(record) }
    }

    public func record(of id: InstanceID) -> InstanceRecord? {
        instances[id].map(record)
    }

    func record(_ i: Instance) -> InstanceRecord {
        InstanceRecord(
            id: i.id, wanted: i.wanted, phase: i.phase, pendingStop: i.pendingStop, removed: i.removed,
            restarts: i.restarts, attempt: i.attempt, breaker: i.breaker,
            sameCrash: i.sameCrash.map { SameCrashStreak(fingerprint: $0.fingerprint, count: $0.count) },
            lastClass: i.lastClass, statusText: i.statusText
        )
    }

    /// Instances written since the last call, and instances that left (their id, no record):
    /// the state file is brought up to date from these, never by walking all instances.
    public mutating func takeRecordChanges() -> Set<InstanceID> {
        defer { recordChanges = [] }
        return recordChanges
    }

    // MARK: - After a re-exec

    /// Why a re-exec cannot carry policy across now.
    public var resumeObstacle: String? {
        if shuttingDown { return "bulkhead is shutting down" }
        if let lingering = order.first(where: { instances[$0]?.removed == true }) {
            return "\(lingering) left the configuration and is still stopping; try again once it has stopped"
        }
        return nil
    }

    /// The new daemon image takes over every instance exactly as the old one left it: the same
    /// processes (still its children), deadlines, counters and intent. Records of instances the
    /// config does not have are dropped (the carried config is the one that made them, so there
    /// are none unless the two disagree). Returns the actions due now (normally none).
    public mutating func resume(_ records: [InstanceRecord], _ now: Instant) -> [SupervisorAction] {
        for record in records {
            guard instances[record.id] != nil, specs[record.id.worker] != nil, !record.removed else { continue }
            store(Instance(record))
        }
        restored = Set(records.map(\.id))
        var actions: [SupervisorAction] = []
        advance(now, &actions)
        return actions
    }

    // MARK: - After the daemon died

    /// A process a previous daemon left running for an instance, found by the mechanism (the
    /// state file's pid and start time, or the instance's cgroup).
    public struct Leftover: Equatable, Sendable {
        public enum Fate: Equatable, Sendable {
            /// Taken over as it is: its pid stays the instance's. Only the process the record
            /// names can be adopted.
            case adopted
            /// Stopped before the instance starts again (its output could not be taken over,
            /// its command changed, or no record names it): the stop signal, then SIGKILL after
            /// `stop.timeout`, as any stop.
            case stopped
        }

        public var pid: Int32
        public var startedAt: Instant
        public var fate: Fate

        public init(pid: Int32, startedAt: Instant, fate: Fate) {
            self.pid = pid
            self.startedAt = startedAt
            self.fate = fate
        }
    }

    /// The daemon starts again after dying: every instance the state file recorded takes up
    /// its intent, verdict, breaker, counters and streak again, and every process a previous
    /// daemon left is adopted or stopped before its instance starts (never two at once). A
    /// recorded process not among `leftovers` ended while no bulkhead ran: its instance starts
    /// again if wanted, and that is not counted as a restart. Instances with neither a record
    /// nor a leftover start as on a first start (`startAll`); records of instances the config
    /// no longer has are dropped.
    public mutating func restore(_ records: [InstanceRecord], leftovers: [InstanceID: Leftover], _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        var byID: [InstanceID: InstanceRecord] = [:]
        for record in records where !record.removed { byID[record.id] = record }
        for id in order {
            let record = byID[id]
            let leftover = leftovers[id]
            guard record != nil || leftover != nil, var i = instances[id], let spec = specs[id.worker] else { continue }
            if let record {
                i.wanted = record.wanted
                i.restarts = max(0, record.restarts)
                i.attempt = max(0, record.attempt)
                i.breaker = record.breaker
                i.sameCrash = record.sameCrash.map { ($0.fingerprint, $0.count) }
                i.lastClass = record.lastClass
            } else {
                i.wanted = true   // no record: what a first start would want
            }
            switch record?.phase ?? .waiting {
            case .stopped:
                i.phase = leftover.map { stopLeftover(id, $0, spec: spec, now, &actions) } ?? .stopped
            case .waiting, .spawning:
                i.phase = leftover.map { stopLeftover(id, $0, spec: spec, now, &actions) } ?? (i.wanted ? .waiting : .stopped)
            case .backoff(let until):
                i.phase = leftover.map { stopLeftover(id, $0, spec: spec, now, &actions) } ?? (i.wanted ? .backoff(until: until) : .stopped)
            case .open(let until):
                i.phase = .open(until: until)
                if let leftover { killLeftover(id, leftover, verdict: "open", &actions) }
            case .failed:
                i.phase = .failed
                if let leftover { killLeftover(id, leftover, verdict: "failed", &actions) }
            case .quarantined:
                i.phase = .quarantined
                if let leftover { killLeftover(id, leftover, verdict: "quarantined", &actions) }
            case .starting(let p, _), .running(let p), .stopping(let p, _, _):
                if let leftover, leftover.pid == p.pid, leftover.fate == .adopted, let recorded = record?.phase {
                    i.phase = adopt(p, recorded: recorded, spec: spec, now)
                } else if let leftover {
                    i.phase = stopLeftover(id, leftover, spec: spec, now, &actions)
                } else {
                    actions.append(.emit(SupervisorEvent(
                        .exit, id, pid: p.pid, priority: 4,
                        message: "pid \(p.pid) ended while no bulkhead was running (exit status unknown; not counted as a restart)"
                            + (i.wanted ? "; starting it again" : "")
                    )))
                    i.phase = i.wanted ? .waiting : .stopped
                }
            }
            store(i)
            restored.insert(id)
        }
        advance(now, &actions)
        return actions
    }

    /// A leftover of an instance that may run again: stopped as any stop, and when it is gone
    /// the instance starts (if wanted) as after any stop bulkhead asked for.
    func stopLeftover(_ id: InstanceID, _ leftover: Leftover, spec: WorkerSpec, _ now: Instant, _ actions: inout [SupervisorAction]) -> Phase {
        actions.append(.signal(id, pid: leftover.pid, signal: spec.stop.signal, scope: .group))
        actions.append(.emit(SupervisorEvent(
            .stop, id, pid: leftover.pid,
            message: "stopping pid \(leftover.pid), left running by a previous bulkhead, before the instance runs again: SIG\(Signals.name(spec.stop.signal)), SIGKILL after \(Units.format(spec.stop.timeout))"
        )))
        return .stopping(RunningProcess(pid: leftover.pid, startedAt: leftover.startedAt), cause: .leftover, killAt: now + spec.stop.timeout)
    }

    /// A leftover of an instance under a verdict (no process may run): killed outright, and the
    /// verdict stands.
    func killLeftover(_ id: InstanceID, _ leftover: Leftover, verdict: String, _ actions: inout [SupervisorAction]) {
        actions.append(.signal(id, pid: leftover.pid, signal: Signals.kill, scope: .group))
        actions.append(.emit(SupervisorEvent(
            .stop, id, pid: leftover.pid, priority: 4,
            message: "pid \(leftover.pid), left running by a previous bulkhead, killed: the instance is \(verdict)"
        )))
    }

    /// The phase of an adopted process: its deadlines start now (the watchdog from its next
    /// ping, readiness from the start timeout), a stable run counts from when it started.
    func adopt(_ recorded: RunningProcess, recorded phase: Phase, spec: WorkerSpec, _ now: Instant) -> Phase {
        var p = RunningProcess(pid: recorded.pid, startedAt: recorded.startedAt, watchdogAt: spec.watchdog.map { now + $0 })
        p.stableAt = recorded.startedAt + spec.backoff.resetAfter
        switch phase {
        case .starting:
            switch spec.ready {
            case .notify: return .starting(p, readyAt: now + spec.startTimeout)
            case .after(let delay): return .starting(p, readyAt: max(now, recorded.startedAt + delay))
            case .spawn: return .running(p)
            }
        case .stopping(_, let cause, _):
            return .stopping(p, cause: cause, killAt: now + spec.stop.timeout)
        case .running, .stopped, .waiting, .spawning, .backoff, .open, .failed, .quarantined:
            return .running(p)
        }
    }

    /// The instances `restore` or `resume` took from records (`startAll` leaves them as they are).
    public var restoredInstances: Set<InstanceID> { restored }
}

extension Supervision.Instance {
    init(_ record: InstanceRecord) {
        self.init(id: record.id, wanted: record.wanted)
        phase = record.phase
        pendingStop = record.pendingStop
        removed = record.removed
        restarts = max(0, record.restarts)
        attempt = max(0, record.attempt)
        breaker = record.breaker
        sameCrash = record.sameCrash.map { ($0.fingerprint, $0.count) }
        lastClass = record.lastClass
        statusText = record.statusText
    }
}
