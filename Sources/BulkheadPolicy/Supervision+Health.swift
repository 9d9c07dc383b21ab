/// Health checks (SPEC §2 `health`): when probes run, what their results do.
///
/// - The ready probe starts when the instance may be ready by its `ready:` rule (at spawn, or at
///   `READY=1`) and runs until it passes `successes` times in a row: then the instance is
///   `running`, and its dependents may start, as after `READY=1`. `start_timeout` bounds it.
/// - The live probe starts once the instance is ready; `failures` failures in a row kill it like
///   a missed watchdog (SIGQUIT for a thread dump, SIGKILL `watchdog_grace` later), class
///   `hang`, rule `liveness`, the last results in the crash report.
///
/// The mechanism runs each check it is asked for (`.probe`) and always answers
/// (`probeFinished`), with a failure when the check's timeout passes.
extension Supervision {
    /// The mechanism's answer to a `.probe` action. Answers for a process that is gone, or a
    /// check nobody is waiting for, are ignored.
    public mutating func probeFinished(_ id: InstanceID, pid: Int32, role: ProbeRole, _ result: ProbeResult, _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        guard let i = instances[id], let spec = specs[id.worker] else { return actions }
        guard case (var p, let readyAt)? = i.phase.probedProcess else { return actions }
        guard p.pid == pid else { return actions }
        let failuresBefore: Int
        let outcome: ProbeTracker.Outcome
        let limit: Int
        switch role {
        case .ready:
            guard var tracker = p.readyProbe else { return actions }
            failuresBefore = tracker.consecutiveFailures
            outcome = tracker.finished(result)
            limit = tracker.spec.failures
            p.readyProbe = tracker
        case .live:
            guard var tracker = p.liveProbe else { return actions }
            failuresBefore = tracker.consecutiveFailures
            outcome = tracker.finished(result)
            limit = tracker.spec.failures
            p.liveProbe = tracker
        }
        if outcome == .ignored { return actions }
        let latency = Units.latency(result.latency)
        switch (role, outcome) {
        case (.ready, .passedEnough):
            if case .starting = i.phase {
                becomeReady(id, p, spec: spec, how: "ready probe passed: \(result.detail) in \(latency)", now, &actions)
            }
        case (.ready, _):
            store(id, p, readyAt: readyAt)
            if !result.passed && failuresBefore == 0 {
                // Normal while a service warms up: said once per streak, the rest is in status.
                actions.append(.emit(SupervisorEvent(.health, id, pid: pid, message: "ready probe failed (\(result.detail)); still starting")))
            }
        case (.live, .failedEnough):
            livenessFailed(id, p, spec: spec, failures: limit, last: result, now, &actions)
        case (.live, _):
            store(id, p, readyAt: readyAt)
            if !result.passed {
                actions.append(.emit(SupervisorEvent(
                    .health, id, pid: pid, priority: 4,
                    message: "live probe failed (\(p.liveProbe?.consecutiveFailures ?? 0) of \(limit)): \(result.detail)\(result.detail.hasPrefix("timed out") ? "" : " after \(latency)")"
                )))
            } else if failuresBefore > 0 {
                actions.append(.emit(SupervisorEvent(
                    .health, id, pid: pid, priority: 5,
                    message: "live probe passes again after \(failuresBefore) failure\(failuresBefore == 1 ? "" : "s"): \(result.detail) in \(latency)"
                )))
            }
        }
        advance(now, &actions)
        return actions
    }

    /// The instance is ready: `running`, the live probe started, the `ready` event out.
    mutating func becomeReady(_ id: InstanceID, _ process: RunningProcess, spec: WorkerSpec, how: String, _ now: Instant,
                              _ actions: inout [SupervisorAction]) {
        var p = process
        if spec.health.live != nil { p.liveProbe = startProbe(.live, of: spec, id, now) }
        update(id) { $0.phase = .running(p) }
        actions.append(.emit(SupervisorEvent(.ready, id, pid: p.pid, message: "ready (\(how))")))
    }

    /// A probe of `spec` for instance `id`, its first check `initial_delay` after `now`.
    func startProbe(_ role: ProbeRole, of spec: WorkerSpec, _ id: InstanceID, _ now: Instant) -> ProbeTracker? {
        guard var probe = role == .ready ? spec.health.ready : spec.health.live else { return nil }
        probe.check = probe.check.resolved(index: id.index)
        return ProbeTracker(role: role, spec: probe, startingAt: now)
    }

    /// Checks that are due go out (`.probe`); the trackers remember they are out.
    mutating func launchDueProbes(_ id: InstanceID, _ now: Instant, _ actions: inout [SupervisorAction]) {
        guard let i = instances[id] else { return }
        guard case (var p, let readyAt)? = i.phase.probedProcess else { return }
        guard let due = p.probeDeadline, due <= now else { return }
        if var tracker = p.readyProbe, tracker.launchIfDue(now) {
            p.readyProbe = tracker
            actions.append(.probe(id, pid: p.pid, role: .ready, check: tracker.spec.check, timeout: tracker.spec.timeout))
        }
        if var tracker = p.liveProbe, tracker.launchIfDue(now) {
            p.liveProbe = tracker
            actions.append(.probe(id, pid: p.pid, role: .live, check: tracker.spec.check, timeout: tracker.spec.timeout))
        }
        store(id, p, readyAt: readyAt)
    }

    /// Writes a changed process back into the phase it is in (`starting` keeps its deadline).
    private mutating func store(_ id: InstanceID, _ p: RunningProcess, readyAt: Instant?) {
        update(id) {
            switch $0.phase {
            case .starting: $0.phase = .starting(p, readyAt: readyAt)
            case .running: $0.phase = .running(p)
            case .stopped, .waiting, .spawning, .stopping, .backoff, .open, .failed, .quarantined: break
            }
        }
    }

    /// `failures` live-probe failures in a row: killed as hung, as a missed watchdog is.
    mutating func livenessFailed(_ id: InstanceID, _ p: RunningProcess, spec: WorkerSpec, failures: Int, last: ProbeResult, _ now: Instant,
                                 _ actions: inout [SupervisorAction]) {
        update(id) { $0.phase = .stopping(p, cause: .liveness, killAt: now + spec.watchdogGrace) }
        actions.append(.emit(SupervisorEvent(
            .health, id, pid: p.pid, priority: 3,
            message: "live probe failed \(failures) time\(failures == 1 ? "" : "s") in a row (last: \(last.detail)): SIGQUIT for a thread dump, SIGKILL in \(Units.format(spec.watchdogGrace))"
        )))
        actions.append(.signal(id, pid: p.pid, signal: Signals.quit, scope: .process))
    }
}

extension Phase {
    /// The process whose probes run, and its start deadline while it is starting: only a
    /// starting or running instance has one.
    fileprivate var probedProcess: (process: RunningProcess, readyAt: Instant?)? {
        switch self {
        case .starting(let process, let readyAt): return (process, readyAt)
        case .running(let process): return (process, nil)
        case .stopped, .waiting, .spawning, .stopping, .backoff, .open, .failed, .quarantined: return nil
        }
    }
}
