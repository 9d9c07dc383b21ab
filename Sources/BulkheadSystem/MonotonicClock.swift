import BulkheadPolicy
import CLinux

/// The daemon's only clocks. Policy gets `Instant`s from here, never reads one itself.
public enum MonotonicClock {
    public static func now() -> Instant {
        Instant(nanoseconds: bh_monotonic_ns())
    }
}

public enum WallClock {
    /// Nanoseconds since the epoch.
    public static func nowNanoseconds() -> Int64 {
        bh_realtime_ns()
    }

    /// Converts a monotonic instant to wall-clock nanoseconds, using the current offset.
    public static func wallNanoseconds(of instant: Instant) -> Int64 {
        let offset = bh_realtime_ns() - Int64(bitPattern: bh_monotonic_ns())
        return Int64(bitPattern: instant.nanoseconds) + offset
    }
}
