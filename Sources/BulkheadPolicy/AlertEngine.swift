/// `alerts:` (SPEC §11): rules over the event stream, each firing once when it begins to hold
/// and clearing once when it stops. Fed events with their time and asked at its deadlines; it
/// keeps only what its rules need (the last `count` matching times of a rate rule, the instances
/// in a watched state). Pure: the daemon publishes the `alert` and `alert-cleared` events.
public struct AlertEngine: Sendable {
    public struct Transition: Equatable, Sendable {
        public var rule: String
        public var firing: Bool
        /// The rule's worker, if it names one.
        public var worker: String?
        /// The instance that made a state rule fire (the first, when several).
        public var instance: InstanceID?
        public var priority: Int
        public var message: String
    }

    private struct RuleState: Sendable {
        var rule: AlertRule
        var firing = false
        /// Rate rules: times of the last `count` matching events, oldest first.
        var times: [Instant] = []
    }

    private var rules: [RuleState]
    /// Instances in each watched state, since when.
    private var inState: [AlertState: [InstanceID: Instant]] = [:]

    public init(rules: [AlertRule]) {
        self.rules = rules.map { RuleState(rule: $0) }
    }

    public var firing: [String] { rules.filter(\.firing).map(\.rule.name) }
    public var ruleNames: [String] { rules.map(\.rule.name) }

    /// One event. `deathClass`: an `exit` event's class; `command`: a `command` event's command.
    public mutating func observe(_ kind: EventKind, instance: InstanceID?, deathClass: DeathClass?, command: String?,
                                 _ now: Instant) -> [Transition] {
        if let instance { track(kind, instance, command: command, now) }
        // Alerts count what happened to workers, not what alerts said (no rule feeds on itself).
        if kind != .alert && kind != .alertCleared {
            for index in rules.indices {
                guard case .rate(let selector, let worker, let count, _) = rules[index].rule.condition,
                      selector.matches(kind, deathClass: deathClass),
                      worker == nil || worker == instance?.worker else { continue }
                rules[index].times.append(now)
                if rules[index].times.count > count { rules[index].times.removeFirst() }
            }
        }
        return evaluate(now)
    }

    /// Deadlines passed (a rate window moved on, a state lasted its `for`).
    public mutating func tick(_ now: Instant) -> [Transition] {
        evaluate(now)
    }

    /// The instances that exist after a reload: the rest are in no state any more.
    public mutating func retain(instances: Set<InstanceID>, _ now: Instant) -> [Transition] {
        for state in inState.keys {
            inState[state] = inState[state]?.filter { instances.contains($0.key) }
        }
        return evaluate(now)
    }

    /// New rules (a reload): a rule kept with the same name and condition keeps its state; a
    /// firing rule that is gone or changed clears.
    public mutating func reconfigure(_ new: [AlertRule], _ now: Instant) -> [Transition] {
        var transitions: [Transition] = []
        var kept: [RuleState] = []
        for rule in new {
            if let old = rules.first(where: { $0.rule.name == rule.name && $0.rule.condition == rule.condition }) {
                var state = old
                state.rule = rule
                kept.append(state)
            } else {
                kept.append(RuleState(rule: rule))
            }
        }
        for old in rules where old.firing && !kept.contains(where: { $0.rule.name == old.rule.name && $0.firing }) {
            transitions.append(transition(old.rule, firing: false, instance: nil, detail: "the rule was changed or removed by a reload"))
        }
        rules = kept
        return transitions + evaluate(now)
    }

    /// The earliest instant at which a rule may change without a new event.
    public var nextDeadline: Instant? {
        var earliest: Instant?
        func consider(_ instant: Instant) {
            if earliest.map({ instant < $0 }) ?? true { earliest = instant }
        }
        for state in rules {
            switch state.rule.condition {
            case .rate(_, _, let count, let within):
                // Firing: it clears when the oldest of the last `count` leaves the window.
                if state.firing, state.times.count >= count, let oldest = state.times.first { consider(oldest + within) }
            case .state(let watched, let worker, let duration):
                guard !state.firing, duration > .zero else { continue }
                for (id, since) in inState[watched] ?? [:] where worker == nil || worker == id.worker {
                    consider(since + duration)
                }
            }
        }
        return earliest
    }

    // MARK: - States from events

    private mutating func track(_ kind: EventKind, _ id: InstanceID, command: String?, _ now: Instant) {
        func enter(_ state: AlertState) {
            if inState[state]?[id] == nil { inState[state, default: [:]][id] = now }
        }
        func leave(_ state: AlertState) {
            inState[state]?[id] = nil
        }
        switch kind {
        case .failed: enter(.failed)
        case .quarantined: enter(.quarantined)
        case .breakerOpen: enter(.breakerOpen)
        case .spawn:
            // Only `bulkhead reset` (or a reload that replaced it) spawns a failed or
            // quarantined instance again; a half-open try keeps the breaker open.
            leave(.failed)
            leave(.quarantined)
        case .recovered:
            leave(.quarantined)
            leave(.breakerOpen)
        case .command where command == "reset" || command == "stop":
            leave(.breakerOpen)
        case .ready, .exit, .restart, .backoff, .watchdog, .reload, .stop, .startTimeout, .waiting, .notifyRejected,
             .outputDropped, .reportNotSaved, .daemon, .command, .alert, .alertCleared, .hook, .health:
            break
        }
    }

    // MARK: - Rules

    private mutating func evaluate(_ now: Instant) -> [Transition] {
        var transitions: [Transition] = []
        for index in rules.indices {
            let (holds, instance, detail) = holds(rules[index], now)
            guard holds != rules[index].firing else { continue }
            rules[index].firing = holds
            transitions.append(transition(rules[index].rule, firing: holds, instance: instance, detail: detail))
        }
        return transitions
    }

    private func holds(_ state: RuleState, _ now: Instant) -> (Bool, InstanceID?, String) {
        switch state.rule.condition {
        case .rate(let selector, let worker, let count, let within):
            let recent = state.times.filter { now < $0 + within }
            let of = worker.map { " of \($0)" } ?? ""
            let what = "\(count) \(selector) event\(count == 1 ? "" : "s")\(of) within \(Units.format(within))"
            if recent.count >= count { return (true, nil, "\(what) (\(recent.count) in the window)") }
            return (false, nil, "fewer than \(what) now (\(recent.count))")
        case .state(let watched, let worker, let duration):
            let members = (inState[watched] ?? [:])
                .filter { (worker == nil || worker == $0.key.worker) && $0.value + duration <= now }
                .keys.sorted()
            let lasting = duration > .zero ? " for \(Units.format(duration)) or more" : ""
            guard let first = members.first else {
                return (false, nil, "no instance\(worker.map { " of \($0)" } ?? "") is \(watched.rawValue)\(lasting) now")
            }
            let names = members.prefix(5).map(\.description).joined(separator: ", ") + (members.count > 5 ? ", …" : "")
            return (true, first, "\(names) \(members.count == 1 ? "is" : "are") \(watched.rawValue)\(lasting)")
        }
    }

    private func transition(_ rule: AlertRule, firing: Bool, instance: InstanceID?, detail: String) -> Transition {
        let worker: String?
        switch rule.condition {
        case .rate(_, let w, _, _), .state(_, let w, _): worker = w
        }
        let message = firing ? "alert \(rule.name) firing: \(detail)" : "alert \(rule.name) cleared: \(detail)"
        return Transition(rule: rule.name, firing: firing, worker: worker, instance: instance,
                          priority: firing ? rule.priority : 5, message: message)
    }
}
