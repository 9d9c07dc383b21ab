/// What happens after a death: classification, the same-crash escalation, backoff, the breaker,
/// and the restarts a worker's strategy couples to it.
extension Supervision {
    mutating func died(
        _ id: InstanceID, process: RunningProcess?, cause: StopCause?, facts: DeathFacts,
        _ now: Instant, _ actions: inout [SupervisorAction]
    ) {
        guard let before = instances[id], let spec = specs[id.worker] else { return }
        let firstAction = actions.count
        let classification = Classifier.classify(facts, cause: cause, stopSignal: spec.stop.signal, rules: spec.rules)
        let fingerprint = CrashFingerprint.compute(facts)
        var deathClass = classification.deathClass
        var note: String?
        var originalClass: DeathClass?

        var i = before
        i.pendingStop = nil
        i.statusText = nil   // said by the process that is gone (a new pid must not show it)
        if let process, now.duration(since: process.startedAt) >= spec.backoff.resetAfter {
            // It ran long enough to count as stable before this death: start the sequence over.
            i.attempt = 0
            i.sameCrash = nil
            _ = i.breaker.stableRun()
        }
        if deathClass == .crash {
            let count = i.sameCrash?.fingerprint == fingerprint ? (i.sameCrash?.count ?? 0) + 1 : 1
            i.sameCrash = (fingerprint, count)
            // Only a death policy acts on is escalated: a crash on the way out of a stop we asked
            // for is restarted (or left stopped) as asked, so "persistent, not restarted" would lie.
            if spec.crashLoop.sameCrash > 0 && count >= spec.crashLoop.sameCrash && cause?.isRequested != true {
                originalClass = deathClass
                deathClass = .persistent
                note = "the same crash (fingerprint \(fingerprint)) \(count) times in a row with no stable run between: a deterministic bug, so it is treated as persistent and not restarted"
            }
        } else if cause?.isRequested != true {
            i.sameCrash = nil   // any other failure breaks the streak
        }
        if !(cause?.isRequested == true && deathClass == .clean) {
            i.lastClass = deathClass
        }

        enum Next { case rest, restart, fail, quarantine }
        let next: Next
        if cause?.isRequested == true || !i.wanted || shuttingDown {
            next = i.wanted && !shuttingDown && !i.removed ? .restart : .rest
        } else {
            switch deathClass {
            case .clean: next = spec.restart == .always ? .restart : .rest
            case .persistent: next = .fail
            case .corruption: next = .quarantine
            case .crash, .hang, .limit, .transient: next = spec.restart == .never ? .fail : .restart
            }
        }
        store(i)

        var action: String
        var followUps: [SupervisorEvent] = []
        let requestedRestart = cause?.isRequested == true && next == .restart
        switch next {
        case .rest:
            update(id) {
                $0.phase = .stopped
                if deathClass == .clean && (cause == nil || cause == .selfStop) { $0.wanted = false }
            }
            if cause == .selfStop {
                action = "none: it stopped by itself (STOPPING=1) and restart is \(spec.restart.rawValue)"
            } else if cause?.isRequested == true {
                action = "none: stopped as asked"
            } else if shuttingDown {
                action = "none: bulkhead is shutting down"
            } else if !i.wanted {
                action = "none: stopped as asked"
            } else {
                action = "none: restart is \(spec.restart.rawValue)"
            }
        case .fail:
            update(id) { $0.phase = .failed }
            action = "failed: not restarted until `bulkhead reset \(id)`"
            followUps.append(SupervisorEvent(
                .failed, id, pid: process?.pid, priority: 2,
                message: "failed (\(deathClass.rawValue)): not restarted until `bulkhead reset \(id)`"
            ))
        case .quarantine:
            update(id) { $0.phase = .quarantined }
            let dependents = graph.transitiveDependents(of: id.worker).sorted()
            action = "quarantined: not restarted until `bulkhead reset \(id)`"
                + (dependents.isEmpty ? "" : "; dependents stopped: \(dependents.joined(separator: ", "))")
            followUps.append(SupervisorEvent(
                .quarantined, id, pid: process?.pid, priority: 1,
                message: "quarantined (corruption): artefacts kept, dependents stopped, not restarted until `bulkhead reset \(id)`"
            ))
            for worker in dependents { stopForDependency(worker) }
        case .restart where requestedRestart:
            update(id) { $0.phase = .waiting }
            action = "start again (\(cause?.rawValue ?? "requested"))"
        case .restart:
            action = scheduleRestart(id, spec: spec, now, &followUps)
            cascadeRestart(from: id.worker, now, &actions)
        }

        let record = DeathRecord(
            instance: id, pid: process?.pid, startedAt: process?.startedAt, endedAt: now, facts: facts,
            classification: Classification(deathClass, rule: classification.rule), fingerprint: fingerprint,
            restarts: instances[id]?.restarts ?? 0, action: action, note: note, originalClass: originalClass
        )
        // The record (and its exit event) goes first: the follow-ups refer to it.
        actions.insert(.record(record), at: firstAction)
        actions.append(contentsOf: followUps.map { .emit($0) })
        if !(instances[id]?.wanted ?? false) || instances[id]?.removed == true {
            if case .stopped? = instances[id]?.phase { settleDown(id, &actions) }
        }
    }

    /// Backoff or breaker; returns the report's `action` text.
    mutating func scheduleRestart(_ id: InstanceID, spec: WorkerSpec, _ now: Instant, _ events: inout [SupervisorEvent]) -> String {
        guard var i = instances[id] else { return "none" }
        switch i.breaker.restartRequested(at: now, policy: spec.crashLoop) {
        case .open(let until):
            i.phase = .open(until: until)
            store(i)
            events.append(SupervisorEvent(
                .breakerOpen, id, priority: 2,
                message: "crash loop: more than \(spec.crashLoop.maxRestarts) restarts in \(Units.format(spec.crashLoop.window)); breaker open for \(Units.format(spec.crashLoop.cooldown)), then one half-open try"
            ))
            return "breaker open: one half-open try in \(Units.format(spec.crashLoop.cooldown))"
        case .restart:
            let delay = RestartBackoff.delay(attempt: i.attempt, policy: spec.backoff, jitterSample: jitterSample())
            i.attempt += 1
            i.restarts += 1
            if delay <= .zero {
                i.phase = .waiting
                store(i)
                events.append(SupervisorEvent(.restart, id, message: "restart #\(i.restarts) now"))
                return "restart now"
            }
            i.phase = .backoff(until: now + delay)
            store(i)
            events.append(SupervisorEvent(
                .backoff, id, priority: 5,
                message: "restart #\(i.restarts) in \(Units.format(delay)) (backoff attempt \(i.attempt))",
                fields: [.init("BACKOFF_MS", "\(delay.milliseconds)")]
            ))
            return "restart in \(Units.format(delay))"
        }
    }

    /// The strategies of the workers around `worker` decide who restarts with it.
    mutating func cascadeRestart(from worker: String, _ now: Instant, _ actions: inout [SupervisorAction]) {
        let strategies = specs.mapValues(\.strategy)
        let group = graph.restartGroup(of: worker, strategies: strategies)
        for other in group.sorted() {
            stopForDependency(other)
        }
        // A one_for_all worker pulled its own dependency into the restart: its other instances
        // depend on that too, so (unless one_for_one) they restart after it like any dependent.
        if (strategies[worker] ?? .oneForOne) != .oneForOne,
           (graph.dependencies[worker] ?? []).contains(where: group.contains) {
            stopForDependency(worker)
        }
    }

    /// Instances of `worker` that are alive stop and wait for their dependencies again.
    mutating func stopForDependency(_ worker: String) {
        for id in order where id.worker == worker {
            guard let i = instances[id] else { continue }
            switch i.phase {
            case .spawning, .starting, .running:
                if i.wanted && i.pendingStop == nil { update(id) { $0.pendingStop = .dependency } }
            default:
                break
            }
        }
    }
}
