import BulkheadPolicy
import BulkheadSystem

/// The clocks as policy's `Instant`: the one place the supervisor reads the time it hands to
/// policy.
extension MonotonicClock {
    static func now() -> Instant {
        Instant(nanoseconds: nanoseconds())
    }
}

extension WallClock {
    /// Converts a monotonic instant to wall-clock nanoseconds, using the current offset.
    static func wallNanoseconds(of instant: Instant) -> Int64 {
        wallNanoseconds(ofMonotonic: instant.nanoseconds)
    }
}
