/// The supervisor's whole policy: every instance's lifecycle, dependency order, restart
/// strategies, backoff and the crash-loop breaker. A value type fed events with the time they
/// happened; each call returns the actions the mechanism must perform, in order. It never reads
/// a clock, never sleeps and never touches the system.
public struct Supervision: Sendable {
    public internal(set) var config: SupervisorConfig
    /// Specs of every worker that still has instances (removed workers linger until stopped).
    var specs: [String: WorkerSpec]
    var graph: DependencyGraph
    /// Instances in config order.
    var order: [InstanceID]
    var instances: [InstanceID: Instance]
    var random: SplitMix64
    public internal(set) var shuttingDown = false
    /// Instances `advance` must look at; everything else cannot change by itself.
    var attention = Set<InstanceID>()
    /// Instances whose phase has a deadline (`Phase.deadline`), kept by `store`: `tick` and
    /// `nextDeadline` look at these, not at every instance on every loop turn.
    var timed = Set<InstanceID>()
    /// Position of each instance in `order`.
    var orderIndex: [InstanceID: Int] = [:]
    /// Instances written since the mechanism last asked (`takeChanges`), and whether `order`
    /// changed (a reload added or removed instances): a status view keeps what it derives from
    /// an instance until that instance is here.
    var changed = Set<InstanceID>()
    var orderChanged = true
    /// Instances written (or gone) since the daemon last brought its state file up to date
    /// (`takeRecordChanges`): a second reader of the same writes as `changed`.
    var recordChanges = Set<InstanceID>()
    /// Instances taken from records (`restore`, `resume`): `startAll` leaves them as they are.
    var restored = Set<InstanceID>()

    struct Instance: Sendable {
        var id: InstanceID
        /// The operator (or config) wants it up.
        var wanted: Bool
        var phase: Phase = .waiting
        /// A stop to begin as soon as ordering allows.
        var pendingStop: StopCause?
        /// Left the configuration: forget it once stopped.
        var removed = false
        var restarts = 0
        var attempt = 0
        var breaker = CrashLoopBreaker()
        var sameCrash: (fingerprint: String, count: Int)?
        var lastClass: DeathClass?
        var statusText: String?

        init(id: InstanceID, wanted: Bool) {
            self.id = id
            self.wanted = wanted
        }

        /// `restarts` counts a restart from the moment it is scheduled (a backoff), so one that
        /// a stop cancels before it happens is taken back: the count is of restarts performed
        /// or still to come.
        mutating func cancelScheduledRestart() {
            if case .backoff = phase, restarts > 0 { restarts -= 1 }
        }
    }

    /// - Parameter seed: seeds the jitter generator (tests pass a fixed one).
    public init(config: SupervisorConfig, seed: UInt64) {
        self.config = config
        self.specs = Dictionary(config.workers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.graph = DependencyGraph(config.workers)
        self.order = []
        self.instances = [:]
        self.random = SplitMix64(seed: seed)
        for spec in config.workers {
            for id in spec.instanceIDs() {
                order.append(id)
                instances[id] = Instance(id: id, wanted: false)
                instances[id]?.phase = .stopped
            }
        }
        reindexOrder()
    }

    // MARK: - Reading

    public func spec(for id: InstanceID) -> WorkerSpec? {
        specs[id.worker]
    }

    public var instanceIDs: [InstanceID] { order }

    /// Every instance, in config order (built per call: status keeps its own rows, see
    /// `takeChanges`).
    public func snapshot() -> [InstanceSnapshot] {
        order.compactMap { instances[$0].map(snapshot) }
    }

    public func snapshot(of id: InstanceID) -> InstanceSnapshot? {
        instances[id].map(snapshot)
    }

    /// What changed since the last call: the instances written, and whether the order did.
    public mutating func takeChanges() -> (instances: Set<InstanceID>, orderChanged: Bool) {
        defer {
            changed = []
            orderChanged = false
        }
        return (changed, orderChanged)
    }

    func snapshot(_ i: Instance) -> InstanceSnapshot {
        var next: Instant?
        switch i.phase {
        case .backoff(let until), .open(let until): next = until
        case .stopped, .waiting, .spawning, .starting, .running, .stopping, .failed, .quarantined: next = nil
        }
        return InstanceSnapshot(
            id: i.id, state: i.phase.state, pid: i.phase.process?.pid, startedAt: i.phase.process?.startedAt,
            restarts: i.restarts, lastClass: i.lastClass, statusText: i.statusText, nextAttemptAt: next, wanted: i.wanted
        )
    }

    /// No process of any instance is alive.
    public var isQuiescent: Bool {
        !instances.values.contains { $0.phase.isAlive }
    }

    /// The earliest instant at which `tick` has something to do.
    public func nextDeadline() -> Instant? {
        var earliest: Instant?
        for id in timed {
            guard let t = instances[id]?.phase.deadline else { continue }
            if earliest.map({ t < $0 }) ?? true { earliest = t }
        }
        return earliest
    }

    /// Every instance of `worker` is running (ready) and not about to stop: its dependents may
    /// start. A pending stop counts as not ready, or the dependent's spawn would depend on
    /// whether it comes before or after its dependency in the file.
    func isReady(_ worker: String) -> Bool {
        guard let spec = specs[worker], config.worker(named: worker) != nil else { return false }
        for index in 0..<spec.instances {
            guard let i = instances[InstanceID(worker: worker, index: index)], case .running = i.phase,
                  i.pendingStop == nil else { return false }
        }
        return true
    }

    func dependenciesReady(_ spec: WorkerSpec) -> Bool {
        spec.dependsOn.allSatisfy(isReady)
    }

    /// The dependencies an instance of `spec` still waits for, for status text.
    func unreadyDependencies(_ spec: WorkerSpec) -> [String] {
        spec.dependsOn.filter { !isReady($0) }
    }

    /// An instance of a worker that depends on `worker` is alive and is itself on its way down:
    /// stopping goes in reverse dependency order, so `worker` waits for it.
    func hasDependentsGoingDown(_ worker: String) -> Bool {
        for dependent in graph.dependents[worker] ?? [] {
            guard let spec = specs[dependent] else { continue }
            for index in 0..<spec.instances {
                if let i = instances[InstanceID(worker: dependent, index: index)],
                   i.phase.isAlive, !i.wanted || i.pendingStop != nil || isStopping(i) {
                    return true
                }
            }
        }
        return false
    }

    func isStopping(_ i: Instance) -> Bool {
        if case .stopping = i.phase { return true }
        return false
    }

    mutating func update(_ id: InstanceID, _ body: (inout Instance) -> Void) {
        guard var i = instances[id] else { return }
        body(&i)
        store(i)
    }

    /// `order` changed: positions are recomputed.
    mutating func reindexOrder() {
        orderIndex = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        orderChanged = true
    }

    /// Every write of an instance goes through here, so `attention` always holds the instances
    /// `advance` may have to act on (waiting to start, or with a stop pending), `timed` the ones
    /// with a deadline, and `changed` the ones a status view must look at again.
    mutating func store(_ i: Instance) {
        instances[i.id] = i
        changed.insert(i.id)
        recordChanges.insert(i.id)
        if i.pendingStop != nil || i.phase == .waiting { attention.insert(i.id) }
        if i.phase.deadline != nil { timed.insert(i.id) } else { timed.remove(i.id) }
    }

    // MARK: - Moving things along

    /// Starts what may start and begins the stops that ordering now allows. Called after every
    /// event; cheap (a pass over the table) and idempotent.
    mutating func advance(_ now: Instant, _ actions: inout [SupervisorAction]) {
        guard !attention.isEmpty else { return }
        // In config order, so starts and stops keep the order people wrote.
        let candidates = attention.sorted { (orderIndex[$0] ?? .max) < (orderIndex[$1] ?? .max) }
        for id in candidates {
            guard let i = instances[id], let spec = specs[id.worker] else {
                attention.remove(id)
                continue
            }
            if i.pendingStop == nil && i.phase != .waiting {
                attention.remove(id)
                continue
            }
            if let cause = i.pendingStop {
                switch i.phase {
                case .starting, .running:
                    let waitsForDependents = cause == .operatorStop || cause == .shutdown || cause == .removal
                    if waitsForDependents && hasDependentsGoingDown(id.worker) { continue }
                    beginStop(id, cause: cause, spec: spec, now, &actions)
                case .spawning, .stopping:
                    continue
                case .stopped, .waiting, .backoff, .open, .failed, .quarantined:
                    update(id) { $0.pendingStop = nil }
                    if !i.wanted { settleDown(id, &actions) }
                    continue
                }
                continue
            }
            if i.wanted, !shuttingDown, case .waiting = i.phase, dependenciesReady(spec) {
                update(id) { $0.phase = .spawning }
                actions.append(.spawn(id))
            }
        }
    }

    /// An instance that is not alive and not wanted comes to rest (or leaves, if removed).
    mutating func settleDown(_ id: InstanceID, _ actions: inout [SupervisorAction]) {
        guard let i = instances[id] else { return }
        if i.removed {
            instances[id] = nil
            recordChanges.insert(id)
            attention.remove(id)
            timed.remove(id)
            order.removeAll { $0 == id }
            reindexOrder()
            if !order.contains(where: { $0.worker == id.worker }) && config.worker(named: id.worker) == nil {
                specs[id.worker] = nil
                rebuildGraph()
            }
            actions.append(.forget(id))
            return
        }
        switch i.phase {
        case .waiting, .backoff, .open:
            update(id) {
                $0.cancelScheduledRestart()
                $0.phase = .stopped
            }
        case .stopped, .spawning, .starting, .running, .stopping, .failed, .quarantined:
            break
        }
    }

    mutating func beginStop(_ id: InstanceID, cause: StopCause, spec: WorkerSpec, _ now: Instant, _ actions: inout [SupervisorAction]) {
        guard let i = instances[id], let process = i.phase.process else { return }
        update(id) {
            $0.pendingStop = nil
            $0.phase = .stopping(process, cause: cause, killAt: now + spec.stop.timeout)
        }
        actions.append(.signal(id, pid: process.pid, signal: spec.stop.signal, scope: .group))
        actions.append(.emit(SupervisorEvent(
            .stop, id, pid: process.pid,
            message: "stopping (\(cause.rawValue)): SIG\(Signals.name(spec.stop.signal)), SIGKILL after \(Units.format(spec.stop.timeout))"
        )))
    }

    /// A uniform jitter sample in [-1, 1].
    mutating func jitterSample() -> Double {
        random.signedUnit()
    }
}
