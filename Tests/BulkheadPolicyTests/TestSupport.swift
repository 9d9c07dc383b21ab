@testable import BulkheadPolicy

// Shared helpers for the pure tier: time is an argument (`at(.seconds(5))`), jitter comes from
// a seeded generator, and actions are projected onto `Step`s so a test can state an exact
// sequence without depending on the wording of log messages.

/// The instant `offset` after the (arbitrary) start of the test's clock.
func at(_ offset: Duration) -> Instant {
    .zero + offset
}

/// `api:1` → InstanceID; traps on a typo in a test.
func iid(_ text: String) -> InstanceID {
    guard let id = InstanceID(parsing: text) else { fatalError("bad instance id in test: \(text)") }
    return id
}

/// An action with the parts a test asserts on.
enum Step: Equatable, CustomStringConvertible {
    case spawn(String)
    case signal(String, pid: Int32, signal: Int32, scope: SignalScope)
    case record(String, DeathClass)
    case emit(EventKind, String?)
    case forget(String)
    case probe(String, ProbeRole)

    init(_ action: SupervisorAction) {
        switch action {
        case .spawn(let id): self = .spawn(id.description)
        case .signal(let id, let pid, let signal, let scope): self = .signal(id.description, pid: pid, signal: signal, scope: scope)
        case .record(let record): self = .record(record.instance.description, record.classification.deathClass)
        case .emit(let event): self = .emit(event.kind, event.instance?.description)
        case .forget(let id): self = .forget(id.description)
        case .probe(let id, _, let role, _, _): self = .probe(id.description, role)
        }
    }

    var description: String {
        switch self {
        case .spawn(let id): return "spawn \(id)"
        case .signal(let id, let pid, let signal, let scope): return "signal \(id) pid \(pid) SIG\(Signals.name(signal)) \(scope)"
        case .record(let id, let c): return "record \(id) \(c)"
        case .emit(let kind, let id): return "emit \(kind.rawValue) \(id ?? "-")"
        case .forget(let id): return "forget \(id)"
        case .probe(let id, let role): return "probe \(id) \(role.rawValue)"
        }
    }
}

func steps(_ actions: [SupervisorAction]) -> [Step] {
    actions.map(Step.init)
}

/// The process-touching steps only (spawn, signal, forget): what a worker would notice.
func processSteps(_ actions: [SupervisorAction]) -> [Step] {
    steps(actions).filter {
        switch $0 {
        case .spawn, .signal, .forget: return true
        case .record, .emit, .probe: return false
        }
    }
}

func records(_ actions: [SupervisorAction]) -> [DeathRecord] {
    actions.compactMap { if case .record(let r) = $0 { return r } else { return nil } }
}

func events(_ actions: [SupervisorAction]) -> [SupervisorEvent] {
    actions.compactMap { if case .emit(let e) = $0 { return e } else { return nil } }
}

func spawnedIDs(_ actions: [SupervisorAction]) -> [String] {
    actions.compactMap { if case .spawn(let id) = $0 { return id.description } else { return nil } }
}

func worker(
    _ name: String, instances: Int = 1, ready: ReadyMode = .spawn, startTimeout: Duration = .seconds(60),
    watchdog: Duration? = nil, watchdogGrace: Duration = .seconds(2), dependsOn: [String] = [],
    strategy: RestartStrategy = .oneForOne, rules: [ClassificationRule] = [], restart: RestartMode = .onFailure,
    backoff: BackoffPolicy = BackoffPolicy(initial: .milliseconds(100), max: .seconds(30), multiplier: 2, jitter: 0, resetAfter: .seconds(60)),
    crashLoop: CrashLoopPolicy = CrashLoopPolicy(maxRestarts: 10, window: .seconds(60), cooldown: .seconds(300), sameCrash: 3),
    stop: StopPolicy = StopPolicy(signal: Signals.terminate, timeout: .seconds(10)),
    command: [String]? = nil
) -> WorkerSpec {
    WorkerSpec(
        name: name, command: command ?? ["/usr/bin/\(name)"], instances: instances, ready: ready, startTimeout: startTimeout,
        watchdog: watchdog, watchdogGrace: watchdogGrace, dependsOn: dependsOn, strategy: strategy, rules: rules,
        restart: restart, backoff: backoff, crashLoop: crashLoop, stop: stop
    )
}

extension DeathFacts {
    static func exit(_ code: Int32) -> DeathFacts { DeathFacts(termination: .exited(code: code)) }
    static func signal(_ signal: Int32, core: Bool = false) -> DeathFacts {
        DeathFacts(termination: .signaled(signal: signal, coreDumped: core))
    }
    /// A Swift trap with a fatal message (the fingerprint follows the message).
    static func trap(_ message: String, at location: String = "Worker.swift:42") -> DeathFacts {
        DeathFacts(termination: .signaled(signal: 4, coreDumped: true), fatalMessage: message, sourceLocation: location)
    }
}

/// A `Supervision` plus the bookkeeping a mechanism would do: pids for spawned instances.
struct Harness {
    var sup: Supervision
    var pids: [InstanceID: Int32] = [:]
    var nextPid: Int32 = 100

    init(_ workers: [WorkerSpec], seed: UInt64 = 42) {
        sup = Supervision(config: SupervisorConfig(workers: workers), seed: seed)
    }

    func state(_ id: String) -> InstanceState? {
        sup.snapshot(of: iid(id))?.state
    }

    func states() -> [String: InstanceState] {
        Dictionary(uniqueKeysWithValues: sup.snapshot().map { ($0.id.description, $0.state) })
    }

    func pid(_ id: String) -> Int32 {
        pids[iid(id)] ?? -1
    }

    mutating func startAll(_ t: Duration = .zero) -> [SupervisorAction] {
        sup.startAll(at(t))
    }

    /// The mechanism reports the spawn of `id` with a fresh pid.
    @discardableResult
    mutating func spawned(_ id: String, _ t: Duration) -> [SupervisorAction] {
        nextPid += 1
        pids[iid(id)] = nextPid
        return sup.spawned(iid(id), pid: nextPid, at(t))
    }

    /// The mechanism reports every spawn in `actions` (and the spawns those cause), in order.
    @discardableResult
    mutating func spawnAll(_ actions: [SupervisorAction], _ t: Duration) -> [SupervisorAction] {
        var all: [SupervisorAction] = []
        var queue = spawnedIDs(actions)
        while !queue.isEmpty {
            let next = queue.removeFirst()
            let more = spawned(next, t)
            all += more
            queue += spawnedIDs(more)
        }
        return all
    }

    /// The main process of `id` was reaped.
    mutating func died(_ id: String, _ facts: DeathFacts, _ t: Duration) -> [SupervisorAction] {
        sup.exited(iid(id), pid: pid(id), facts: facts, at(t))
    }

    mutating func tick(_ t: Duration) -> [SupervisorAction] {
        sup.tick(at(t))
    }

    mutating func notify(_ id: String, _ n: Supervision.Notification, _ t: Duration) -> [SupervisorAction] {
        sup.notified(iid(id), n, at(t))
    }

    /// startAll, then answer every spawn: everything is up.
    mutating func bringUp(_ t: Duration = .zero) {
        spawnAll(startAll(t), t)
    }
}
