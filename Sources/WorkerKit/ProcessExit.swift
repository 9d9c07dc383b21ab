import Glibc

/// WorkerKit's deliberate ends of the process. Each stamps the breadcrumb ring's dying time
/// first, so bulkhead can tell a chosen exit from a sudden death.
enum ProcessExit {
    /// Ends with `code` after flushing stdio (a worker's `print` output may sit in a buffer when
    /// stdout is a pipe). `_exit` rather than `exit`: other threads may still be running Swift
    /// code, and running atexit handlers and static destructors under them can turn a clean
    /// exit into a crash.
    static func exit(_ code: WorkerExitCode, ring: BreadcrumbRing) -> Never {
        ring.markDying()
        fflush(nil)
        _exit(code.rawValue)
    }

    /// Ends the process the way `signal`'s default action would have, so the parent sees
    /// "killed by SIGTERM" rather than an exit code that claims a clean or classified end.
    /// No stdio flush: a wedged thread may hold a stdio lock, and this path must not hang.
    static func terminate(bySignal signal: Int32, ring: BreadcrumbRing) -> Never {
        ring.markDying()
        Glibc.signal(signal, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        // In case this thread blocks it (a thread the worker made): unblock, then send it here.
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal)
        _exit(128 + signal)
    }
}
