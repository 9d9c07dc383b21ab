/// A point on the monotonic clock, in nanoseconds. Policy never reads a clock: every event
/// carries the `Instant` it happened at, and deadlines come back as `Instant`s.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    public static let zero = Instant(nanoseconds: 0)

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let delta = rhs.nanoseconds
        if delta >= 0 {
            let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(UInt64(delta))
            return Instant(nanoseconds: overflow ? UInt64.max : sum)
        }
        let magnitude = UInt64(-delta)
        return Instant(nanoseconds: lhs.nanoseconds >= magnitude ? lhs.nanoseconds - magnitude : 0)
    }

    /// The time from `earlier` to `self` (zero when `earlier` is later).
    public func duration(since earlier: Instant) -> Duration {
        guard nanoseconds > earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(clamping: nanoseconds - earlier.nanoseconds))
    }

    /// Whole milliseconds from `earlier` to `self` (zero when `earlier` is later), in integer
    /// arithmetic: the status table asks this twice per instance per request.
    public func milliseconds(since earlier: Instant) -> Int64 {
        guard nanoseconds > earlier.nanoseconds else { return 0 }
        return Int64(clamping: (nanoseconds - earlier.nanoseconds) / 1_000_000)
    }

    public var description: String { "\(nanoseconds)ns" }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    public var microseconds: Int64 { nanoseconds / 1_000 }
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    /// Seconds as a Double (for multiplying by a backoff factor).
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public init(secondsValue: Double) {
        let clamped = max(0, min(secondsValue, 9.0e9))
        // Rounded, not truncated: 1.001 × 1e9 is 1000999999.99… in binary floating point.
        self = .nanoseconds(Int64((clamped * 1e9).rounded()))
    }
}
