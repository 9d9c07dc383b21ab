import BulkheadControl
import BulkheadPolicy
import Testing

/// `DurationText.short`: the UPTIME column and the CLI's durations, written as bytes by
/// `ShortDuration` (the status table writes a thousand of them per request).
@Suite struct DurationTextTests {
    @Test("each unit's boundaries", arguments: [
        (Int64(-5), "0ms"),
        (0, "0ms"),
        (999, "999ms"),
        (1000, "1.0s"),
        (1_049, "1.0s"),
        (9_999, "9.9s"),
        (10_000, "10s"),
        (59_999, "59s"),
        (60_000, "1m00s"),
        (252_000, "4m12s"),
        (3_599_999, "59m59s"),
        (3_600_000, "1h00m"),
        (7_500_000, "2h05m"),
        (86_399_999, "23h59m"),
        (86_400_000, "1d00h"),
        (273_600_000, "3d04h"),
        (Int64.max, "106751991167d07h"),
    ])
    func short(milliseconds: Int64, expected: String) {
        #expect(DurationText.short(milliseconds: milliseconds) == expected)
        let bytes = ShortDuration(milliseconds: milliseconds)
        #expect(bytes.count == expected.utf8.count)
        #expect(bytes.withUTF8 { Array($0) } == Array(expected.utf8))
    }

    @Test("whole milliseconds between instants, never negative")
    func millisecondsBetweenInstants() {
        let start = Instant(nanoseconds: 5_000_000_000)
        #expect(Instant(nanoseconds: 5_001_999_999).milliseconds(since: start) == 1)
        #expect(Instant(nanoseconds: 7_500_000_000).milliseconds(since: start) == 2500)
        #expect(start.milliseconds(since: start) == 0)
        #expect(Instant(nanoseconds: 1).milliseconds(since: start) == 0)
        #expect(Instant(nanoseconds: .max).milliseconds(since: .zero) == Int64(UInt64.max / 1_000_000))
    }
}
