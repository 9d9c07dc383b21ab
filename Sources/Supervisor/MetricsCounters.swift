import BulkheadPolicy

/// A cumulative histogram over fixed buckets (Prometheus `le` semantics), in nanoseconds.
struct LatencyHistogram: Equatable, Sendable {
    /// Upper bounds in nanoseconds, with the `le` label each is written as.
    let bounds: [(nanoseconds: Int64, label: String)]
    /// Per bucket (not cumulative); the last is +Inf.
    private(set) var counts: [UInt64]
    private(set) var count: UInt64 = 0
    private(set) var sumNanoseconds: Int64 = 0

    init(_ bounds: [(nanoseconds: Int64, label: String)]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    mutating func observe(nanoseconds value: Int64) {
        let index = bounds.firstIndex { value <= $0.nanoseconds } ?? bounds.count
        counts[index] += 1
        count += 1
        sumNanoseconds &+= max(value, 0)
    }

    /// Counts and sum as another image kept them (`restore(_:)`, same bounds).
    mutating func replace(counts: [UInt64], sumNanoseconds: Int64) {
        self.counts = counts
        count = counts.reduce(0, &+)
        self.sumNanoseconds = sumNanoseconds
    }

    static func == (a: LatencyHistogram, b: LatencyHistogram) -> Bool {
        a.counts == b.counts && a.sumNanoseconds == b.sumNanoseconds && a.bounds.map(\.nanoseconds) == b.bounds.map(\.nanoseconds)
    }

    /// Death → noticed: microseconds normally, milliseconds on a loaded machine.
    static let detectBuckets: [(nanoseconds: Int64, label: String)] = [
        (10_000, "1e-05"), (25_000, "2.5e-05"), (50_000, "5e-05"), (100_000, "0.0001"), (250_000, "0.00025"),
        (500_000, "0.0005"), (1_000_000, "0.001"), (2_500_000, "0.0025"), (5_000_000, "0.005"), (10_000_000, "0.01"),
        (25_000_000, "0.025"), (50_000_000, "0.05"), (100_000_000, "0.1"), (1_000_000_000, "1"),
    ]
    /// Death → replacement spawned: a spawn's milliseconds, plus whatever backoff said.
    static let restartBuckets: [(nanoseconds: Int64, label: String)] = [
        (250_000, "0.00025"), (500_000, "0.0005"), (1_000_000, "0.001"), (2_500_000, "0.0025"), (5_000_000, "0.005"),
        (10_000_000, "0.01"), (25_000_000, "0.025"), (50_000_000, "0.05"), (100_000_000, "0.1"), (250_000_000, "0.25"),
        (500_000_000, "0.5"), (1_000_000_000, "1"), (2_500_000_000, "2.5"), (5_000_000_000, "5"), (10_000_000_000, "10"),
        (30_000_000_000, "30"), (60_000_000_000, "60"), (300_000_000_000, "300"),
    ]
}

/// What `/metrics` counts, kept by the loop from the event stream (each event costs a few
/// dictionary updates). A value type: a scrape takes a copy (copy-on-write, so the loop pays
/// for the copy only of what it changes next).
struct MetricsCounters: Sendable {
    struct PerInstance: Sendable {
        var deaths: [DeathClass: UInt64] = [:]
        var restarts: UInt64 = 0
        /// Exit code, or 128 + signal number as a shell says it.
        var lastExitCode: Int64?
        var lastDeathWall: Int64?
    }

    struct HookKey: Hashable, Sendable {
        var hook: String
        var result: String
    }

    /// The results a hook run can have, in the order they are written.
    static let hookResults = ["ok", "failed", "timeout", "error"]

    var instances: [InstanceID: PerInstance] = [:]
    var detectLatency = LatencyHistogram(LatencyHistogram.detectBuckets)
    var restartLatency = LatencyHistogram(LatencyHistogram.restartBuckets)
    var hookRuns: [HookKey: UInt64] = [:]
    var hookSuppressed: [String: UInt64] = [:]
    var events: [EventKind: UInt64] = [:]
    var alertsFiring: Set<String> = []
    /// Instances whose crash-loop breaker is open (from `breaker-open` to `recovered`, a reset or a stop).
    var breakerOpen: Set<InstanceID> = []
    /// Deaths whose replacement is not spawned yet: when (monotonic ns) the process died.
    private var restartPending: [InstanceID: Int64] = [:]

    /// One event from the stream, at `now` (monotonic) and `wall`.
    mutating func count(_ event: SupervisorEvent, extra: [SupervisorEvent.Field], now: Instant, wall: Int64) {
        events[event.kind, default: 0] += 1
        let fields = event.fields + extra
        func field(_ name: String) -> String? { fields.first { $0.name == name }?.value }
        guard let id = event.instance else {
            if event.kind == .alert, let name = field("ALERT") { alertsFiring.insert(name) }
            if event.kind == .alertCleared, let name = field("ALERT") { alertsFiring.remove(name) }
            return
        }
        switch event.kind {
        case .exit:
            let deathClass = field("CLASS").flatMap(DeathClass.init(rawValue:)) ?? .transient
            var counts = instances[id] ?? PerInstance()
            counts.deaths[deathClass, default: 0] += 1
            if let code = field("EXIT_CODE").flatMap(Int64.init) {
                counts.lastExitCode = code
            } else if let signal = field("SIGNAL").flatMap(Signals.number) {
                counts.lastExitCode = 128 + Int64(signal)
            }
            counts.lastDeathWall = wall
            instances[id] = counts
            let latency = field("DETECT_LATENCY_US").flatMap(Int64.init)
            if let latency { detectLatency.observe(nanoseconds: latency * 1000) }
            restartPending[id] = Int64(clamping: now.nanoseconds) - (latency ?? 0) * 1000
        case .restart:
            instances[id, default: PerInstance()].restarts += 1
        case .spawn:
            if let died = restartPending.removeValue(forKey: id) {
                restartLatency.observe(nanoseconds: Int64(clamping: now.nanoseconds) - died)
            }
        case .breakerOpen:
            breakerOpen.insert(id)
            restartPending[id] = nil   // its next spawn is a cooldown away: not a restart's latency
        case .recovered:
            breakerOpen.remove(id)
        case .failed, .quarantined:
            restartPending[id] = nil
        case .command:
            restartPending[id] = nil
            if let command = field("COMMAND"), command == "reset" || command == "stop" { breakerOpen.remove(id) }
        case .alert:
            if let name = field("ALERT") { alertsFiring.insert(name) }
        case .alertCleared:
            if let name = field("ALERT") { alertsFiring.remove(name) }
        case .ready, .backoff, .watchdog, .reload, .stop, .startTimeout, .waiting, .notifyRejected, .outputDropped,
             .reportNotSaved, .daemon, .hook, .health:
            break
        }
    }

    mutating func hookFinished(_ hook: String, result: String) {
        hookRuns[HookKey(hook: hook, result: result), default: 0] += 1
    }

    mutating func hookSuppressed(_ hook: String) {
        hookSuppressed[hook, default: 0] += 1
    }

    /// Instances that left the configuration.
    mutating func retain(_ ids: Set<InstanceID>) {
        instances = instances.filter { ids.contains($0.key) }
        breakerOpen = breakerOpen.filter(ids.contains)
        restartPending = restartPending.filter { ids.contains($0.key) }
    }
}
