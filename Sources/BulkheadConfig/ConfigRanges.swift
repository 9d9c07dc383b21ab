import BulkheadPolicy

/// Every number, duration and size the config takes, with the values it accepts (SPEC §2: a
/// value outside its range is an error like the others, with file, line and key). The readers
/// check against this table and nothing else; the README's config reference lists the same
/// ranges, and a test holds the two together.
///
/// The bounds are chosen so that no arithmetic the daemon does on a config value can overflow
/// or allocate without bound (the daemon also saturates, so a bound is never the only guard),
/// and wide enough that nobody with a real need meets them.
public enum ConfigRanges {
    public enum Bounds: Equatable, Sendable {
        case count(ClosedRange<Int>)
        case duration(ClosedRange<Duration>)
        case size(ClosedRange<UInt64>)
        case fraction(ClosedRange<Double>)
        /// Whole percentages, written with their sign (`150%`).
        case percent(ClosedRange<Int>)

        /// `1 to 100000`, `0s to 1h`, `1 to 1024TiB`, as the README writes it.
        public var text: String {
            switch self {
            case .count(let r): return "\(r.lowerBound) to \(r.upperBound)"
            case .duration(let r): return "\(Units.format(r.lowerBound)) to \(Units.format(r.upperBound))"
            case .size(let r): return "\(ConfigRanges.sizeText(r.lowerBound)) to \(ConfigRanges.sizeText(r.upperBound))"
            case .fraction(let r): return "\(ConfigRanges.decimalText(r.lowerBound)) to \(ConfigRanges.decimalText(r.upperBound))"
            case .percent(let r): return "\(r.lowerBound)% to \(r.upperBound)%"
            }
        }
    }

    public struct Entry: Sendable {
        /// The key as the README names it: `workers[].instances`, `defaults` included.
        public var key: String
        public var bounds: Bounds
        /// Words allowed besides a value in range (`unlimited`).
        public var also: String?
    }

    static let day: Duration = .seconds(86_400)

    // Counts.
    public static let instances = 1...100_000
    /// All workers' instances together: the daemon holds a few fds and a little memory each.
    public static let totalInstances = 100_000
    public static let maxRestarts = 1...100_000
    public static let sameCrash = 0...1_000
    public static let openFiles = 1...(1 << 30)
    public static let processes = 1...4_194_304   // the kernel's pid_max limit
    public static let crashReportsKeep = 1...100_000
    /// Reports of one storm before the rest fold into the last (0: every death its own).
    public static let coalesceAfter = 0...100_000
    public static let crashReportsPerWorker = 1...100_000
    /// Lines kept per instance for `bulkhead logs`; each may be up to the line limit long, so
    /// this bounds memory per instance (×256 bytes on average, ×64 KiB at worst).
    public static let bufferLines = 0...100_000
    public static let stderrTailLines = 0...1_000
    public static let exitCode = 0...255
    /// Events kept in memory (each a few hundred bytes) for `bulkhead events` and followers.
    public static let eventHistory = 16...1_000_000
    public static let reportRecords = 100...1_000_000
    public static let hookProcesses = 1...256
    public static let hookConcurrency = 1...64
    public static let hookRateCount = 1...100_000
    public static let alertCount = 1...10_000
    public static let metricsPort = 1...65_535
    /// Percent of one CPU: 1 % to a thousand CPUs.
    public static let cpuPercent = 1...100_000
    /// cgroup v2 io.weight's own range.
    public static let ioWeight = 1...10_000
    public static let tasks = 1...4_194_304       // the kernel's pid_max limit
    /// Consecutive probe results that count.
    public static let probeThreshold = 1...1_000
    /// listen(2)'s backlog (the kernel caps it at net.core.somaxconn).
    public static let socketBacklog = 1...65_535
    /// Sockets per worker: they and the breadcrumb ring are the fds a spawn passes from fd 3
    /// on, at most 32 (bh_spawn's MAX_EXTRA_FDS).
    public static let socketsPerWorker = 0...31

    // Durations. Lower bounds are what a value means (0 where zero is a choice, else more than
    // 0); upper bounds are a week for timeouts and a month for the breaker's cooldown.
    static let week = day * 7
    public static let backoffInitial: ClosedRange<Duration> = .zero ... .seconds(3600)
    public static let backoffMax: ClosedRange<Duration> = .nanoseconds(1) ... week
    public static let resetAfter: ClosedRange<Duration> = .nanoseconds(1) ... week
    public static let coalesceWindow: ClosedRange<Duration> = .milliseconds(1) ... day
    public static let window: ClosedRange<Duration> = .nanoseconds(1) ... week
    public static let cooldown: ClosedRange<Duration> = .nanoseconds(1) ... (day * 30)
    public static let stopTimeout: ClosedRange<Duration> = .nanoseconds(1) ... week
    public static let startTimeout: ClosedRange<Duration> = .nanoseconds(1) ... week
    public static let watchdog: ClosedRange<Duration> = .nanoseconds(1) ... week
    public static let watchdogGrace: ClosedRange<Duration> = .zero ... .seconds(3600)
    public static let readyAfter: ClosedRange<Duration> = .zero ... week
    /// RLIMIT_CPU is whole seconds: anything shorter is rounded up to 1 s.
    public static let cpuTime: ClosedRange<Duration> = .nanoseconds(1) ... (day * 366)
    public static let hookTimeout: ClosedRange<Duration> = .milliseconds(1) ... .seconds(3600)
    public static let hookRatePeriod: ClosedRange<Duration> = .milliseconds(1) ... week
    public static let alertWindow: ClosedRange<Duration> = .milliseconds(1) ... week
    public static let alertFor: ClosedRange<Duration> = .zero ... (day * 30)
    /// A probe more often than every 10 ms would be the daemon's main work.
    public static let probeInterval: ClosedRange<Duration> = .milliseconds(10) ... day
    public static let probeTimeout: ClosedRange<Duration> = .milliseconds(1) ... .seconds(3600)
    public static let probeInitialDelay: ClosedRange<Duration> = .zero ... day

    // Sizes and fractions.
    public static let memory: ClosedRange<UInt64> = 1...(1 << 50)
    public static let coreSize: ClosedRange<UInt64> = 0...(1 << 50)
    public static let fileSize: ClosedRange<UInt64> = 1...(1 << 60)
    public static let crashReportsBytes: ClosedRange<UInt64> = 1...(1 << 40)
    public static let multiplier: ClosedRange<Double> = 1...100
    public static let jitter: ClosedRange<Double> = 0...1

    /// The whole table, for the README and its test.
    public static let all: [Entry] = [
        Entry(key: "crash_reports.per_worker", bounds: .count(crashReportsPerWorker)),
        Entry(key: "crash_reports.total", bounds: .count(crashReportsKeep)),
        Entry(key: "crash_reports.keep", bounds: .count(crashReportsKeep)),
        Entry(key: "crash_reports.max_bytes", bounds: .size(crashReportsBytes)),
        Entry(key: "crash_reports.coalesce_after", bounds: .count(coalesceAfter)),
        Entry(key: "crash_reports.coalesce_window", bounds: .duration(coalesceWindow)),
        Entry(key: "output.buffer_lines", bounds: .count(bufferLines)),
        Entry(key: "output.stderr_tail_lines", bounds: .count(stderrTailLines)),
        Entry(key: "workers[].instances", bounds: .count(instances)),
        Entry(key: "ready (a duration)", bounds: .duration(readyAfter)),
        Entry(key: "start_timeout", bounds: .duration(startTimeout)),
        Entry(key: "watchdog", bounds: .duration(watchdog)),
        Entry(key: "watchdog_grace", bounds: .duration(watchdogGrace)),
        Entry(key: "backoff.initial", bounds: .duration(backoffInitial)),
        Entry(key: "backoff.max", bounds: .duration(backoffMax)),
        Entry(key: "backoff.multiplier", bounds: .fraction(multiplier)),
        Entry(key: "backoff.jitter", bounds: .fraction(jitter)),
        Entry(key: "backoff.reset_after", bounds: .duration(resetAfter)),
        Entry(key: "crash_loop.max_restarts", bounds: .count(maxRestarts)),
        Entry(key: "crash_loop.window", bounds: .duration(window)),
        Entry(key: "crash_loop.cooldown", bounds: .duration(cooldown)),
        Entry(key: "crash_loop.same_crash", bounds: .count(sameCrash)),
        Entry(key: "stop.timeout", bounds: .duration(stopTimeout)),
        Entry(key: "limits.memory", bounds: .size(memory)),
        Entry(key: "limits.open_files", bounds: .count(openFiles)),
        Entry(key: "limits.processes", bounds: .count(processes), also: "unlimited"),
        Entry(key: "limits.core", bounds: .size(coreSize), also: "unlimited"),
        Entry(key: "limits.cpu_time", bounds: .duration(cpuTime), also: "unlimited"),
        Entry(key: "limits.file_size", bounds: .size(fileSize), also: "unlimited"),
        Entry(key: "rules[].when.exit_code", bounds: .count(exitCode)),
        Entry(key: "events.history", bounds: .count(eventHistory)),
        Entry(key: "events.report_records", bounds: .count(reportRecords)),
        Entry(key: "events.hook_processes", bounds: .count(hookProcesses)),
        Entry(key: "hooks[].timeout", bounds: .duration(hookTimeout)),
        Entry(key: "hooks[].concurrency", bounds: .count(hookConcurrency)),
        Entry(key: "hooks[].rate (runs)", bounds: .count(hookRateCount)),
        Entry(key: "hooks[].rate (period)", bounds: .duration(hookRatePeriod)),
        Entry(key: "alerts[].when.count", bounds: .count(alertCount)),
        Entry(key: "alerts[].when.within", bounds: .duration(alertWindow)),
        Entry(key: "alerts[].when.for", bounds: .duration(alertFor)),
        Entry(key: "metrics.listen (port)", bounds: .count(metricsPort)),
        Entry(key: "limits.cpu", bounds: .percent(cpuPercent)),
        Entry(key: "limits.io_weight", bounds: .count(ioWeight)),
        Entry(key: "limits.tasks", bounds: .count(tasks), also: "unlimited"),
        Entry(key: "health.*.initial_delay", bounds: .duration(probeInitialDelay)),
        Entry(key: "health.*.interval", bounds: .duration(probeInterval)),
        Entry(key: "health.*.timeout", bounds: .duration(probeTimeout)),
        Entry(key: "health.*.failures", bounds: .count(probeThreshold)),
        Entry(key: "health.*.successes", bounds: .count(probeThreshold)),
        Entry(key: "sockets[].backlog", bounds: .count(socketBacklog)),
    ]

    /// `1MiB`, `1024TiB`, `4096`: the largest unit the config takes that divides it.
    static func sizeText(_ bytes: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (scale, unit) in units where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(unit)"
        }
        return "\(bytes)"
    }

    static func decimalText(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : "\(value)"
    }
}
