/// A hook's `rate: N/D`: at most N runs in any window of length D (a sliding window over the
/// last N admissions). What it turns away is counted, and the count goes to the next run that is
/// admitted (so a paging script can say "and 990 more"), and is told once per window.
public struct HookRateLimit: Equatable, Sendable {
    public let rate: EventRate
    /// The last `rate.count` admissions, oldest first.
    private var admitted: [Instant] = []
    /// Turned away since the last admission.
    public private(set) var suppressed = 0
    /// Turned away since the count was last told (`takeUntold`).
    private var untold = 0

    public init(_ rate: EventRate) {
        self.rate = rate
    }

    public enum Verdict: Equatable, Sendable {
        /// Run it; `suppressedBefore` were turned away since the previous run.
        case run(suppressedBefore: Int)
        /// Counted, not run. `first`: the first one turned away since a run was admitted.
        case suppressed(first: Bool)
    }

    public mutating func admit(_ now: Instant) -> Verdict {
        if admitted.count >= rate.count, let oldest = admitted.first, now < oldest + rate.per {
            suppressed += 1
            untold += 1
            return .suppressed(first: suppressed == 1)
        }
        if admitted.count >= rate.count { admitted.removeFirst() }
        admitted.append(now)
        let before = suppressed
        suppressed = 0
        return .run(suppressedBefore: before)
    }

    /// When the window admits again (nil: it admits now, or nothing is waiting to be told).
    public var reopensAt: Instant? {
        guard untold > 0, admitted.count >= rate.count, let oldest = admitted.first else { return nil }
        return oldest + rate.per
    }

    /// The count turned away that was not told yet, once the window has reopened (so a storm is
    /// summed up once per window, not once per event).
    public mutating func takeUntold(_ now: Instant) -> Int {
        guard untold > 0, reopensAt.map({ $0 <= now }) ?? true else { return 0 }
        defer { untold = 0 }
        return untold
    }
}
