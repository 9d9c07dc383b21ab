import BulkheadSystem
import CLinux
import Glibc

/// Starts hook programs on a thread of its own. The spawner's clone(CLONE_VFORK) holds the
/// calling thread until the child has exec'd, and a hook's child is slow to get there on a
/// machine busy with the deaths it reports (measured on the loop: clone p50 0.6 ms, p90 4.6 ms
/// for hooks, against 0.13/0.6 ms for workers) — time in which the loop noticed no death. Here
/// the loop only queues the request and hears back through an eventfd.
///
/// The hooks are this thread's children, not the loop's: the loop's wait4 scans take only its
/// own thread's children (__WNOTHREAD), so a hook that ends before the loop knows its pid is
/// not reaped as an orphan (its exit lost); the loop reaps it through the pidfd opened here.
final class HookLauncher: @unchecked Sendable {
    struct Request {
        var run: Int
        var spawn: SpawnRequest
        /// The child's ends of its pipes: closed here once it has them (or cannot start).
        var childEnds: [FileDescriptor]
    }

    enum Outcome {
        case started(run: Int, pid: Int32, pidfd: FileDescriptor)
        case failed(run: Int, reason: String)
    }

    /// Readable when outcomes wait (`take`); nil when no eventfd could be made (then no thread).
    let signal: EventSignal?
    private let monitor = ThreadMonitor()
    private lazy var wake = ThreadMonitor.Condition(monitor)
    private lazy var ended = ThreadMonitor.Condition(monitor)
    private var requests: [Request] = []
    private var outcomes: [Outcome] = []
    private var stopping = false
    private var threadRunning = false
    private let nice: Int32

    /// `nice`: the thread's own (a hook's child runs at it until exec, then takes the hook's).
    init(nice: Int32) {
        signal = try? EventSignal()
        self.nice = nice
        guard signal != nil else { return }
        threadRunning = BackgroundThread.start { [self] in run() }
    }

    /// False when the thread could not be created: `launch` then spawns on the caller's thread,
    /// whose outcome must be taken at once (before a scan of its children could reap the hook).
    var threaded: Bool { monitor.withLock { threadRunning } }

    /// Queues a spawn; without the thread it is done now, here.
    func launch(_ request: Request) {
        let threaded = monitor.withLock {
            if threadRunning { requests.append(request) }
            return threadRunning
        }
        if threaded {
            wake.signal()
        } else {
            finish(perform(request))
        }
    }

    /// What was started (or not) since the last call.
    func take() -> [Outcome] {
        signal?.take()
        return monitor.withLock {
            defer { outcomes = [] }
            return outcomes
        }
    }

    /// Ends the thread (waiting for a spawn under way, at most `timeoutNanoseconds`); requests
    /// it never took are given back, their child ends closed.
    func stop(timeoutNanoseconds: Int64) -> [Int] {
        let deadline = MonotonicDeadline(afterNanoseconds: timeoutNanoseconds)
        monitor.lock()
        stopping = true
        wake.signal()
        let dropped = requests
        requests = []
        while threadRunning, let left = deadline.remaining {
            _ = ended.wait(nanoseconds: left)
        }
        monitor.unlock()
        for request in dropped { request.childEnds.forEach { $0.close() } }
        return dropped.map(\.run)
    }

    private func run() {
        _ = bh_set_thread_nice(nice)
        while true {
            monitor.lock()
            while requests.isEmpty && !stopping { wake.wait() }
            if stopping {
                threadRunning = false
                ended.signal()
                monitor.unlock()
                return
            }
            let request = requests.removeFirst()
            monitor.unlock()
            finish(perform(request))
        }
    }

    private func finish(_ outcome: Outcome) {
        monitor.withLock { outcomes.append(outcome) }
        signal?.signal()
    }

    private func perform(_ request: Request) -> Outcome {
        defer { request.childEnds.forEach { $0.close() } }
        let pid: Int32
        do {
            pid = try Spawner.spawn(request.spawn)
        } catch {
            return .failed(run: request.run, reason: error.description)
        }
        guard let pidfd = Reaper.pidfd(for: pid) else {
            // Nothing could time it out or reap it: it goes now, reaped by the thread it belongs to.
            ProcessSignals.signalGroup(pid, SIGKILL)
            ProcessSignals.signalProcess(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return .failed(run: request.run, reason: "pidfd_open failed for pid \(pid); it was killed")
        }
        return .started(run: request.run, pid: pid, pidfd: pidfd)
    }
}
