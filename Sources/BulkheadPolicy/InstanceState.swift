/// The instance states users see (SPEC §3), plus `waiting`: wanted up, held until its
/// dependencies are ready.
public enum InstanceState: String, Equatable, Sendable, CaseIterable {
    case starting
    case running
    case stopping
    case stopped
    case backoff
    case open
    case failed
    case quarantined
    case waiting
}

/// Where an instance is in its life. Deadlines are absolute instants. Public as data (an
/// `InstanceRecord` carries it across a re-exec and into the state file); only policy moves an
/// instance from one phase to the next.
public enum Phase: Equatable, Sendable {
    case stopped
    case waiting
    /// The spawn action is out; `spawned` or `spawnFailed` comes back before anything else.
    case spawning
    case starting(RunningProcess, readyAt: Instant?)
    case running(RunningProcess)
    case stopping(RunningProcess, cause: StopCause, killAt: Instant?)
    case backoff(until: Instant)
    case open(until: Instant)
    case failed
    case quarantined

    /// The earliest instant at which `tick` has something to do in this phase.
    public var deadline: Instant? {
        func earliest(_ a: Instant?, _ b: Instant?) -> Instant? {
            guard let a else { return b }
            guard let b else { return a }
            return min(a, b)
        }
        switch self {
        case .starting(let p, let readyAt): return earliest(earliest(readyAt, p.watchdogAt), p.probeDeadline)
        case .running(let p): return earliest(earliest(p.watchdogAt, p.stableAt), p.probeDeadline)
        case .stopping(_, _, let killAt): return killAt
        case .backoff(let until), .open(let until): return until
        case .stopped, .waiting, .spawning, .failed, .quarantined: return nil
        }
    }

    public var state: InstanceState {
        switch self {
        case .stopped: return .stopped
        case .waiting: return .waiting
        case .spawning, .starting: return .starting
        case .running: return .running
        case .stopping: return .stopping
        case .backoff: return .backoff
        case .open: return .open
        case .failed: return .failed
        case .quarantined: return .quarantined
        }
    }

    public var process: RunningProcess? {
        switch self {
        case .starting(let p, _), .running(let p), .stopping(let p, _, _): return p
        case .stopped, .waiting, .spawning, .backoff, .open, .failed, .quarantined: return nil
        }
    }

    /// A process of this instance may still be alive.
    public var isAlive: Bool {
        switch self {
        case .spawning, .starting, .running, .stopping: return true
        case .stopped, .waiting, .backoff, .open, .failed, .quarantined: return false
        }
    }
}

public struct RunningProcess: Equatable, Sendable {
    public var pid: Int32
    public var startedAt: Instant
    public var watchdogAt: Instant?
    /// When uptime reaches `reset_after` (only tracked while there is something to reset).
    public var stableAt: Instant?
    /// `health.ready`, from when it may start (spawn, or `READY=1`) until it passes.
    var readyProbe: ProbeTracker?
    /// `health.live`, from ready on.
    var liveProbe: ProbeTracker?

    public init(pid: Int32, startedAt: Instant, watchdogAt: Instant? = nil, stableAt: Instant? = nil) {
        self.pid = pid
        self.startedAt = startedAt
        self.watchdogAt = watchdogAt
        self.stableAt = stableAt
    }

    /// The earliest check due.
    var probeDeadline: Instant? {
        switch (readyProbe?.deadline, liveProbe?.deadline) {
        case (let a?, let b?): return min(a, b)
        case (let a, let b): return a ?? b
        }
    }

    /// What `status` shows of the probes, ready first.
    var probeStatus: [ProbeStatus] {
        [readyProbe?.status, liveProbe?.status].compactMap { $0 }
    }
}

/// A read-only view of one instance for `bulkhead status`.
public struct InstanceSnapshot: Equatable, Sendable {
    public var id: InstanceID
    public var state: InstanceState
    public var pid: Int32?
    public var startedAt: Instant?
    public var restarts: Int
    public var lastClass: DeathClass?
    public var statusText: String?
    /// The next automatic step (end of backoff or cooldown), if one is scheduled.
    public var nextAttemptAt: Instant?
    public var wanted: Bool
    /// The probes of the live process (`health`), ready first; empty without one.
    public var health: [ProbeStatus] = []
    /// Set by whoever keeps snapshots (the daemon's status rows): changes whenever any field
    /// above does and is never reused, so what is derived from a snapshot can be kept by it.
    /// Policy leaves it 0.
    public var revision: UInt64 = 0
}
