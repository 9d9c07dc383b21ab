/// `bulkhead reload`: apply a new, already validated config, touching only what changed.
extension Supervision {
    public struct ReloadSummary: Equatable, Sendable {
        public var added: [String] = []
        public var removed: [String] = []
        /// The process identity changed (command, env, user, limits, …): instances restart.
        public var restarted: [String] = []
        /// Only policy changed (backoff, rules, timeouts, …): applied in place, same pids.
        public var updated: [String] = []
        public var scaled: [String] = []
        public var unchanged: [String] = []

        public var description: String {
            var parts: [String] = []
            if !added.isEmpty { parts.append("added \(added.joined(separator: ", "))") }
            if !removed.isEmpty { parts.append("removed \(removed.joined(separator: ", "))") }
            if !restarted.isEmpty { parts.append("restarted \(restarted.joined(separator: ", "))") }
            if !updated.isEmpty { parts.append("updated in place \(updated.joined(separator: ", "))") }
            if !scaled.isEmpty { parts.append("rescaled \(scaled.joined(separator: ", "))") }
            return parts.isEmpty ? "no worker changed" : parts.joined(separator: "; ")
        }
    }

    public mutating func reload(_ new: SupervisorConfig, _ now: Instant) -> (actions: [SupervisorAction], summary: ReloadSummary) {
        var actions: [SupervisorAction] = []
        var summary = ReloadSummary()
        let old = config
        config = new
        configured = Set(new.workers.map(\.name))
        rebuildGraph()

        // By name once: a lookup per worker, not a walk over the old config for each.
        let oldByName = Dictionary(old.workers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for spec in new.workers {
            guard let previous = oldByName[spec.name] else {
                specs[spec.name] = spec
                addInstances(of: spec, from: 0)
                summary.added.append(spec.name)
                continue
            }
            specs[spec.name] = spec
            var changed = false
            if previous.processIdentity != spec.processIdentity {
                summary.restarted.append(spec.name)
                changed = true
                for id in instancesOf[spec.name] ?? [] where id.index < spec.instances {
                    guard let i = instances[id] else { continue }
                    switch i.phase {
                    case .spawning, .starting, .running:
                        if i.wanted { update(id) { $0.pendingStop = .reload } }
                    case .failed:
                        // A changed command is how a failed worker gets fixed: try it again.
                        update(id) {
                            $0.phase = .waiting
                            $0.wanted = true
                            $0.attempt = 0
                            $0.sameCrash = nil
                            $0.breaker.reset()
                        }
                    case .stopped, .waiting, .stopping, .backoff, .open, .quarantined:
                        break
                    }
                }
            }
            if spec.instances != previous.instances {
                summary.scaled.append("\(spec.name) \(previous.instances)→\(spec.instances)")
                changed = true
                if spec.instances > previous.instances {
                    addInstances(of: spec, from: previous.instances)
                } else {
                    for id in instancesOf[spec.name] ?? [] where id.index >= spec.instances {
                        markRemoved(id, &actions)
                    }
                }
            }
            if !changed {
                if previous.hasSameSettings(as: spec) { summary.unchanged.append(spec.name) } else { summary.updated.append(spec.name) }
            }
        }
        for previous in old.workers where !configured.contains(previous.name) {
            summary.removed.append(previous.name)
            for id in instancesOf[previous.name] ?? [] {
                markRemoved(id, &actions)
            }
        }
        actions.append(.emit(SupervisorEvent(.reload, nil, priority: 5, message: "configuration reloaded: \(summary.description)")))
        // Strategies, dependencies and instance counts may have changed: plans are worked out
        // again, and every parked instance looks at its dependencies again.
        restartPlans = [:]
        wakeAllParked()
        advance(now, &actions)
        return (actions, summary)
    }

    mutating func addInstances(of spec: WorkerSpec, from first: Int) {
        var insertAt = (instancesOf[spec.name]?.last).flatMap { last in order.lastIndex(of: last) }.map { $0 + 1 } ?? order.count
        if workerRank[spec.name] == nil {
            workerRank[spec.name] = nextWorkerRank
            nextWorkerRank += 1
        }
        for index in first..<spec.instances {
            let id = InstanceID(worker: spec.name, index: index)
            if let existing = instances[id] {
                // Removed (or scaled away) by an earlier reload and back before it finished
                // stopping: keep it instead of forgetting it once it exits. It still restarts,
                // so the process runs what the new config says.
                if existing.removed {
                    let wanted = !shuttingDown
                    update(id) {
                        $0.removed = false
                        $0.wanted = wanted
                        if $0.pendingStop == .removal { $0.pendingStop = .reload }
                    }
                }
                continue
            }
            var i = Instance(id: id, wanted: !shuttingDown)
            i.phase = shuttingDown ? .stopped : .waiting
            store(i)
            order.insert(id, at: insertAt)
            instancesOf[spec.name, default: []].append(id)
            insertAt += 1
        }
        orderChanged = true
    }

    /// The configured workers plus those that left the config but still have instances on
    /// their way down: keeping their edges makes a removed dependent stop before its removed
    /// dependency, as everywhere else.
    mutating func rebuildGraph() {
        let leaving = specs.values.filter { !configured.contains($0.name) }.sorted { $0.name < $1.name }
        graph = DependencyGraph(config.workers + leaving)
        restartPlans = [:]
    }

    mutating func markRemoved(_ id: InstanceID, _ actions: inout [SupervisorAction]) {
        guard let i = instances[id] else { return }
        update(id) {
            $0.removed = true
            $0.wanted = false
        }
        if i.phase.isAlive {
            update(id) { $0.pendingStop = .removal }
        } else {
            settleDown(id, &actions)
        }
    }
}
