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
        var executable: String
        var arguments: [String]
        var environment: [String]
        /// What the hook reads on stdin.
        var input: [UInt8]
    }

    enum Outcome {
        /// `input`: our end of its stdin while `written` < the input's size (the rest is the
        /// loop's to write as the pipe takes it); nil once all of it is in the pipe.
        case started(run: Int, pid: Int32, pidfd: FileDescriptor, input: FileDescriptor?, written: Int, output: FileDescriptor)
        case failed(run: Int, reason: String)
    }

    /// A payload bigger than a pipe holds by default gets a pipe that holds it (up to this).
    static let pipeBytes = 1 << 20

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

    /// Ends the thread (waiting for a spawn under way, at most `timeoutNanoseconds`); the runs
    /// of requests it never took are given back.
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

    /// The pipes, the clone, and as much of the input as the pipe takes at once.
    private func perform(_ request: Request) -> Outcome {
        let input: BulkheadSystem.Pipe
        let output: BulkheadSystem.Pipe
        do {
            input = try BulkheadSystem.Pipe()
        } catch {
            return .failed(run: request.run, reason: "\(error)")
        }
        do {
            output = try BulkheadSystem.Pipe()
        } catch {
            input.readEnd.close()
            input.writeEnd.close()
            return .failed(run: request.run, reason: "\(error)")
        }
        // The hook reads a blocking stdin; ours is the non-blocking end, moved out of the way.
        let stdinRead = input.readEnd
        let stdinWrite = input.writeEnd.movedHigh()
        try? stdinRead.setNonBlocking(false)
        try? stdinWrite.setNonBlocking(true)
        if request.input.count > 60 << 10 {
            _ = bh_set_pipe_size(stdinWrite.rawValue, Int32(min(request.input.count + 4096, Self.pipeBytes)))
        }
        let spawn = SpawnRequest(executable: request.executable, arguments: request.arguments, environment: request.environment,
                                 standardInput: stdinRead, standardOutput: output.writeEnd, standardError: output.writeEnd, nice: nice)
        let pid: Int32
        do {
            pid = try Spawner.spawn(spawn)
        } catch {
            for fd in [stdinRead, stdinWrite, output.readEnd, output.writeEnd] { fd.close() }
            return .failed(run: request.run, reason: error.description)
        }
        stdinRead.close()
        output.writeEnd.close()
        guard let pidfd = Reaper.pidfd(for: pid) else {
            // Nothing could time it out or reap it: it goes now, reaped by the thread it belongs to.
            ProcessSignals.signalGroup(pid, SIGKILL)
            ProcessSignals.signalProcess(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            stdinWrite.close()
            output.readEnd.close()
            return .failed(run: request.run, reason: "pidfd_open failed for pid \(pid); it was killed")
        }
        let written = Self.write(request.input, to: stdinWrite)
        let done = written < 0 || written == request.input.count
        if done { stdinWrite.close() }
        return .started(run: request.run, pid: pid, pidfd: pidfd, input: done ? nil : stdinWrite,
                        written: max(written, 0), output: output.readEnd)
    }

    /// Writes what a non-blocking fd takes now: the count, or -1 when the reader is gone (EPIPE).
    static func write(_ bytes: [UInt8], from start: Int = 0, to fd: FileDescriptor) -> Int {
        var written = start
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.write(fd.rawValue, raw.baseAddress! + written, raw.count - written) }
            if n > 0 {
                written += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN {
                return written
            } else {
                return -1
            }
        }
        return written
    }
}
