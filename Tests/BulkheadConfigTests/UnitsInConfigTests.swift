import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("durations and sizes in the config")
struct UnitsInConfigTests {
    static let goodDurations: [(String, Duration)] = [
        ("250ms", .milliseconds(250)), ("10s", .seconds(10)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("1h30m", .seconds(5400)), ("1.5s", .milliseconds(1500)), ("2d", .seconds(172_800)), ("500us", .microseconds(500)),
        ("1ns", .nanoseconds(1)), ("\"10s\"", .seconds(10)), ("1m0s", .seconds(60)),
    ]

    @Test(arguments: goodDurations)
    func durations(_ text: String, _ expected: Duration) throws {
        let config = try load(oneWorker("    stop: { timeout: \(text) }"))
        #expect(config.workers[0].stop.timeout == expected)
    }

    static let badDurationCases: [(String, String)] = [
        ("10", #""10" is not a duration: add a unit (e.g. 10s or 10ms)"#),
        ("1.5", #""1.5" is not a duration: add a unit (e.g. 1.5s or 1.5ms)"#),
        ("10 s", #""10 s" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ("-5s", #""-5s" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ("5x", #""5x" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ("1e3s", #""1e3s" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ("s", #""s" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ("10S", #""10S" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        ("\"\"", #""" is not a duration (use e.g. 250ms, 10s, 5m, 1h)"#),
        // Written like a duration, but far past its range (issue 12: every value has a documented range).
        ("99999999999h", #""99999999999h" is above the maximum 7d"#),
        ("8d", #""8d" is above the maximum 7d"#),
        ("0", "must be more than 0"),
        ("0s", "must be more than 0"),
        ("[1s]", "expected a duration, got a list"),
    ]

    @Test(arguments: badDurationCases)
    func badDurations(_ text: String, _ message: String) {
        #expect(problems(oneWorker("    stop: { timeout: \(text) }")) == ["bulkhead.yaml:4: workers[0].stop.timeout: \(message)"])
    }

    @Test func zeroIsAllowedWhereItMeansSomething() throws {
        let config = try load(oneWorker("    watchdog_grace: 0", "    ready: 0s"))
        #expect(config.workers[0].watchdogGrace == .zero)
        #expect(config.workers[0].ready == .after(.zero))
    }

    static let goodSizes: [(String, UInt64)] = [
        ("512MiB", 512 << 20), ("2GiB", 2 << 30), ("1.5GiB", 3 << 29), ("4096", 4096), ("4096B", 4096),
        ("1KiB", 1024), ("1K", 1000), ("500MB", 500_000_000), ("1 GiB", 1 << 30), ("1TiB", 1 << 40),
    ]

    @Test(arguments: goodSizes)
    func sizes(_ text: String, _ expected: UInt64) throws {
        let config = try load(oneWorker("    limits: { memory: \(text), file_size: \(text) }"))
        #expect(config.workers[0].limits.memory == expected)
        #expect(config.workers[0].limits.fileSize == expected)
    }

    @Test(arguments: ["512 megs", "-1", "1GB2", "MiB", "1.2.3MiB", "1gib", "20000000TiB"])
    func badSizes(_ text: String) {
        #expect(problems(oneWorker("    limits: { memory: \(text) }")) == [
            "bulkhead.yaml:4: workers[0].limits.memory: \(quotedForTest(text)) is not a size (use e.g. 512MiB, 2GiB, 4096)",
        ])
    }

    @Test func limitsTakeUnlimitedAndZeroWhereTheKernelDoes() throws {
        let config = try load(oneWorker(
            "    limits: { core: unlimited, processes: unlimited, cpu_time: unlimited, file_size: unlimited, memory: unlimited }"))
        #expect(config.workers[0].limits == ResourceLimits(memory: nil, processes: .max, coreSize: .max, cpuSeconds: .max, fileSize: .max))
        let none = try load(oneWorker("    limits: { core: 0 }"))
        #expect(none.workers[0].limits.coreSize == 0)
    }

    @Test(arguments: [("1s", UInt64(1)), ("1500ms", 2), ("1ms", 1), ("1h", 3600)])
    func cpuTimeRoundsUpToSeconds(_ text: String, _ seconds: UInt64) throws {
        let config = try load(oneWorker("    limits: { cpu_time: \(text) }"))
        #expect(config.workers[0].limits.cpuSeconds == seconds)
    }

    static let modes: [(String, UInt32)] = [("\"0660\"", 0o660), ("0660", 0o660), ("660", 0o660), ("0o600", 0o600), ("'0777'", 0o777), ("0", 0)]

    @Test(arguments: modes)
    func controlModeIsOctal(_ text: String, _ mode: UInt32) throws {
        #expect(try load("control: { mode: \(text) }\n").control.mode == mode)
    }

    @Test(arguments: ["\"0680\"", "1777", "rw", "\"\"", "0x1ff"])
    func badControlModes(_ text: String) {
        let errors = ConfigLoader.check(yaml: "control: { mode: \(text) }\n", file: testFile)
        #expect(errors.map(\.keyPath) == ["control.mode"])
    }

    static let signals: [(String, Int32)] = [("TERM", 15), ("SIGTERM", 15), ("term", 15), ("INT", 2), ("HUP", 1), ("9", 9), ("SIGUSR2", 12), ("34", 34)]

    @Test(arguments: signals)
    func stopSignals(_ text: String, _ number: Int32) throws {
        #expect(try load(oneWorker("    stop: { signal: \(text) }")).workers[0].stop.signal == number)
    }

    @Test(arguments: ["0", "65", "TERMINATE", "SIG", "-15"])
    func badStopSignals(_ text: String) {
        let errors = ConfigLoader.check(yaml: oneWorker("    stop: { signal: \(text) }"), file: testFile)
        #expect(errors.map(\.keyPath) == ["workers[0].stop.signal"])
        #expect(errors.first?.line == 4)
    }

    @Test func numbersAndBoolsAreReadFromTheirText() throws {
        let config = try load(oneWorker(
            "    backoff: { multiplier: 3, jitter: 0 }", "    backtrace: no", "    instances: +2", "    crash_loop: { same_crash: 0 }"))
        let w = config.workers[0]
        #expect(w.backoff.multiplier == 3)
        #expect(w.backoff.jitter == 0)
        #expect(w.backtrace == false)
        #expect(w.instances == 2)
        #expect(w.crashLoop.sameCrash == 0)
    }
}

/// The loader's quoting for plain text (no escapes needed in these cases).
func quotedForTest(_ text: String) -> String { "\"\(text)\"" }
