/// Events from the mechanism: a spawn's outcome, a death, a worker's notifications, time passing.
extension Supervision {
    public mutating func spawned(_ id: InstanceID, pid: Int32, _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        guard let i = instances[id], case .spawning = i.phase, let spec = specs[id.worker] else { return actions }
        let tracksStability = i.attempt > 0 || i.breaker.state != .closed || i.sameCrash != nil
        let process = RunningProcess(
            pid: pid, startedAt: now,
            watchdogAt: spec.watchdog.map { now + $0 },
            stableAt: tracksStability ? now + spec.backoff.resetAfter : nil
        )
        actions.append(.emit(SupervisorEvent(.spawn, id, pid: pid, message: "spawned pid \(pid)")))
        switch spec.ready {
        case .spawn:
            update(id) { $0.phase = .running(process) }
            actions.append(.emit(SupervisorEvent(.ready, id, pid: pid, message: "ready (on spawn)")))
        case .after(let delay):
            update(id) { $0.phase = .starting(process, readyAt: now + delay) }
        case .notify:
            update(id) { $0.phase = .starting(process, readyAt: now + spec.startTimeout) }
        }
        advance(now, &actions)
        return actions
    }

    public mutating func spawnFailed(_ id: InstanceID, _ failure: SpawnFailure, _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        guard let i = instances[id], case .spawning = i.phase else { return actions }
        let facts = DeathFacts(termination: .spawnFailed(failure))
        died(id, process: nil, cause: nil, facts: facts, now, &actions)
        advance(now, &actions)
        return actions
    }

    /// The mechanism will not perform a spawn it was asked for (bulkhead is shutting down and
    /// dropped its queue): the instance rests as if it had never been asked to start.
    public mutating func spawnCancelled(_ id: InstanceID, _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        guard let i = instances[id], case .spawning = i.phase else { return actions }
        update(id) {
            $0.pendingStop = nil
            $0.phase = .stopped
        }
        if !i.wanted || i.removed { settleDown(id, &actions) }
        advance(now, &actions)
        return actions
    }

    /// The instance's main process was reaped.
    public mutating func exited(_ id: InstanceID, pid: Int32, facts: DeathFacts, _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        guard let i = instances[id], let process = i.phase.process, process.pid == pid else { return actions }
        var cause: StopCause?
        if case .stopping(_, let c, _) = i.phase { cause = c }
        died(id, process: process, cause: cause, facts: facts, now, &actions)
        advance(now, &actions)
        return actions
    }

    /// What a worker said over its notify socket (already checked to come from the instance).
    public enum Notification: Equatable, Sendable {
        case ready
        case status(String)
        case stopping
        case reloading
        case watchdog
        /// `WATCHDOG=trigger`: the worker asks to be treated as hung.
        case watchdogTrigger
        case extendTimeout(Duration)
    }

    public mutating func notified(_ id: InstanceID, _ notification: Notification, _ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        guard let i = instances[id], let spec = specs[id.worker] else { return actions }
        switch notification {
        case .ready:
            if case .starting(let p, _) = i.phase {
                update(id) { $0.phase = .running(p) }
                actions.append(.emit(SupervisorEvent(.ready, id, pid: p.pid, message: "ready (READY=1)")))
            }
        case .status(let text):
            update(id) { $0.statusText = text }
        case .stopping:
            switch i.phase {
            case .starting(let p, _), .running(let p):
                update(id) { $0.phase = .stopping(p, cause: .selfStop, killAt: now + spec.stop.timeout) }
                actions.append(.emit(SupervisorEvent(
                    .stop, id, pid: p.pid,
                    message: "stopping by itself (STOPPING=1): its exit is expected; SIGKILL if still alive after \(Units.format(spec.stop.timeout))"
                )))
            case .stopping, .stopped, .waiting, .spawning, .backoff, .open, .failed, .quarantined:
                break   // already on its way down (bulkhead asked), or no process
            }
        case .reloading:
            update(id) { $0.statusText = "reloading (RELOADING=1)" }
        case .watchdog:
            guard let watchdog = spec.watchdog else { break }
            refreshWatchdog(id, until: now + watchdog)
        case .watchdogTrigger:
            switch i.phase {
            case .starting(let p, _), .running(let p):
                watchdogMissed(id, p, spec: spec, now, &actions, reason: "the worker sent WATCHDOG=trigger (it asks to be treated as hung)")
            case .stopped, .waiting, .spawning, .stopping, .backoff, .open, .failed, .quarantined:
                break
            }
        case .extendTimeout(let extra):
            switch i.phase {
            case .starting(let p, let readyAt):
                let extended = now + extra
                update(id) { $0.phase = .starting(p, readyAt: max(readyAt ?? extended, extended)) }
            case .stopping(let p, let cause, let killAt?):
                update(id) { $0.phase = .stopping(p, cause: cause, killAt: max(killAt, now + extra)) }
            case .stopping(_, _, nil):
                break   // SIGKILL was already sent: nothing left to extend
            case .stopped, .waiting, .spawning, .running, .backoff, .open, .failed, .quarantined:
                break
            }
        }
        advance(now, &actions)
        return actions
    }

    mutating func refreshWatchdog(_ id: InstanceID, until deadline: Instant) {
        update(id) {
            switch $0.phase {
            case .starting(var p, let readyAt):
                p.watchdogAt = deadline
                $0.phase = .starting(p, readyAt: readyAt)
            case .running(var p):
                p.watchdogAt = deadline
                $0.phase = .running(p)
            case .stopped, .waiting, .spawning, .stopping, .backoff, .open, .failed, .quarantined:
                break
            }
        }
    }

    /// Time passed: act on every deadline that is due.
    public mutating func tick(_ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        // Only the instances due, taken from the deadline queue, in config order (a pass over
        // all thousand, copying each one's spec, was a quarter of the loop's time in a crash
        // storm). Each goes back into the queue when its phase is stored with a new deadline.
        let due = inConfigOrder(deadlines.takeDue(now))
        defer {
            // One whose phase did not change (its worker gone, say) keeps its deadline.
            for id in due where deadlines.deadline(of: id) == nil {
                deadlines.set(id, instances[id]?.phase.deadline)
            }
        }
        for id in due {
            visits += 1
            guard let i = instances[id], let spec = specs[id.worker] else { continue }
            switch i.phase {
            case .starting(let p, let readyAt):
                if let w = p.watchdogAt, w <= now {
                    watchdogMissed(id, p, spec: spec, now, &actions)
                } else if let readyAt, readyAt <= now {
                    if case .after = spec.ready {
                        update(id) { $0.phase = .running(p) }
                        actions.append(.emit(SupervisorEvent(.ready, id, pid: p.pid, message: "ready (stayed up \(Units.format(now.duration(since: p.startedAt))))")))
                    } else {
                        actions.append(.emit(SupervisorEvent(
                            .startTimeout, id, pid: p.pid, priority: 4,
                            message: "no READY=1 within start_timeout \(Units.format(spec.startTimeout)): failed start"
                        )))
                        beginStop(id, cause: .startTimeout, spec: spec, now, &actions)
                    }
                }
            case .running(var p):
                if let w = p.watchdogAt, w <= now {
                    watchdogMissed(id, p, spec: spec, now, &actions)
                } else if let stable = p.stableAt, stable <= now {
                    p.stableAt = nil
                    var closed = false
                    update(id) {
                        $0.phase = .running(p)
                        $0.attempt = 0
                        $0.sameCrash = nil
                        closed = $0.breaker.stableRun()
                    }
                    if closed {
                        actions.append(.emit(SupervisorEvent(
                            .recovered, id, pid: p.pid, priority: 5,
                            message: "stayed up \(Units.format(spec.backoff.resetAfter)) after the half-open try: breaker closed"
                        )))
                    }
                }
            case .stopping(let p, let cause, let killAt):
                if let killAt, killAt <= now {
                    update(id) { $0.phase = .stopping(p, cause: cause, killAt: nil) }
                    actions.append(.signal(id, pid: p.pid, signal: Signals.kill, scope: .group))
                    let waited = cause == .watchdog ? spec.watchdogGrace : spec.stop.timeout
                    let after = cause == .selfStop ? "STOPPING=1" : "SIG\(Signals.name(cause == .watchdog ? Signals.quit : spec.stop.signal))"
                    actions.append(.emit(SupervisorEvent(
                        .stop, id, pid: p.pid, priority: 4,
                        message: "still alive \(Units.format(waited)) after \(after): SIGKILL to the process group"
                    )))
                }
            case .backoff(let until):
                if until <= now {
                    update(id) { $0.phase = i.wanted ? .waiting : .stopped }
                    if i.wanted {
                        actions.append(.emit(SupervisorEvent(.restart, id, message: "backoff over: restart #\(i.restarts)")))
                    }
                }
            case .open(let until):
                if until <= now {
                    update(id) {
                        $0.breaker.cooldownEnded()
                        $0.restarts += 1
                        $0.phase = i.wanted ? .waiting : .stopped
                    }
                    if i.wanted {
                        actions.append(.emit(SupervisorEvent(.restart, id, priority: 5, message: "cooldown over: half-open try (restart #\(i.restarts + 1))")))
                    }
                }
            case .stopped, .waiting, .spawning, .failed, .quarantined:
                break
            }
        }
        advance(now, &actions)
        return actions
    }

    mutating func watchdogMissed(_ id: InstanceID, _ p: RunningProcess, spec: WorkerSpec, _ now: Instant, _ actions: inout [SupervisorAction],
                                 reason: String? = nil) {
        update(id) { $0.phase = .stopping(p, cause: .watchdog, killAt: now + spec.watchdogGrace) }
        let why = reason ?? "no WATCHDOG=1 for \(Units.format(spec.watchdog ?? .zero))"
        actions.append(.emit(SupervisorEvent(
            .watchdog, id, pid: p.pid, priority: 3,
            message: "watchdog missed (\(why)): SIGQUIT for a thread dump, SIGKILL in \(Units.format(spec.watchdogGrace))"
        )))
        actions.append(.signal(id, pid: p.pid, signal: Signals.quit, scope: .process))
    }
}
