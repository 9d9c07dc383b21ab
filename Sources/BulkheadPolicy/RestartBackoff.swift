/// SPEC §3: delay n = min(max, initial × multiplier^n), then ± jitter.
public enum RestartBackoff {
    /// - Parameter jitterSample: a uniform sample in [-1, 1] (policy takes randomness as input).
    public static func delay(attempt: Int, policy: BackoffPolicy, jitterSample: Double) -> Duration {
        let initial = policy.initial.seconds
        guard initial > 0 else { return .zero }
        let cap = policy.max.seconds
        let grown = initial * pow(policy.multiplier, attempt)
        let base = min(cap, grown.isFinite ? grown : cap)
        let jitter = max(0, min(policy.jitter, 1)) * max(-1, min(jitterSample, 1))
        return Duration(secondsValue: base * (1 + jitter))
    }

    /// x^n for a non-negative integer n, without Foundation.
    static func pow(_ x: Double, _ n: Int) -> Double {
        var result = 1.0
        var i = 0
        while i < n && result.isFinite && result < 1e15 {
            result *= x
            i += 1
        }
        return result
    }
}

/// A small, fast, seedable generator (SplitMix64): jitter is reproducible in tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1].
    public mutating func signedUnit() -> Double {
        Double(next() >> 11) / Double(1 << 53) * 2 - 1
    }
}
