/// The parts of the config that tell people what happened (SPEC §11): `events`, `hooks`,
/// `alerts` and `metrics`. Plain data, read by `BulkheadConfig`.
public struct MonitoringConfig: Equatable, Sendable {
    public var events: EventsConfig
    public var hooks: [HookSpec]
    public var alerts: [AlertRule]
    /// nil: no `/metrics` listener (off by default; `bulkhead metrics` still answers).
    public var metrics: MetricsConfig?

    public init(events: EventsConfig = EventsConfig(), hooks: [HookSpec] = [], alerts: [AlertRule] = [], metrics: MetricsConfig? = nil) {
        self.events = events
        self.hooks = hooks
        self.alerts = alerts
        self.metrics = metrics
    }
}

/// `events:`: how much the daemon remembers for `bulkhead events --since` and for followers
/// that fall behind, and how much of the reliability history `bulkhead report` keeps.
public struct EventsConfig: Equatable, Sendable {
    /// Events kept in memory. A follower more than this far behind loses the oldest (`lost: N`).
    public var history: Int
    /// Records kept in `state_dir/reliability.jsonl` for `bulkhead report`.
    public var reportRecords: Int
    /// Hook processes running at once, all hooks together.
    public var hookProcesses: Int

    public init(history: Int = 10_000, reportRecords: Int = 50_000, hookProcesses: Int = 16) {
        self.history = history
        self.reportRecords = reportRecords
        self.hookProcesses = hookProcesses
    }
}

/// Which events something applies to (a hook's `on`, an alert's `event`): an event's name
/// (`exit`, `failed`, `breaker-open`, `alert`, …), a death class (`crash`: an `exit` of that
/// class), or `death` (an `exit` of any class but `clean`).
public enum EventSelector: Equatable, Hashable, Sendable, CustomStringConvertible {
    case kind(EventKind)
    case deathClass(DeathClass)
    case death

    public init?(word: String) {
        if word == "death" {
            self = .death
        } else if let deathClass = DeathClass(rawValue: word) {
            self = .deathClass(deathClass)
        } else if let kind = EventKind(rawValue: word) {
            self = .kind(kind)
        } else {
            return nil
        }
    }

    /// Every word the config takes, for messages.
    public static var words: [String] {
        ["death"] + DeathClass.allCases.map(\.rawValue) + EventKind.allCases.map(\.rawValue)
    }

    /// `deathClass`: the class of an `exit` event (nil for other events).
    public func matches(_ kind: EventKind, deathClass: DeathClass?) -> Bool {
        switch self {
        case .kind(let wanted): return kind == wanted
        case .deathClass(let wanted): return kind == .exit && deathClass == wanted
        case .death: return kind == .exit && deathClass != nil && deathClass != .clean
        }
    }

    public var description: String {
        switch self {
        case .kind(let kind): return kind.rawValue
        case .deathClass(let deathClass): return deathClass.rawValue
        case .death: return "death"
        }
    }
}

/// `count` per `per` (`rate: 10/5m`).
public struct EventRate: Equatable, Sendable, CustomStringConvertible {
    public var count: Int
    public var per: Duration

    public init(count: Int, per: Duration) {
        self.count = count
        self.per = per
    }

    public var description: String { "\(count)/\(Units.format(per))" }
}

/// One `hooks:` entry: a program run for every matching event, off the supervision loop.
public struct HookSpec: Equatable, Sendable {
    /// `name:`, else `hooks[i]`: how logs, metrics and the program itself (`BULKHEAD_HOOK`) call it.
    public var name: String
    public var on: [EventSelector]
    /// Only events of these workers (empty: every worker, and events of no worker).
    public var workers: [String]
    public var command: [String]
    public var timeout: Duration
    /// nil: no limit beyond `concurrency` and the queue.
    public var rate: EventRate?
    /// Runs of this hook at once; more wait in its queue.
    public var concurrency: Int
    public var sourceLine: Int

    public init(name: String, on: [EventSelector], workers: [String] = [], command: [String], timeout: Duration = .seconds(10),
                rate: EventRate? = nil, concurrency: Int = 4, sourceLine: Int = 0) {
        self.name = name
        self.on = on
        self.workers = workers
        self.command = command
        self.timeout = timeout
        self.rate = rate
        self.concurrency = concurrency
        self.sourceLine = sourceLine
    }

    /// Whether an event of `kind` (an `exit` of `deathClass`) about `worker` runs this hook.
    public func matches(_ kind: EventKind, deathClass: DeathClass?, worker: String?) -> Bool {
        // A hook's own events never run hooks: a failing hook would feed itself.
        guard kind != .hook, on.contains(where: { $0.matches(kind, deathClass: deathClass) }) else { return false }
        guard !workers.isEmpty else { return true }
        return worker.map(workers.contains) ?? false
    }
}

/// One `alerts:` entry.
public struct AlertRule: Equatable, Sendable {
    public var name: String
    public var condition: AlertCondition
    /// Syslog priority of the `alert` event (1 alert, 2 crit, 3 err, 4 warning).
    public var priority: Int
    public var sourceLine: Int

    public init(name: String, condition: AlertCondition, priority: Int = 2, sourceLine: Int = 0) {
        self.name = name
        self.condition = condition
        self.priority = priority
        self.sourceLine = sourceLine
    }
}

public enum AlertCondition: Equatable, Sendable {
    /// At least `count` matching events (of `worker`, or of any) within `within`:
    /// `{ event: crash, worker: api, count: 5, within: 5m }`.
    case rate(EventSelector, worker: String?, count: Int, within: Duration)
    /// Some instance (of `worker`, or any) has been in `state` for at least `for`:
    /// `{ state: quarantined }`, `{ state: breaker-open, for: 10m }`.
    case state(AlertState, worker: String?, for: Duration)
}

/// The states an alert can watch, as events tell them.
public enum AlertState: String, Equatable, Sendable, CaseIterable {
    /// `failed` until the instance is spawned again (`bulkhead reset`).
    case failed
    /// `quarantined` until the quarantine is cleared.
    case quarantined
    /// From `breaker-open` until the breaker closes (`recovered`) or the operator resets or
    /// stops the instance: the half-open tries between count as open.
    case breakerOpen = "breaker-open"
}

/// `metrics: { listen: "127.0.0.1:9464" }`.
public struct MetricsConfig: Equatable, Sendable {
    /// An IPv4 or IPv6 address (`127.0.0.1`, `::1`, `0.0.0.0`), without brackets.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:9464`, `[::1]:9464`.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
