/// Counts over every instance, kept by `Supervision.store` as instances are written, so the
/// questions asked on every event — is this worker ready, is a dependent going down, is anything
/// alive, how many are in each state — cost a lookup, not a walk over 10,000 instances.
struct InstanceTally: Sendable, Equatable {
    private(set) var byState: [InstanceState: Int] = [:]
    /// Instances with a live process.
    private(set) var alive = 0
    /// Per worker: instances running, ready, with no stop pending and not leaving the config.
    private(set) var ready: [String: Int] = [:]
    /// Per worker: instances alive and on their way down (not wanted, a stop pending, stopping).
    private(set) var goingDown: [String: Int] = [:]

    mutating func add(_ i: Supervision.Instance) {
        count(i, 1)
    }

    mutating func remove(_ i: Supervision.Instance) {
        count(i, -1)
    }

    func count(_ state: InstanceState) -> Int {
        byState[state] ?? 0
    }

    func readyCount(of worker: String) -> Int {
        ready[worker] ?? 0
    }

    func goingDownCount(of worker: String) -> Int {
        goingDown[worker] ?? 0
    }

    static func isReady(_ i: Supervision.Instance) -> Bool {
        guard case .running = i.phase else { return false }
        return i.pendingStop == nil && !i.removed
    }

    static func isGoingDown(_ i: Supervision.Instance) -> Bool {
        guard i.phase.isAlive else { return false }
        if case .stopping = i.phase { return true }
        return !i.wanted || i.pendingStop != nil
    }

    private mutating func count(_ i: Supervision.Instance, _ sign: Int) {
        byState[i.phase.state, default: 0] += sign
        if i.phase.isAlive { alive += sign }
        if Self.isReady(i) { ready[i.id.worker, default: 0] += sign }
        if Self.isGoingDown(i) { goingDown[i.id.worker, default: 0] += sign }
    }
}
