import Glibc

/// A detached POSIX thread outside Swift's cooperative pool. The signal watcher and the
/// watchdog pinger live on these: they must keep running when every pool thread is blocked.
enum PosixThread {
    fileprivate final class Start: Sendable {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new detached thread named `name` (at most 15 bytes show). Traps when
    /// the thread cannot be created: WorkerKit cannot keep its promises without it.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, posixThreadEntry, start)
        precondition(result == 0, "WorkerKit could not start its \(name) thread (error \(result))")
        pthread_detach(thread)
    }

    /// pthread_setname_np sits behind _GNU_SOURCE, out of Swift's reach; /proc/thread-self/comm
    /// does the same. The name shows in thread dumps (`bulkhead` sends SIGQUIT before a kill).
    fileprivate static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

private func posixThreadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<PosixThread.Start>.fromOpaque(raw!).takeRetainedValue()
    PosixThread.nameCurrentThread(start.name)
    start.body()
    return nil
}

/// CLOCK_MONOTONIC helpers for the threads above.
enum MonotonicTime {
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max : whole &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// Sleeps until the absolute CLOCK_MONOTONIC time `deadline` (clock_nanosleep, EINTR
    /// retried): the schedule does not drift with the time spent awake.
    static func sleep(until deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }
}
