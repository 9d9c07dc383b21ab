import CLinux
import Glibc

/// SIGTERM and SIGINT as events: a minimal handler writes the signal number into a pipe
/// (the self-pipe trick) and a dedicated thread acts on it.
///
/// Why not block the signals and sigwait/signalfd, the usual choice: under Swift's async `main`
/// the main thread ends in libdispatch's `dispatch_main`, which parks it in `sigsuspend` with an
/// *empty* mask. The kernel offers a process-directed signal to the thread-group leader first,
/// so the main thread would take every SIGTERM with its default action (death by SIGTERM, no
/// cancellation). Blocking would also leak into programs the worker starts (a blocked mask
/// survives exec, so a spawned `sh -c` could not be stopped by SIGTERM), whereas a caught
/// signal is reset to its default by exec.
///
/// What the handler does, and nothing else: save errno, write(2) one byte to a non-blocking
/// pipe whose fd sits in a statically initialised global (no lazy-init, no exclusivity
/// bookkeeping: `@exclusivity(unchecked)`, written once before the handler is installed),
/// restore errno. write(2) is async-signal-safe; a full pipe drops the byte (EAGAIN) rather than
/// block. Everything else runs on the watcher thread, a plain POSIX thread outside the
/// cooperative pool, so it works when every pool thread is blocked.
///
/// - First signal: the stop is requested (`run` is cancelled, `STOPPING=1` is sent, waiters
///   wake). The thread then waits for a second signal or the end of the grace period.
/// - Second signal, or grace over: the process ends at once, killed by the first signal
///   (`ProcessExit.terminate`).
/// - A SIGINT ignored on entry (a shell's background job) stays ignored.
enum StopSignalWatcher {
    /// The signals that ask a worker to stop.
    static let signals: [Int32] = [SIGTERM, SIGINT]

    /// Creates the pipe and installs the handlers; returns the pipe's read end. Call once,
    /// before anything could send a stop signal that should be caught.
    static func install() -> Int32 {
        var fds: [Int32] = [-1, -1]
        let result = bh_pipe(&fds)
        precondition(result == 0, "WorkerKit could not create its signal pipe (error \(-result))")
        _ = bh_set_nonblocking(fds[1], 1)
        stopSignalPipeWriteEnd = fds[1]
        for signal in signals {
            var previous = sigaction()
            sigaction(signal, nil, &previous)
            // C function pointers are not Equatable in Swift; compare their bits.
            let ignored = unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
            if signal == SIGINT && ignored { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = stopSignalHandler
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        return fds[0]
    }

    /// Starts the watcher thread on the pipe's read end. `grace` nil: only a second signal
    /// forces the exit. `reaction` names what the stop request does, for the notice line.
    static func start(
        pipe: Int32, stop: StopController, grace: Duration?, name: String, output: WorkerOutput, ring: BreadcrumbRing,
        reaction: String = "cancelling run"
    ) {
        PosixThread.start(name: "wk-signals") {
            guard let first = nextSignal(pipe, deadline: nil) else { return }
            let graceText = grace.map { "; ending at once in \(describe($0)) or on a second signal" } ?? ""
            WorkerNotice.write(.notice, name, "\(signalName(first)) received: stopping (\(reaction)\(graceText))", to: output)
            stop.request(signal: first)

            let deadline = grace.map { bh_monotonic_ns() &+ MonotonicTime.nanoseconds($0) }
            if let second = nextSignal(pipe, deadline: deadline) {
                WorkerNotice.write(.warning, name, "second signal (\(signalName(second))) during stop: exiting now", to: output)
                ring.record("forced exit", ["reason": "second signal", "signal": signalName(second)])
            } else {
                WorkerNotice.write(.error, name, "still running \(describe(grace ?? .zero)) after \(signalName(first)): exiting now", to: output)
                ring.record("forced exit", ["reason": "stop grace over", "signal": signalName(first)])
            }
            ProcessExit.terminate(bySignal: first, ring: ring)
        }
    }

    /// The next signal number from the pipe, or nil once `deadline` (CLOCK_MONOTONIC ns) passes.
    private static func nextSignal(_ pipe: Int32, deadline: UInt64?) -> Int32? {
        while true {
            var byte: UInt8 = 0
            if read(pipe, &byte, 1) == 1 { return Int32(byte) }
            var timeout: Int32 = -1
            if let deadline {
                let now = bh_monotonic_ns()
                guard now < deadline else { return nil }
                // Round up: waking a millisecond late is fine, spinning on 0 ms is not.
                timeout = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var entry = pollfd(fd: pipe, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, timeout)
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }

    static func describe(_ duration: Duration) -> String {
        let milliseconds = MonotonicTime.nanoseconds(duration) / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

/// The pipe's write end, for the handler. A constant initialiser makes it a static global (no
/// swift_once on access); `@exclusivity(unchecked)` drops the runtime access tracking. It is
/// written once, before any handler is installed, and only read afterwards.
@exclusivity(unchecked) nonisolated(unsafe) private var stopSignalPipeWriteEnd: Int32 = -1

/// The signal handler: async-signal-safe work only (see `StopSignalWatcher`).
private func stopSignalHandler(_ signal: Int32) {
    let savedErrno = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(stopSignalPipeWriteEnd, &byte, 1)
    errno = savedErrno
}
