import Testing
@testable import BulkheadPolicy

@Suite("Units: durations and sizes")
struct UnitsTests {
    @Test("durations that parse", arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("10s", .seconds(10)),
        ("5m", .seconds(300)),
        ("1h", .seconds(3600)),
        ("1d", .seconds(86_400)),
        ("1h30m", .seconds(5400)),
        ("1m30s500ms", .milliseconds(90_500)),
        ("1.5s", .milliseconds(1500)),
        ("0.25s", .milliseconds(250)),
        ("0.1s", .milliseconds(100)),
        ("2.5m", .seconds(150)),
        ("100us", .microseconds(100)),
        ("100µs", .microseconds(100)),
        ("42ns", .nanoseconds(42)),
        ("0", .zero),
        ("0s", .zero),
        ("0ms", .zero),
        ("007s", .seconds(7)),
    ])
    func durations(text: String, expected: Duration) {
        #expect(Units.duration(text) == expected)
    }

    @Test("durations that do not", arguments: [
        "", "10", "s", "ms", "-1s", "+1s", "1.2.3s", "10 s", " 10s", "10s ", "10sec", "10S", "1h30", "1e3s", "∞s", "1hh",
        "3000000h",   // beyond what Int64 nanoseconds hold
    ])
    func badDurations(text: String) {
        #expect(Units.duration(text) == nil)
    }

    @Test("format: shortest readable form", arguments: [
        (Duration.zero, "0s"),
        (.nanoseconds(1500), "1500ns"),
        (.microseconds(2), "2us"),
        (.milliseconds(1), "1ms"),
        (.milliseconds(250), "250ms"),
        (.seconds(1), "1s"),
        (.milliseconds(1500), "1.500s"),
        (.milliseconds(59_050), "59.050s"),
        (.seconds(10), "10s"),
        (.seconds(60), "1m"),
        (.seconds(90), "1m30s"),
        (.milliseconds(61_500), "1m1s500ms"),
        (.seconds(3600), "1h"),
        (.seconds(5400), "1h30m"),
        (.seconds(86_400 + 3600 + 1), "1d1h1s"),
    ])
    func format(duration: Duration, text: String) {
        #expect(Units.format(duration) == text)
    }

    @Test("decimal seconds are exact to the nanosecond (rounded, not truncated by floating point)")
    func decimalSecondsExact() {
        var wrong: [String] = []
        for ms in Array(0..<5_000) + Array(stride(from: 5_001, to: 120_000, by: 37)) {
            let fraction = ms % 1000
            let text = "\(ms / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)s"
            if Units.duration(text) != .milliseconds(ms) { wrong.append(text) }
            if Duration(secondsValue: Double(ms) / 1000) != .milliseconds(ms) { wrong.append("secondsValue \(ms)ms") }
        }
        #expect(wrong.isEmpty, "e.g. \(wrong.prefix(3))")
        #expect(Units.duration("1.001s") == .nanoseconds(1_001_000_000))
        #expect(Units.duration("0.000000001s") == .nanoseconds(1))
    }

    @Test("format → parse round trip for whole milliseconds", arguments: [
        Duration.milliseconds(1), .milliseconds(250), .seconds(1), .milliseconds(1500), .milliseconds(59_999), .seconds(90),
        .milliseconds(61_500), .seconds(3600), .seconds(5400), .seconds(86_400 * 3 + 7),
    ])
    func roundTrip(duration: Duration) {
        #expect(Units.duration(Units.format(duration)) == duration)
    }

    static let mebibyte: UInt64 = 1 << 20
    static let gibibyte: UInt64 = 1 << 30
    static let goodSizes: [(String, UInt64)] = [
        ("4096", 4096),
        ("4096B", 4096),
        ("512MiB", 512 * mebibyte),
        ("2GiB", 2 * gibibyte),
        ("1.5GiB", 3 * gibibyte / 2),
        ("1KiB", 1024),
        ("1TiB", 1024 * gibibyte),
        ("1K", 1000),
        ("1KB", 1000),
        ("10MB", 10_000_000),
        ("3G", 3_000_000_000),
        ("1 MiB", mebibyte),
        (" 2GiB ", 2 * gibibyte),
        ("0", 0),
    ]

    @Test("sizes that parse", arguments: goodSizes)
    func sizes(text: String, expected: UInt64) {
        #expect(Units.size(text) == expected)
    }

    @Test("sizes that do not", arguments: ["", "MiB", "-1", "-1MiB", "1PiB", "1mib", "1e3", "1.2.3", "12 34", "1 2MiB", "99999999TiB"])
    func badSizes(text: String) {
        #expect(Units.size(text) == nil)
    }

    @Test("Instant arithmetic saturates instead of trapping")
    func instantArithmetic() {
        #expect(Instant(nanoseconds: 10) + .nanoseconds(5) == Instant(nanoseconds: 15))
        #expect(Instant(nanoseconds: 10) + .nanoseconds(-20) == .zero)
        #expect(Instant(nanoseconds: .max - 1) + .seconds(1) == Instant(nanoseconds: .max))
        #expect(Instant(nanoseconds: 5).duration(since: Instant(nanoseconds: 10)) == .zero)
        #expect(at(.seconds(3)).duration(since: at(.seconds(1))) == .seconds(2))
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration(secondsValue: -3) == .zero)
        #expect(Duration(secondsValue: 0.25) == .milliseconds(250))
    }

    @Test("measured times read as people write them: never raw nanoseconds")
    func latency() {
        #expect(Units.latency(.nanoseconds(379_544)) == "379µs")
        #expect(Units.latency(.nanoseconds(1_234_567)) == "1.2ms")
        #expect(Units.latency(.milliseconds(45)) == "45ms")
        #expect(Units.latency(.milliseconds(2_345)) == "2.3s")
        #expect(Units.latency(.zero) == "0µs")
    }
}
