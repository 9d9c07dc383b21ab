import CLinux
import Synchronization

/// Measures whether an executor runs new work promptly: the watchdog thread launches a probe
/// job and later asks whether it ran, and how soon.
///
/// At most one probe is outstanding: when an executor is stuck, probes do not pile up behind
/// it, and a probe that finally runs late counts as late, not as a fresh sign of health.
final class ExecutorProbe: Sendable {
    enum Target: Sendable {
        /// The global concurrent executor (the cooperative pool), where `run` and its child
        /// tasks execute unless they hop elsewhere.
        case globalConcurrent
        /// The main actor (the main thread, which WorkerKit's async `main` leaves to it).
        case mainActor
    }

    let target: Target
    private let launched = Atomic<UInt64>(0)
    private let launchedAt = Atomic<UInt64>(0)
    private let ran = Atomic<UInt64>(0)
    private let ranAt = Atomic<UInt64>(0)

    init(_ target: Target) {
        self.target = target
    }

    /// True when the last probe has run (nothing outstanding).
    var isIdle: Bool { ran.load(ordering: .acquiring) == launched.load(ordering: .acquiring) }

    /// Enqueues a new probe unless one is still outstanding.
    func launchIfIdle(now: UInt64) {
        guard isIdle else { return }
        let generation = launched.load(ordering: .relaxed) &+ 1
        launchedAt.store(now, ordering: .relaxed)
        launched.store(generation, ordering: .releasing)
        switch target {
        case .globalConcurrent:
            Task.detached(priority: .medium) { [self] in
                markRan(generation)
            }
        case .mainActor:
            Task.detached { @MainActor [self] in
                markRan(generation)
            }
        }
    }

    /// True when the newest probe ran within `budget` nanoseconds of its launch.
    func ranWithin(_ budget: UInt64) -> Bool {
        let generation = launched.load(ordering: .acquiring)
        guard generation > 0, ran.load(ordering: .acquiring) == generation else { return false }
        return ranAt.load(ordering: .relaxed) &- launchedAt.load(ordering: .relaxed) <= budget
    }

    private func markRan(_ generation: UInt64) {
        ranAt.store(bh_monotonic_ns(), ordering: .relaxed)
        ran.store(generation, ordering: .releasing)
    }
}
