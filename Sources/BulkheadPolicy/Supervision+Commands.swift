/// Operator commands and daemon-level transitions (start everything, shut down).
extension Supervision {
    /// The answer to a command: what to do, and one line per instance for the operator.
    public struct CommandResult: Equatable, Sendable {
        public var actions: [SupervisorAction] = []
        public var lines: [String] = []
        /// Some instance refused (e.g. quarantined): the CLI exits 1.
        public var refused = false
    }

    public enum NameError: Error, Equatable, Sendable {
        case unknownWorker(String)
        case unknownInstance(String)
        case empty
    }

    /// `api`, `api:1` or `all` → instance ids, in config order.
    public func resolve(_ names: [String]) throws(NameError) -> [InstanceID] {
        guard !names.isEmpty else { throw .empty }
        var result: [InstanceID] = []
        for name in names {
            if name == "all" {
                result.append(contentsOf: order)
            } else if let id = InstanceID(parsing: name) {
                guard instances[id] != nil else {
                    if specs[id.worker] == nil { throw .unknownWorker(id.worker) }
                    throw .unknownInstance(name)
                }
                result.append(id)
            } else {
                let matching = instancesOf[name] ?? []
                guard !matching.isEmpty else { throw .unknownWorker(name) }
                result.append(contentsOf: matching)
            }
        }
        var seen = Set<InstanceID>()
        return result.filter { seen.insert($0).inserted }
    }

    /// The daemon starts: every configured instance is wanted up, except those taken from the
    /// state file or a re-exec (`restore`, `resume`), which keep what was decided for them.
    public mutating func startAll(_ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        for id in order where !restored.contains(id) {
            update(id) {
                $0.wanted = true
                if case .stopped = $0.phase { $0.phase = .waiting }
            }
        }
        advance(now, &actions)
        return actions
    }

    public mutating func start(_ ids: [InstanceID], _ now: Instant) -> CommandResult {
        var result = CommandResult()
        for id in ids {
            guard let i = instances[id] else { continue }
            switch i.phase {
            case .stopped, .backoff:
                update(id) {
                    $0.wanted = true
                    $0.pendingStop = nil
                    $0.phase = .waiting
                }
                result.lines.append("\(id): starting")
            case .waiting, .spawning, .starting, .running:
                update(id) {
                    $0.wanted = true
                    $0.pendingStop = nil
                }
                result.lines.append("\(id): already \(i.phase.state.rawValue)")
            case .stopping:
                update(id) {
                    $0.wanted = true
                    $0.pendingStop = nil
                }
                result.lines.append("\(id): stopping; starts again once stopped")
            case .open, .failed, .quarantined:
                result.refused = true
                result.lines.append("\(id): is \(i.phase.state.rawValue); clear it with `bulkhead reset \(id)`")
            }
        }
        advance(now, &result.actions)
        return result
    }

    public mutating func stop(_ ids: [InstanceID], _ now: Instant) -> CommandResult {
        var result = CommandResult()
        for id in ids {
            guard let i = instances[id] else { continue }
            update(id) { $0.wanted = false }
            switch i.phase {
            case .spawning, .starting, .running:
                update(id) { $0.pendingStop = .operatorStop }
                result.lines.append("\(id): stopping")
            case .stopping:
                result.lines.append("\(id): already stopping")
            case .waiting, .backoff, .open:
                update(id) {
                    $0.cancelScheduledRestart()
                    $0.phase = .stopped
                }
                result.lines.append("\(id): stopped")
            case .stopped, .failed, .quarantined:
                result.lines.append("\(id): already \(i.phase.state.rawValue)")
            }
        }
        advance(now, &result.actions)
        return result
    }

    public mutating func restart(_ ids: [InstanceID], _ now: Instant) -> CommandResult {
        var result = CommandResult()
        var restartedWorkers: [String] = []
        for id in ids {
            guard let i = instances[id] else { continue }
            switch i.phase {
            case .spawning, .starting, .running:
                update(id) {
                    $0.wanted = true
                    $0.attempt = 0
                    $0.pendingStop = .operatorRestart
                }
                if !restartedWorkers.contains(id.worker) { restartedWorkers.append(id.worker) }
                result.lines.append("\(id): restarting")
            case .stopping:
                update(id) { $0.wanted = true }
                result.lines.append("\(id): stopping; starts again once stopped")
            case .stopped, .waiting, .backoff:
                update(id) {
                    $0.wanted = true
                    $0.attempt = 0
                    $0.phase = .waiting
                }
                result.lines.append("\(id): starting")
            case .open, .failed, .quarantined:
                result.refused = true
                result.lines.append("\(id): is \(i.phase.state.rawValue); clear it with `bulkhead reset \(id)`")
            }
        }
        for worker in restartedWorkers {
            cascadeRestart(from: worker, now, &result.actions)
        }
        advance(now, &result.actions)
        return result
    }

    /// Clears `failed`, `quarantined` and `open` (and every counter) and starts again.
    public mutating func reset(_ ids: [InstanceID], _ now: Instant) -> CommandResult {
        var result = CommandResult()
        for id in ids {
            guard let i = instances[id] else { continue }
            update(id) {
                $0.wanted = true
                $0.pendingStop = nil
                $0.attempt = 0
                $0.sameCrash = nil
                $0.breaker.reset()
                $0.lastClass = nil
                $0.restarts = 0
            }
            switch i.phase {
            case .failed, .quarantined, .open, .backoff, .stopped:
                update(id) { $0.phase = .waiting }
                result.lines.append("\(id): was \(i.phase.state.rawValue); starting")
            case .waiting, .spawning, .starting, .running, .stopping:
                result.lines.append("\(id): \(i.phase.state.rawValue); counters cleared")
            }
            if case .quarantined = i.phase {
                actions(emit: SupervisorEvent(.recovered, id, priority: 5, message: "quarantine cleared by the operator"), into: &result.actions)
            }
        }
        advance(now, &result.actions)
        return result
    }

    /// SIGTERM/SIGINT to the daemon: everything down, dependents first.
    public mutating func shutdown(_ now: Instant) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        shuttingDown = true
        for id in order {
            guard let i = instances[id] else { continue }
            update(id) { $0.wanted = false }
            if i.phase.isAlive {
                update(id) { $0.pendingStop = .shutdown }
            } else {
                settleDown(id, &actions)
            }
        }
        advance(now, &actions)
        return actions
    }

    func actions(emit event: SupervisorEvent, into actions: inout [SupervisorAction]) {
        actions.append(.emit(event))
    }
}
