/// The crash-loop circuit breaker (SPEC §3): more than `max_restarts` restarts inside `window`
/// opens it for `cooldown`; then one half-open try: a stable run closes it, a death reopens it.
public struct CrashLoopBreaker: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        case closed
        case open(until: Instant)
        case halfOpen
    }

    public private(set) var state: State = .closed
    /// Times of recent automatic restarts, oldest first, pruned to the window.
    public private(set) var recentRestarts: [Instant] = []

    public init() {}

    /// A breaker as it was recorded (the state file, a re-exec).
    public init(state: State, recentRestarts: [Instant]) {
        self.state = state
        self.recentRestarts = recentRestarts.sorted()
    }

    public enum Decision: Equatable, Sendable {
        /// Go ahead and restart (after backoff).
        case restart
        /// The breaker (re)opened: wait until then, then make one half-open try.
        case open(until: Instant)
    }

    /// An instance died and would be restarted: may it?
    public mutating func restartRequested(at now: Instant, policy: CrashLoopPolicy) -> Decision {
        recentRestarts.append(now)
        let windowStart = Instant(nanoseconds: now.nanoseconds >= UInt64(max(0, policy.window.nanoseconds))
                                  ? now.nanoseconds - UInt64(max(0, policy.window.nanoseconds)) : 0)
        if let firstInside = recentRestarts.firstIndex(where: { $0 > windowStart }) {
            recentRestarts.removeFirst(firstInside)
        } else {
            recentRestarts.removeAll()
        }
        let tripped: Bool
        switch state {
        case .halfOpen, .open:
            tripped = true
        case .closed:
            tripped = recentRestarts.count > policy.maxRestarts
        }
        if tripped {
            let until = now + policy.cooldown
            state = .open(until: until)
            return .open(until: until)
        }
        return .restart
    }

    /// The cooldown is over and the half-open try is being started.
    public mutating func cooldownEnded() {
        if case .open = state { state = .halfOpen }
    }

    /// The instance stayed up `reset_after`. Returns true when this closed the breaker after a
    /// half-open try. The restart history is left to age out of the window: a stable run between
    /// crashes does not hide a loop that is slower than `reset_after` but faster than `window`.
    public mutating func stableRun() -> Bool {
        let wasHalfOpen = state == .halfOpen
        state = .closed
        return wasHalfOpen
    }

    public mutating func reset() {
        state = .closed
        recentRestarts.removeAll()
    }
}
