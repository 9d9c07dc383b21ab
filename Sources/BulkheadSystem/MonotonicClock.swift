import CLinux
import Glibc

/// The daemon's only clocks. Policy never reads one: the supervisor turns these into `Instant`s
/// (Supervisor's MonotonicClock+Instant.swift), so this layer knows nothing of policy.
public enum MonotonicClock {
    /// CLOCK_MONOTONIC in nanoseconds.
    public static func nanoseconds() -> UInt64 {
        bh_monotonic_ns()
    }

    /// Sleeps the calling thread (never the loop's) for the whole duration, through signals.
    public static func sleep(nanoseconds: Int64) {
        guard nanoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

public enum WallClock {
    /// Nanoseconds since the epoch.
    public static func nowNanoseconds() -> Int64 {
        bh_realtime_ns()
    }

    /// Wall-clock nanoseconds of a monotonic time, using the current offset between the clocks.
    public static func wallNanoseconds(ofMonotonic nanoseconds: UInt64) -> Int64 {
        let offset = bh_realtime_ns() - Int64(bitPattern: bh_monotonic_ns())
        return Int64(bitPattern: nanoseconds) + offset
    }
}
