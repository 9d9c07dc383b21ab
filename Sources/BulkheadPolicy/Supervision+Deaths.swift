/// What happens after a death: classification, the same-crash escalation, backoff, the breaker,
/// and the restarts a worker's strategy couples to it.
extension Supervision {
    /// A death, in four steps a reader can follow: the verdict (class, and the same-crash
    /// escalation), what comes next (rest, restart, fail, quarantine), doing it (with its words
    /// and follow-up events), and the record the crash report and `exit` event are made from.
    mutating func died(
        _ id: InstanceID, process: RunningProcess?, cause: StopCause?, facts: DeathFacts,
        _ now: Instant, _ actions: inout [SupervisorAction]
    ) {
        guard let before = instances[id], let spec = specs[id.worker] else { return }
        let firstAction = actions.count
        var i = before
        i.pendingStop = nil
        i.statusText = nil   // said by the process that is gone (a new pid must not show it)
        if let process, now.duration(since: process.startedAt) >= spec.backoff.resetAfter {
            // It ran long enough to count as stable before this death: start the sequence over.
            i.attempt = 0
            i.sameCrash = nil
            _ = i.breaker.stableRun()
        }
        let verdict = judge(facts, cause: cause, spec: spec, &i)
        if !(cause?.isRequested == true && verdict.deathClass == .clean) {
            i.lastClass = verdict.deathClass
        }
        let next = nextStep(after: verdict.deathClass, cause: cause, i, spec)
        store(i)

        var followUps: [SupervisorEvent] = []
        let action = take(next, id, verdict.deathClass, cause: cause, wasWanted: i.wanted, process: process, spec: spec,
                          now, &actions, &followUps)
        let record = DeathRecord(
            instance: id, pid: process?.pid, startedAt: process?.startedAt, endedAt: now, facts: facts,
            classification: Classification(verdict.deathClass, rule: verdict.rule), fingerprint: verdict.fingerprint,
            restarts: instances[id]?.restarts ?? 0, action: action, note: verdict.note, originalClass: verdict.originalClass
        )
        // The record (and its exit event) goes first: the follow-ups refer to it.
        actions.insert(.record(record), at: firstAction)
        actions.append(contentsOf: followUps.map { .emit($0) })
        if !(instances[id]?.wanted ?? false) || instances[id]?.removed == true {
            if case .stopped? = instances[id]?.phase { settleDown(id, &actions) }
        }
    }

    /// The class of a death, and its escalation: the same crash fingerprint `same_crash` times
    /// in a row with no stable run between is a deterministic bug, so `persistent`.
    struct Verdict {
        var deathClass: DeathClass
        var rule: String
        var fingerprint: String
        var note: String?
        var originalClass: DeathClass?
    }

    func judge(_ facts: DeathFacts, cause: StopCause?, spec: WorkerSpec, _ i: inout Instance) -> Verdict {
        let classification = Classifier.classify(facts, cause: cause, stopSignal: spec.stop.signal, rules: spec.rules)
        var verdict = Verdict(deathClass: classification.deathClass, rule: classification.rule,
                              fingerprint: CrashFingerprint.compute(facts))
        guard verdict.deathClass == .crash else {
            if cause?.isRequested != true { i.sameCrash = nil }   // any other failure breaks the streak
            return verdict
        }
        let count = i.sameCrash?.fingerprint == verdict.fingerprint ? (i.sameCrash?.count ?? 0) + 1 : 1
        i.sameCrash = (verdict.fingerprint, count)
        // Only a death policy acts on is escalated: a crash on the way out of a stop we asked
        // for is restarted (or left stopped) as asked, so "persistent, not restarted" would lie.
        if spec.crashLoop.sameCrash > 0 && count >= spec.crashLoop.sameCrash && cause?.isRequested != true {
            verdict.originalClass = verdict.deathClass
            verdict.deathClass = .persistent
            verdict.note = "the same crash (fingerprint \(verdict.fingerprint)) \(count) times in a row with no stable run between: a deterministic bug, so it is treated as persistent and not restarted"
        }
        return verdict
    }

    enum NextStep { case rest, restart, fail, quarantine }

    /// What a death of this class leads to, for this instance now.
    func nextStep(after deathClass: DeathClass, cause: StopCause?, _ i: Instance, _ spec: WorkerSpec) -> NextStep {
        if cause?.isRequested == true || !i.wanted || shuttingDown {
            return i.wanted && !shuttingDown && !i.removed ? .restart : .rest
        }
        switch deathClass {
        case .clean: return spec.restart == .always ? .restart : .rest
        case .persistent: return .fail
        case .corruption: return .quarantine
        case .crash, .hang, .limit, .transient: return spec.restart == .never ? .fail : .restart
        }
    }

    /// Does `next`; returns the report's `action` words and adds the events that follow.
    mutating func take(
        _ next: NextStep, _ id: InstanceID, _ deathClass: DeathClass, cause: StopCause?, wasWanted: Bool,
        process: RunningProcess?, spec: WorkerSpec, _ now: Instant, _ actions: inout [SupervisorAction],
        _ followUps: inout [SupervisorEvent]
    ) -> String {
        switch next {
        case .rest:
            update(id) {
                $0.phase = .stopped
                if deathClass == .clean && (cause == nil || cause == .selfStop) { $0.wanted = false }
            }
            if cause == .selfStop { return "none: it stopped by itself (STOPPING=1) and restart is \(spec.restart.rawValue)" }
            if cause?.isRequested == true { return "none: stopped as asked" }
            if shuttingDown { return "none: bulkhead is shutting down" }
            if !wasWanted { return "none: stopped as asked" }
            return "none: restart is \(spec.restart.rawValue)"
        case .fail:
            update(id) { $0.phase = .failed }
            followUps.append(SupervisorEvent(
                .failed, id, pid: process?.pid, priority: 2,
                message: "failed (\(deathClass.rawValue)): not restarted until `bulkhead reset \(id)`"
            ))
            return "failed: not restarted until `bulkhead reset \(id)`"
        case .quarantine:
            update(id) { $0.phase = .quarantined }
            let dependents = graph.transitiveDependents(of: id.worker).sorted()
            followUps.append(SupervisorEvent(
                .quarantined, id, pid: process?.pid, priority: 1,
                message: "quarantined (corruption): artefacts kept, dependents stopped, not restarted until `bulkhead reset \(id)`"
            ))
            for worker in dependents { stopForDependency(worker) }
            return "quarantined: not restarted until `bulkhead reset \(id)`"
                + (dependents.isEmpty ? "" : "; dependents stopped: \(dependents.joined(separator: ", "))")
        case .restart where cause?.isRequested == true:
            update(id) { $0.phase = .waiting }
            return "start again (\(cause?.rawValue ?? "requested"))"
        case .restart:
            let action = scheduleRestart(id, spec: spec, now, &followUps)
            cascadeRestart(from: id.worker, now, &actions)
            return action
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
    /// Work proportional to the workers the plan names and their instances, never to the table.
    mutating func cascadeRestart(from worker: String, _ now: Instant, _ actions: inout [SupervisorAction]) {
        let plan = restartPlan(for: worker)
        for other in plan.others {
            stopForDependency(other)
        }
        if plan.includesItself {
            stopForDependency(worker)
        }
    }

    /// Who restarts with `worker`, worked out once per config (see `restartPlans`).
    mutating func restartPlan(for worker: String) -> RestartPlan {
        if let known = restartPlans[worker] { return known }
        let plan = RestartPlan(worker, graph: graph, strategies: specs.mapValues(\.strategy))
        restartPlans[worker] = plan
        return plan
    }

    /// Instances of `worker` that are alive stop and wait for their dependencies again.
    mutating func stopForDependency(_ worker: String) {
        for id in instancesOf[worker] ?? [] {
            visits += 1
            guard let i = instances[id] else { continue }
            switch i.phase {
            case .spawning, .starting, .running:
                if i.wanted && i.pendingStop == nil { update(id) { $0.pendingStop = .dependency } }
            case .stopped, .waiting, .stopping, .backoff, .open, .failed, .quarantined:
                break
            }
        }
    }
}
