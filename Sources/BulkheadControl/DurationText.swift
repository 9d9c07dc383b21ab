/// How the status table and the CLI write a span of time, as short as a column allows.
public enum DurationText {
    /// `850ms`, `3.5s`, `37s`, `4m12s`, `2h05m`, `3d04h`.
    public static func short(milliseconds ms: Int64) -> String {
        ShortDuration(milliseconds: ms).withUTF8 { String(decoding: $0, as: UTF8.self) }
    }

    /// `7` → `07`.
    public static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

/// `DurationText.short` as bytes in the value itself: the status table writes one per
/// instance, a thousand per request, and builds no String for them.
public struct ShortDuration: Sendable {
    /// Room for the longest, `106751991167d07h` (Int64.max ms).
    private var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)
    public private(set) var count = 0

    public init(milliseconds ms: Int64) {
        let ms = max(ms, 0)
        if ms < 1000 {
            number(ms)
            ascii("ms")
            return
        }
        let s = ms / 1000
        if s < 60 {
            number(s)
            if ms < 10_000 {
                ascii(".")
                number((ms % 1000) / 100)
            }
            ascii("s")
        } else if s < 3600 {
            pair(s / 60, "m", s % 60, "s")
        } else if s < 86400 {
            pair(s / 3600, "h", (s / 60) % 60, "m")
        } else {
            pair(s / 86400, "d", (s / 3600) % 24, "h")
        }
    }

    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { raw in
            try body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    /// `4m` and `12s`, the second number in two digits.
    private mutating func pair(_ first: Int64, _ unit: Unicode.Scalar, _ second: Int64, _ secondUnit: Unicode.Scalar) {
        number(first)
        byte(UInt8(ascii: unit))
        byte(UInt8(truncatingIfNeeded: second / 10) + 0x30)
        byte(UInt8(truncatingIfNeeded: second % 10) + 0x30)
        byte(UInt8(ascii: secondUnit))
    }

    private mutating func number(_ value: Int64) {
        var divisor: Int64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            byte(UInt8(truncatingIfNeeded: (value / divisor) % 10) + 0x30)
            divisor /= 10
        }
    }

    private mutating func ascii(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { byte(b) } }
    }

    private mutating func byte(_ value: UInt8) {
        withUnsafeMutableBytes(of: &storage) { $0[count] = value }
        count += 1
    }
}
