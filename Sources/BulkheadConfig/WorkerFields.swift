import BulkheadPolicy

/// One worker's keys (or `defaults`' keys) as written, each with where it was written; nil
/// where the key is absent. `Located<T?>` keys may be written as null to unset a value that
/// `defaults` set (`watchdog: ~`).
struct WorkerFields {
    var site: Site
    /// Every known key written, valid or not: a bad `command` is reported as bad, not missing.
    var writtenKeys: Set<String> = []
    var name: Located<String>?
    var command: Located<[Located<String>]>?
    var instances: Located<Int>?
    var env: [Located<EnvironmentEntry>] = []
    var cwd: Located<String?>?
    var user: Located<String?>?
    var group: Located<String?>?
    var ready: Located<ReadyMode>?
    var startTimeout: Located<Duration>?
    var watchdog: Located<Duration?>?
    var watchdogGrace: Located<Duration>?
    var dependsOn: Located<[Located<String>]>?
    var strategy: Located<RestartStrategy>?
    var limits = LimitFields()
    var rules: [ClassificationRule] = []
    var restart: Located<RestartMode>?
    var backoff = BackoffFields()
    var crashLoop = CrashLoopFields()
    var stop = StopFields()
    var backtrace: Located<Bool>?
    var output: Located<WorkerOutput>?

    init(site: Site) {
        self.site = site
    }
}

struct BackoffFields {
    var initial: Located<Duration>?
    var max: Located<Duration>?
    var multiplier: Located<Double>?
    var jitter: Located<Double>?
    var resetAfter: Located<Duration>?
}

struct CrashLoopFields {
    var maxRestarts: Located<Int>?
    var window: Located<Duration>?
    var cooldown: Located<Duration>?
    var sameCrash: Located<Int>?
}

struct StopFields {
    var signal: Located<Int32>?
    var timeout: Located<Duration>?
}

/// nil: not written; `.some(nil)`: written as null or (for `memory`) `unlimited`, i.e. no limit
/// from this level on.
struct LimitFields {
    var memory: Located<UInt64?>?
    var openFiles: Located<UInt64?>?
    var processes: Located<UInt64?>?
    var coreSize: Located<UInt64?>?
    var cpuSeconds: Located<UInt64?>?
    var fileSize: Located<UInt64?>?
}

/// The keys a worker mapping may hold, and which of them `defaults` may not.
enum WorkerKeys {
    static let all = [
        "name", "command", "instances", "env", "cwd", "user", "group", "ready", "start_timeout", "watchdog",
        "watchdog_grace", "depends_on", "strategy", "limits", "rules", "restart", "backoff", "crash_loop", "stop",
        "backtrace", "output",
    ]
    /// Keys that only make sense for one worker.
    static let workerOnly = ["name", "command", "instances", "depends_on"]

    static let backoff = ["initial", "max", "multiplier", "jitter", "reset_after"]
    static let crashLoop = ["max_restarts", "window", "cooldown", "same_crash"]
    static let stop = ["signal", "timeout"]
    static let limits = ["memory", "open_files", "processes", "core", "cpu_time", "file_size"]
}
