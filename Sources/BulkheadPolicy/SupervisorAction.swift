/// What policy asks the mechanism to do. The daemon performs them in order.
public enum SupervisorAction: Equatable, Sendable {
    /// Start a process for the instance; answer with `spawned` or `spawnFailed`.
    case spawn(InstanceID)
    /// Send a signal to the instance's main process or its whole process group (and cgroup).
    case signal(InstanceID, pid: Int32, signal: Int32, scope: SignalScope)
    /// Record a death: write the crash report (unless clean) and the `exit` event.
    case record(DeathRecord)
    /// Log a supervisor event.
    case emit(SupervisorEvent)
    /// The instance left the configuration and is stopped: release what the mechanism holds.
    case forget(InstanceID)
    /// Run one health check against the instance's process; answer with `probeFinished`
    /// (a failure once `timeout` has passed).
    case probe(InstanceID, pid: Int32, role: ProbeRole, check: ProbeCheck, timeout: Duration)
}

public enum SignalScope: String, Equatable, Sendable {
    case process
    case group
}

/// SPEC §6 `BULKHEAD_EVENT` values (and a few more).
public enum EventKind: String, Equatable, Hashable, Sendable, CaseIterable {
    case spawn
    case ready
    case exit
    case restart
    case backoff
    case breakerOpen = "breaker-open"
    case recovered
    case failed
    case quarantined
    case watchdog
    case reload
    case stop
    case startTimeout = "start-timeout"
    case waiting
    case notifyRejected = "notify-rejected"
    case outputDropped = "output-dropped"
    /// A crash report the disk refused (full, read-only): kept in memory, written later.
    case reportNotSaved = "report-not-saved"
    /// The daemon itself: startup, shutdown, environment notes.
    case daemon
    /// An operator's command on an instance (`start`, `stop`, `restart`, `reset`).
    case command
    /// An alert rule began to hold (SPEC §11); `alert-cleared` when it stopped holding.
    case alert
    case alertCleared = "alert-cleared"
    /// A hook run that failed, timed out or could not start, or a hook's runs suppressed.
    case hook
    /// A health probe's verdict changed: a failure, a recovery, a liveness kill.
    case health
}

public struct SupervisorEvent: Equatable, Sendable {
    public var kind: EventKind
    public var instance: InstanceID?
    public var pid: Int32?
    public var message: String
    /// Syslog priority (0 emerg … 7 debug).
    public var priority: Int
    /// Extra structured fields (journal field name without the BULKHEAD_ prefix → value).
    public var fields: [Field]

    public struct Field: Equatable, Sendable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(_ kind: EventKind, _ instance: InstanceID?, pid: Int32? = nil, priority: Int = 6, message: String, fields: [Field] = []) {
        self.kind = kind
        self.instance = instance
        self.pid = pid
        self.message = message
        self.priority = priority
        self.fields = fields
    }
}

/// Policy's verdict on one death; the mechanism joins it with what it gathered (stderr, backtrace,
/// breadcrumbs) into the crash report.
public struct DeathRecord: Equatable, Sendable {
    public var instance: InstanceID
    public var pid: Int32?
    public var startedAt: Instant?
    public var endedAt: Instant
    public var facts: DeathFacts
    public var classification: Classification
    public var fingerprint: String
    /// Automatic restarts of this instance so far, this one included if one is scheduled.
    public var restarts: Int
    /// What bulkhead does about it, in words (`restart in 400ms`, `failed`, …).
    public var action: String
    /// Set when the death was escalated (same crash N times → persistent).
    public var note: String?
    /// The class before escalation, when it was escalated.
    public var originalClass: DeathClass?
    /// The process's last health-check results, oldest first (the crash report's `health`).
    public var probes: [ProbeObservation] = []

    public init(instance: InstanceID, pid: Int32?, startedAt: Instant?, endedAt: Instant, facts: DeathFacts,
                classification: Classification, fingerprint: String, restarts: Int, action: String,
                note: String?, originalClass: DeathClass?) {
        self.instance = instance
        self.pid = pid
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.facts = facts
        self.classification = classification
        self.fingerprint = fingerprint
        self.restarts = restarts
        self.action = action
        self.note = note
        self.originalClass = originalClass
    }
}
