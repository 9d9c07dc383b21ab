import CLinux
import Glibc

/// CLOCK_MONOTONIC, the clock bulkhead and the breadcrumb ring use.
enum Clock {
    static func now() -> UInt64 { bh_monotonic_ns() }

    /// Blocks until the monotonic clock reaches `deadline` (an absolute sleep: no drift, and a
    /// signal handler interrupting it costs nothing).
    static func sleep(until deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }

    static func sleep(for duration: UInt64) {
        let (deadline, overflow) = now().addingReportingOverflow(duration)
        sleep(until: overflow ? UInt64.max / 2 : deadline)
    }
}
