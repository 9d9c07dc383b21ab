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
    /// Waiting instances parked until the worker named here is ready (its dependency): `advance`
    /// does not look at them on every event, only once that worker's last instance is ready.
    var blockedOn: [String: Set<InstanceID>] = [:]
    /// Instances whose phase has a deadline (`Phase.deadline`), earliest first, kept by `store`:
    /// `tick` and `nextDeadline` look at the due ones, never at every instance.
    var deadlines = DeadlineQueue()
    /// Counts kept by `store` (readiness per worker, instances going down, alive, per state).
    var tally = InstanceTally()
    /// Each worker's instances, in index order (those leaving the config too, until they go).
    var instancesOf: [String: [InstanceID]] = [:]
    /// Each worker's place in `order`, given when it first had instances: config order is
    /// (rank, index), so sorting needs no per-instance index to rebuild when instances leave.
    var workerRank: [String: Int] = [:]
    var nextWorkerRank = 0
    /// Workers in the current config (`config.worker(named:)` is a walk over them).
    var configured: Set<String> = []
    /// Who restarts with a worker (its strategy and its neighbours'), worked out once per
    /// config rather than per death; emptied whenever the graph or a strategy may change.
    var restartPlans: [String: RestartPlan] = [:]
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
    /// Instances looked at or written so far: what an event costs, counted, so a test can check
    /// that a death at 10,000 instances costs what it costs at 100 (ScaleTests).
    var visits = 0

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
        configured = Set(config.workers.map(\.name))
        for spec in config.workers {
            if workerRank[spec.name] == nil {
                workerRank[spec.name] = nextWorkerRank
                nextWorkerRank += 1
            }
            for id in spec.instanceIDs() {
                order.append(id)
                instancesOf[spec.name, default: []].append(id)
                var i = Instance(id: id, wanted: false)
                i.phase = .stopped
                store(i)
            }
        }
        orderChanged = true
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
            restarts: i.restarts, lastClass: i.lastClass, statusText: i.statusText, nextAttemptAt: next, wanted: i.wanted,
            health: i.phase.process?.probeStatus ?? []
        )
    }

    /// No process of any instance is alive.
    public var isQuiescent: Bool {
        tally.alive == 0
    }

    /// The earliest instant at which `tick` has something to do.
    public func nextDeadline() -> Instant? {
        deadlines.earliest
    }

    /// The instances with a deadline (tests check the index against the phases).
    var timed: Set<InstanceID> { deadlines.ids }

    /// How many instances are in each state (STATUS=, the status header).
    public func count(_ state: InstanceState) -> Int {
        tally.count(state)
    }

    /// Every instance of `worker` is running (ready) and not about to stop: its dependents may
    /// start. A pending stop counts as not ready, or the dependent's spawn would depend on
    /// whether it comes before or after its dependency in the file.
    func isReady(_ worker: String) -> Bool {
        guard let spec = specs[worker], configured.contains(worker) else { return false }
        return tally.readyCount(of: worker) == spec.instances
    }

    /// An instance of a worker that depends on `worker` is alive and is itself on its way down:
    /// stopping goes in reverse dependency order, so `worker` waits for it.
    func hasDependentsGoingDown(_ worker: String) -> Bool {
        (graph.dependents[worker] ?? []).contains { tally.goingDownCount(of: $0) > 0 }
    }

    mutating func update(_ id: InstanceID, _ body: (inout Instance) -> Void) {
        guard var i = instances[id] else { return }
        body(&i)
        store(i)
    }

    /// Config order: the worker's place, then the index (see `workerRank`).
    func rank(_ id: InstanceID) -> (Int, Int) {
        (workerRank[id.worker] ?? .max, id.index)
    }

    func inConfigOrder(_ ids: some Sequence<InstanceID>) -> [InstanceID] {
        ids.sorted { rank($0) < rank($1) }
    }

    /// Every write of an instance goes through here, so `attention` always holds the instances
    /// `advance` may have to act on (waiting to start, or with a stop pending), `deadlines` the
    /// ones with a deadline, `tally` the counts, and `changed` the ones a status view must look
    /// at again.
    mutating func store(_ i: Instance) {
        visits += 1
        let before = instances.updateValue(i, forKey: i.id)
        if let before { tally.remove(before) }
        tally.add(i)
        changed.insert(i.id)
        recordChanges.insert(i.id)
        if i.pendingStop != nil || i.phase == .waiting { attention.insert(i.id) }
        deadlines.set(i.id, i.phase.deadline)
        if InstanceTally.isReady(i) && !(before.map(InstanceTally.isReady) ?? false) {
            wakeDependentsIfReady(i.id.worker)
        }
    }

    /// `worker` may have just become ready: the instances parked waiting for it are looked at again.
    mutating func wakeDependentsIfReady(_ worker: String) {
        guard blockedOn[worker] != nil, isReady(worker), let parked = blockedOn.removeValue(forKey: worker) else { return }
        attention.formUnion(parked)
    }

    /// Every parked instance is looked at again (a reload may have changed what it waits for).
    mutating func wakeAllParked() {
        for (_, parked) in blockedOn { attention.formUnion(parked) }
        blockedOn = [:]
    }

    /// An instance leaves the table for good.
    mutating func drop(_ id: InstanceID) {
        guard let i = instances.removeValue(forKey: id) else { return }
        tally.remove(i)
        attention.remove(id)
        deadlines.remove(id)
        changed.remove(id)
        visits += order.count   // leaving the config is the one walk (reload, not per event)
        order.removeAll { $0 == id }
        instancesOf[id.worker]?.removeAll { $0 == id }
        if instancesOf[id.worker]?.isEmpty == true { instancesOf[id.worker] = nil }
        orderChanged = true
    }

    // MARK: - Moving things along

    /// Starts what may start and begins the stops that ordering now allows. Called after every
    /// event; cheap (a pass over the table) and idempotent.
    mutating func advance(_ now: Instant, _ actions: inout [SupervisorAction]) {
        guard !attention.isEmpty else { return }
        // In config order, so starts and stops keep the order people wrote.
        for id in inConfigOrder(attention) {
            visits += 1
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
            guard i.wanted, !shuttingDown, case .waiting = i.phase else { continue }
            if let unready = spec.dependsOn.first(where: { !isReady($0) }) {
                // Parked until that dependency is ready: not looked at again on every event.
                attention.remove(id)
                blockedOn[unready, default: []].insert(id)
                continue
            }
            update(id) { $0.phase = .spawning }
            actions.append(.spawn(id))
        }
    }

    /// An instance that is not alive and not wanted comes to rest (or leaves, if removed).
    mutating func settleDown(_ id: InstanceID, _ actions: inout [SupervisorAction]) {
        guard let i = instances[id] else { return }
        if i.removed {
            drop(id)
            recordChanges.insert(id)
            if instancesOf[id.worker] == nil && !configured.contains(id.worker) {
                specs[id.worker] = nil
                workerRank[id.worker] = nil
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
