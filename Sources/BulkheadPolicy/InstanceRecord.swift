/// One instance's whole policy state as plain data. A re-exec carries all of it to the new
/// daemon image (same pid, same processes); the state file keeps its `durable` part, what a
/// restart of the daemon after a crash must not forget (SPEC §10).
public struct InstanceRecord: Equatable, Sendable {
    public var id: InstanceID
    /// The operator's intent (and the config's): wanted up or not.
    public var wanted: Bool
    public var phase: Phase
    public var pendingStop: StopCause?
    /// Left the configuration; forgotten once stopped.
    public var removed: Bool
    public var restarts: Int
    public var attempt: Int
    public var breaker: CrashLoopBreaker
    public var sameCrash: SameCrashStreak?
    public var lastClass: DeathClass?
    public var statusText: String?

    public init(
        id: InstanceID, wanted: Bool, phase: Phase, pendingStop: StopCause? = nil, removed: Bool = false,
        restarts: Int = 0, attempt: Int = 0, breaker: CrashLoopBreaker = CrashLoopBreaker(),
        sameCrash: SameCrashStreak? = nil, lastClass: DeathClass? = nil, statusText: String? = nil
    ) {
        self.id = id
        self.wanted = wanted
        self.phase = phase
        self.pendingStop = pendingStop
        self.removed = removed
        self.restarts = restarts
        self.attempt = attempt
        self.breaker = breaker
        self.sameCrash = sameCrash
        self.lastClass = lastClass
        self.statusText = statusText
    }

    /// What a daemon restart must not forget, and nothing that changes without a decision: the
    /// deadlines that pings and readiness move (watchdog, ready, stable, kill), a stop still to
    /// begin and the worker's status text are left out, so the state file is written when
    /// something was decided, not on every `WATCHDOG=1`.
    public var durable: InstanceRecord {
        var kept = self
        kept.pendingStop = nil
        kept.statusText = nil
        switch phase {
        case .starting(let p, _): kept.phase = .starting(p.identityOnly, readyAt: nil)
        case .running(let p): kept.phase = .running(p.identityOnly)
        case .stopping(let p, let cause, _): kept.phase = .stopping(p.identityOnly, cause: cause, killAt: nil)
        case .stopped, .waiting, .spawning, .backoff, .open, .failed, .quarantined: break
        }
        return kept
    }
}

/// The same crash fingerprint so many times in a row with no stable run between (SPEC §3).
public struct SameCrashStreak: Equatable, Sendable {
    public var fingerprint: String
    public var count: Int

    public init(fingerprint: String, count: Int) {
        self.fingerprint = fingerprint
        self.count = count
    }
}

extension RunningProcess {
    /// Which process, and since when: without the deadlines policy keeps for it.
    var identityOnly: RunningProcess {
        RunningProcess(pid: pid, startedAt: startedAt)
    }
}
