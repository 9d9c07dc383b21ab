/// One probe of one running process: when the next check is due, whether one is out, the
/// passes and failures in a row, and the last few results. Time comes in; nothing is read.
///
/// A check is due `initial_delay` after the probe starts, then `interval` after the previous
/// check *started* (as Kubernetes' period); a check that took longer than `interval` is followed
/// at once. While a check is out nothing else is due: the mechanism always answers, with a
/// failure when its `timeout` passes.
struct ProbeTracker: Equatable, Sendable {
    let role: ProbeRole
    /// With the instance's port resolved (`BASE+index`).
    let spec: ProbeSpec
    private(set) var nextAt: Instant?
    private(set) var launchedAt: Instant?
    private(set) var consecutiveFailures = 0
    private(set) var consecutiveSuccesses = 0
    /// Oldest first, at most `kept`.
    private(set) var recent: [ProbeResult] = []
    /// A ready probe that passed: it runs no more.
    private(set) var done = false

    /// Results kept for status and the crash report.
    static let kept = 5

    init(role: ProbeRole, spec: ProbeSpec, startingAt start: Instant) {
        self.role = role
        self.spec = spec
        nextAt = start + spec.initialDelay
    }

    /// When policy must look at it next (nil: a check is out, or the probe is done).
    var deadline: Instant? { done ? nil : nextAt }

    /// Takes the due check, if there is one: true means the mechanism must run it now.
    mutating func launchIfDue(_ now: Instant) -> Bool {
        guard !done, let next = nextAt, next <= now else { return false }
        nextAt = nil
        launchedAt = now
        return true
    }

    enum Outcome: Equatable, Sendable {
        /// Nothing to act on.
        case counted
        /// `successes` passes in a row.
        case passedEnough
        /// `failures` failures in a row.
        case failedEnough
        /// No check was out: a late or stray answer, ignored.
        case ignored
    }

    mutating func finished(_ result: ProbeResult) -> Outcome {
        guard let launched = launchedAt else { return .ignored }
        launchedAt = nil
        recent.append(result)
        if recent.count > Self.kept { recent.removeFirst(recent.count - Self.kept) }
        if result.passed {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
        } else {
            consecutiveFailures += 1
            consecutiveSuccesses = 0
        }
        nextAt = max(launched + spec.interval, result.at)
        if result.passed && consecutiveSuccesses >= spec.successes {
            if role == .ready {
                done = true
                nextAt = nil
            }
            return .passedEnough
        }
        if !result.passed && consecutiveFailures >= spec.failures { return .failedEnough }
        return .counted
    }

    var status: ProbeStatus {
        ProbeStatus(role: role, check: spec.check, last: recent.last, consecutiveFailures: consecutiveFailures,
                    consecutiveSuccesses: consecutiveSuccesses, done: done)
    }

    var observations: [ProbeObservation] {
        recent.map { ProbeObservation(role: role, check: spec.check, result: $0) }
    }
}
