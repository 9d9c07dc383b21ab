import CLinux

/// Sends `WATCHDOG=1` at half of `WATCHDOG_USEC`, but only while the worker's concurrency
/// runtime is responsive.
///
/// **Responsive** means: a probe job enqueued on each probed executor (the global concurrent
/// executor, and the main actor unless switched off) started running within a quarter of
/// `WATCHDOG_USEC` (the *budget*), measured afresh before every ping. That is the property a
/// hang destroys: when every cooperative thread is blocked (a blocking syscall, a lock, a
/// semaphore wait in async code) or busy with jobs that never yield, new jobs stop starting,
/// the probe stays queued, the pings stop, and bulkhead's watchdog fires. A worker that is
/// merely busy but keeps yielding still gets its probe run within the budget.
///
/// The probe runs at `.medium` priority and waits its turn behind work already queued at that
/// priority or above, so the property really measured is "new work starts within the budget".
/// A worker that keeps a backlog longer than `WATCHDOG_USEC`/4 of ready jobs is, by that
/// measure, not responsive; give it a longer `watchdog:` or ping by hand.
///
/// What it does not see: one job that never yields while other cooperative threads stay free
/// (the pool still starts new jobs). Such a job stalls one piece of work, not the runtime; a
/// worker that must catch that pings by hand (``WatchdogOptions/manual``) from its own
/// progress points. On the main actor one non-yielding job is caught, since it has one thread.
///
/// Schedule, with P = `WATCHDOG_USEC`/2 and budget B = P/2, all on one POSIX thread outside
/// the pool (it must keep running when the pool is stuck):
///
///     t = s:        launch a probe per executor (none if the previous one is still queued)
///     t = s + B:    every probe ran within B  →  send WATCHDOG=1
///     t = s + P:    next cycle
///
/// Pings are P apart, as sd_watchdog_enabled(3) recommends. A hang that begins right after a
/// probe ran is reported by silence from the next check on: bulkhead notices within
/// `WATCHDOG_USEC` + P of the hang's start at the latest.
final class WatchdogPinger: Sendable {
    let interval: UInt64
    let budget: UInt64
    private let probes: [ExecutorProbe]
    private let socket: NotifySocket
    private let isAllowed: @Sendable () -> Bool

    /// `watchdogInterval` is `WATCHDOG_USEC`. While `isAllowed` answers false no ping is sent
    /// (the WorkerKitLifecycle service withdraws it once its service group fails).
    init(watchdogInterval: Duration, probesMainActor: Bool, socket: NotifySocket, isAllowed: @escaping @Sendable () -> Bool = { true }) {
        // A floor keeps a silly WATCHDOG_USEC from turning the thread into a busy loop.
        interval = max(MonotonicTime.nanoseconds(watchdogInterval) / 2, 1_000_000)
        budget = interval / 2
        probes = probesMainActor ? [ExecutorProbe(.globalConcurrent), ExecutorProbe(.mainActor)] : [ExecutorProbe(.globalConcurrent)]
        self.socket = socket
        self.isAllowed = isAllowed
    }

    func start() {
        PosixThread.start(name: "wk-watchdog") { [self] in
            var cycle = bh_monotonic_ns()
            while true {
                for probe in probes {
                    probe.launchIfIdle(now: bh_monotonic_ns())
                }
                MonotonicTime.sleep(until: cycle &+ budget)
                if isAllowed(), probes.allSatisfy({ $0.ranWithin(budget) }) {
                    socket.send(.watchdog)
                }
                cycle &+= interval
                // After a long stall of this thread itself (SIGSTOP, a suspended VM) start afresh
                // instead of firing a burst of catch-up cycles.
                let now = bh_monotonic_ns()
                if now > cycle &+ interval { cycle = now }
                MonotonicTime.sleep(until: cycle)
            }
        }
    }
}
