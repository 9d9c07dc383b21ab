/// When hook programs run (SPEC §11), as a state machine fed events with their time: every
/// matching event is admitted by the hook's rate limit into its bounded queue (or counted as
/// suppressed), runs start in order up to the hook's `concurrency` and the daemon's cap on hook
/// processes, each with its `timeout` as a deadline (then the mechanism kills it), and a run
/// whose input is not ready (its crash report is still being written) waits at the head of its
/// queue for at most `readyWait`. No clock, no processes: the daemon performs the actions.
public struct HookScheduler<Payload> {
    public struct Run {
        public var id: Int
        public var hook: Int
        public var payload: Payload
        /// Events this hook did not run for (rate, full queue) since its previous run.
        public var suppressedBefore: Int
    }

    public enum Action {
        /// Start the program; `finished` must follow (after `kill` too).
        case start(Run)
        /// The run is past its timeout: SIGKILL its process group.
        case kill(runID: Int, hook: Int)
        /// An event turned away by the rate limit (counted); `first` since its last run (logged).
        case suppressed(hook: Int, first: Bool)
        /// Turned away since it was last told, now that the window has reopened.
        case suppressedSummary(hook: Int, count: Int)
        /// The queue was full: this event does not run the hook.
        case queueFull(hook: Int)
    }

    private struct Queued {
        var runID: Int
        var payload: Payload
        var suppressedBefore: Int
        /// nil: ready; else what it waits for and until when.
        var waitsFor: String?
        var readyBy: Instant
    }

    private struct HookState {
        var spec: HookSpec
        var limit: HookRateLimit?
        var queue: [Queued] = []
        var running = 0
        /// Counted against the next admitted run when the rate limit is not the reason.
        var droppedSinceRun = 0
    }

    private var hooks: [HookState]
    /// runID → (hook, kill deadline; nil once killed).
    private var running: [Int: (hook: Int, killAt: Instant?)] = [:]
    private var nextRunID = 1
    private let processCap: Int

    /// Runs waiting per hook; past it, events are dropped and counted (a hook that cannot keep up
    /// must not make the daemon hold a storm's worth of crash reports).
    public static var queueLimit: Int { 64 }
    /// How long a run waits for its input (a crash report being written) before it runs without.
    public static var readyWait: Duration { .seconds(5) }

    /// `firstRunID`: where run ids start — after the previous scheduler's (a reload), whose
    /// runs may still be going under their ids.
    public init(hooks: [HookSpec], processCap: Int, firstRunID: Int = 1) {
        self.hooks = hooks.map { HookState(spec: $0, limit: $0.rate.map(HookRateLimit.init)) }
        self.processCap = max(1, processCap)
        nextRunID = max(1, firstRunID)
    }

    /// The id the next run will get.
    public var upcomingRunID: Int { nextRunID }

    public var runningCount: Int { running.count }

    public func queuedCount(hook: Int) -> Int { hooks[hook].queue.count }

    /// An event matched hook `hook`. `waitsFor`: a key (a crash id) `ready` will name once the
    /// payload is complete.
    public mutating func offer(hook index: Int, _ payload: Payload, waitsFor: String?, _ now: Instant) -> [Action] {
        var actions: [Action] = []
        var suppressedBefore = 0
        if var limit = hooks[index].limit {
            let verdict = limit.admit(now)
            hooks[index].limit = limit
            switch verdict {
            case .suppressed(let first):
                actions.append(.suppressed(hook: index, first: first))
                return actions
            case .run(let before):
                suppressedBefore = before
            }
        }
        guard hooks[index].queue.count < Self.queueLimit else {
            hooks[index].droppedSinceRun += 1
            actions.append(.queueFull(hook: index))
            return actions
        }
        suppressedBefore += hooks[index].droppedSinceRun
        hooks[index].droppedSinceRun = 0
        hooks[index].queue.append(Queued(runID: nextRunID, payload: payload, suppressedBefore: suppressedBefore,
                                         waitsFor: waitsFor, readyBy: now + Self.readyWait))
        nextRunID += 1
        startReady(now, &actions)
        return actions
    }

    /// The input every run waiting for `key` waited for is complete.
    public mutating func ready(_ key: String, _ now: Instant) -> [Action] {
        for h in hooks.indices {
            for q in hooks[h].queue.indices where hooks[h].queue[q].waitsFor == key {
                hooks[h].queue[q].waitsFor = nil
            }
        }
        var actions: [Action] = []
        startReady(now, &actions)
        return actions
    }

    /// Fills in what a run waiting for `key` was waiting for (the payload is the daemon's to change).
    public mutating func updatePayloads(waitingFor key: String, _ body: (inout Payload) -> Void) {
        for h in hooks.indices {
            for q in hooks[h].queue.indices where hooks[h].queue[q].waitsFor == key {
                body(&hooks[h].queue[q].payload)
            }
        }
    }

    /// A run's process ended (or could not start): its slot is free.
    public mutating func finished(_ runID: Int, _ now: Instant) -> [Action] {
        guard let run = running.removeValue(forKey: runID) else { return [] }
        hooks[run.hook].running -= 1
        var actions: [Action] = []
        startReady(now, &actions)
        return actions
    }

    /// The earliest deadline: a timeout, a run's wait for its input, a rate window reopening.
    public var nextDeadline: Instant? {
        var earliest: Instant?
        func consider(_ instant: Instant?) {
            guard let instant else { return }
            if earliest.map({ instant < $0 }) ?? true { earliest = instant }
        }
        for run in running.values { consider(run.killAt) }
        for hook in hooks {
            if let head = hook.queue.first, head.waitsFor != nil { consider(head.readyBy) }
            consider(hook.limit?.reopensAt)
        }
        return earliest
    }

    public mutating func tick(_ now: Instant) -> [Action] {
        var actions: [Action] = []
        for (runID, run) in running.sorted(by: { $0.key < $1.key }) {
            if let killAt = run.killAt, killAt <= now {
                running[runID] = (run.hook, nil)
                actions.append(.kill(runID: runID, hook: run.hook))
            }
        }
        for h in hooks.indices {
            for q in hooks[h].queue.indices where hooks[h].queue[q].waitsFor != nil && hooks[h].queue[q].readyBy <= now {
                hooks[h].queue[q].waitsFor = nil
            }
            if var limit = hooks[h].limit {
                let untold = limit.takeUntold(now)
                hooks[h].limit = limit
                if untold > 0 { actions.append(.suppressedSummary(hook: h, count: untold)) }
            }
        }
        startReady(now, &actions)
        return actions
    }

    /// Starts queue heads that are ready, hook by hook in turn, while slots are free.
    private mutating func startReady(_ now: Instant, _ actions: inout [Action]) {
        var started = true
        while started && running.count < processCap {
            started = false
            for h in hooks.indices where running.count < processCap {
                guard hooks[h].running < hooks[h].spec.concurrency, let head = hooks[h].queue.first, head.waitsFor == nil else { continue }
                hooks[h].queue.removeFirst()
                hooks[h].running += 1
                running[head.runID] = (h, now + hooks[h].spec.timeout)
                actions.append(.start(Run(id: head.runID, hook: h, payload: head.payload, suppressedBefore: head.suppressedBefore)))
                started = true
            }
        }
    }
}
