/// The validated configuration (SPEC §2). `BulkheadConfig` builds it from YAML, with `defaults`
/// already merged into every worker; everything here is plain data.
public struct SupervisorConfig: Equatable, Sendable {
    public var control: ControlConfig
    public var stateDir: String
    public var crashReports: CrashReportRetention
    public var output: OutputConfig
    /// `auto`: a cgroup per instance where the machine allows (find and kill everything it
    /// started; memory limits). `off`: process groups and rlimits only (cheaper spawns).
    public var cgroups: Cgroups = .auto
    public var workers: [WorkerSpec]
    /// `events`, `hooks`, `alerts`, `metrics` (SPEC §11).
    public var monitoring = MonitoringConfig()

    public enum Cgroups: String, Equatable, Sendable { case auto, off }

    public init(
        control: ControlConfig = ControlConfig(),
        stateDir: String = "/var/lib/bulkhead",
        crashReports: CrashReportRetention = CrashReportRetention(),
        output: OutputConfig = OutputConfig(),
        workers: [WorkerSpec] = []
    ) {
        self.control = control
        self.stateDir = stateDir
        self.crashReports = crashReports
        self.output = output
        self.workers = workers
    }

    public func worker(named name: String) -> WorkerSpec? {
        workers.first { $0.name == name }
    }
}

public struct ControlConfig: Equatable, Sendable {
    /// nil: the default for the mode bulkhead runs in (root: /run/bulkhead/control.sock).
    public var socket: String?
    public var mode: UInt32
    public var group: String?

    public init(socket: String? = nil, mode: UInt32 = 0o660, group: String? = nil) {
        self.socket = socket
        self.mode = mode
        self.group = group
    }
}

/// How many crash reports are kept in `state_dir/crashes` (SPEC §7): the newest `perWorker` of
/// each worker, at most `keep` (`total`) and `maxBytes` in all, oldest removed first — never a
/// report a current `failed`, `quarantined` or `open` verdict points to.
public struct CrashReportRetention: Equatable, Sendable {
    /// `crash_reports.total` (`keep`, its older name).
    public var keep: Int
    public var maxBytes: UInt64
    /// `crash_reports.per_worker`: one chatty worker cannot push out another's reports.
    public var perWorker: Int
    /// `coalesce_after` and `coalesce_window`: in a storm, the deaths past the first
    /// `burst` of one worker, fingerprint and class within `window` fold into one report.
    public var coalescing: CrashCoalescer.Settings

    public init(keep: Int = 2000, maxBytes: UInt64 = 256 << 20, perWorker: Int = 20,
                coalescing: CrashCoalescer.Settings = CrashCoalescer.Settings()) {
        self.keep = keep
        self.maxBytes = maxBytes
        self.perWorker = perWorker
        self.coalescing = coalescing
    }
}

/// Where worker output and supervisor events go.
public struct OutputConfig: Equatable, Sendable {
    public enum Journal: String, Equatable, Sendable { case auto, on, off }
    public var journal: Journal
    /// Lines kept per instance for `bulkhead logs` when journald is not used.
    public var bufferLines: Int
    /// Lines of stderr kept per instance for crash reports.
    public var stderrTailLines: Int

    public init(journal: Journal = .auto, bufferLines: Int = 1000, stderrTailLines: Int = 40) {
        self.journal = journal
        self.bufferLines = bufferLines
        self.stderrTailLines = stderrTailLines
    }
}

public enum RestartMode: String, Equatable, Sendable, CaseIterable {
    case always
    case onFailure = "on-failure"
    case never
}

public enum ReadyMode: Equatable, Sendable {
    /// Ready when the worker sends `READY=1`.
    case notify
    /// Ready as soon as it has been spawned.
    case spawn
    /// Ready once it has stayed up this long.
    case after(Duration)
}

/// How a worker's restarts couple with its `depends_on` (Erlang/OTP's names).
public enum RestartStrategy: String, Equatable, Sendable, CaseIterable {
    /// Only the instance that died restarts.
    case oneForOne = "one_for_one"
    /// When a dependency restarts, this worker restarts after it (and so on down the chain).
    case restForOne = "rest_for_one"
    /// This worker and its dependencies restart together when any of them dies.
    case oneForAll = "one_for_all"
}

public struct BackoffPolicy: Equatable, Sendable {
    public var initial: Duration
    public var max: Duration
    public var multiplier: Double
    /// Fraction of the delay added or removed at random (0.2: ±20 %).
    public var jitter: Double
    /// Uptime after which a run counts as stable: the backoff sequence starts over.
    public var resetAfter: Duration

    public init(
        initial: Duration = .milliseconds(100), max: Duration = .seconds(30), multiplier: Double = 2.0,
        jitter: Double = 0.2, resetAfter: Duration = .seconds(60)
    ) {
        self.initial = initial
        self.max = max
        self.multiplier = multiplier
        self.jitter = jitter
        self.resetAfter = resetAfter
    }
}

public struct CrashLoopPolicy: Equatable, Sendable {
    /// More restarts than this inside `window` opens the breaker.
    public var maxRestarts: Int
    public var window: Duration
    public var cooldown: Duration
    /// The same crash fingerprint this many times in a row, with no stable run between, is a
    /// deterministic bug: the death becomes `persistent`. 0 disables.
    public var sameCrash: Int

    public init(maxRestarts: Int = 10, window: Duration = .seconds(60), cooldown: Duration = .seconds(300), sameCrash: Int = 3) {
        self.maxRestarts = maxRestarts
        self.window = window
        self.cooldown = cooldown
        self.sameCrash = sameCrash
    }
}

public struct StopPolicy: Equatable, Sendable {
    public var signal: Int32
    public var timeout: Duration

    public init(signal: Int32 = Signals.terminate, timeout: Duration = .seconds(10)) {
        self.signal = signal
        self.timeout = timeout
    }
}

public struct ResourceLimits: Equatable, Sendable {
    /// Bytes; enforced with a memory cgroup where the machine has one.
    public var memory: UInt64?
    public var openFiles: UInt64?
    public var processes: UInt64?
    /// RLIMIT_CORE in bytes (UInt64.max: unlimited).
    public var coreSize: UInt64?
    /// RLIMIT_CPU in seconds.
    public var cpuSeconds: UInt64?
    /// RLIMIT_FSIZE in bytes.
    public var fileSize: UInt64?
    /// CPU bandwidth in percent of one CPU (`150%`: one and a half), cgroup `cpu.max`.
    public var cpuPercent: Int?
    /// cgroup `io.weight` (1–10000, the kernel's default 100).
    public var ioWeight: Int?
    /// Processes and threads together, cgroup `pids.max` (UInt64.max: `unlimited`).
    public var tasks: UInt64?

    public init(memory: UInt64? = nil, openFiles: UInt64? = nil, processes: UInt64? = nil,
                coreSize: UInt64? = nil, cpuSeconds: UInt64? = nil, fileSize: UInt64? = nil,
                cpuPercent: Int? = nil, ioWeight: Int? = nil, tasks: UInt64? = nil) {
        self.memory = memory
        self.openFiles = openFiles
        self.processes = processes
        self.coreSize = coreSize
        self.cpuSeconds = cpuSeconds
        self.fileSize = fileSize
        self.cpuPercent = cpuPercent
        self.ioWeight = ioWeight
        self.tasks = tasks
    }

    public var isEmpty: Bool { self == ResourceLimits() }
}

/// One classification rule (SPEC §2 `rules`): every condition given must hold.
public struct ClassificationRule: Equatable, Sendable {
    public var exitCodes: [Int32]
    public var signals: [Int32]
    /// A substring of the stderr tail.
    public var stderrContains: String?
    /// The runtime whose crash was recognised (`go`; SPEC §7 `runtime`).
    public var runtime: String?
    /// The recognised crash's kind (`panic`; SPEC §7 `crash_kind`): equal, or the family of a
    /// kind written `family: detail` (`sanitizer` matches `sanitizer: heap-use-after-free`).
    public var crashKind: String?
    /// A substring of the crash's message or its headline.
    public var messageContains: String?
    public var result: DeathClass
    /// Where it came from, for the report's `rule` field (e.g. `rules[0]`).
    public var label: String

    public init(exitCodes: [Int32] = [], signals: [Int32] = [], stderrContains: String? = nil, runtime: String? = nil,
                crashKind: String? = nil, messageContains: String? = nil, result: DeathClass, label: String) {
        self.exitCodes = exitCodes
        self.signals = signals
        self.stderrContains = stderrContains
        self.runtime = runtime
        self.crashKind = crashKind
        self.messageContains = messageContains
        self.result = result
        self.label = label
    }
}

public struct WorkerSpec: Equatable, Sendable {
    public var name: String
    public var command: [String]
    public var instances: Int
    /// In file order (later keys of `env` override `defaults.env`).
    public var env: [EnvironmentEntry]
    public var cwd: String?
    public var user: String?
    public var group: String?
    public var ready: ReadyMode
    /// How long `ready: notify` may take before the start counts as failed.
    public var startTimeout: Duration
    public var watchdog: Duration?
    /// Time between the watchdog's SIGQUIT (thread dump) and SIGKILL.
    public var watchdogGrace: Duration
    public var dependsOn: [String]
    public var strategy: RestartStrategy
    public var limits: ResourceLimits
    public var rules: [ClassificationRule]
    public var restart: RestartMode
    public var backoff: BackoffPolicy
    public var crashLoop: CrashLoopPolicy
    public var stop: StopPolicy
    /// Set SWIFT_BACKTRACE so the runtime backtracer writes a report bulkhead reads.
    public var backtrace: Bool
    /// Where in the config file this worker was defined (for messages).
    public var sourceLine: Int
    /// Where stdout and stderr go (`output`).
    public var output: WorkerOutput
    /// `health`: ready and live probes.
    public var health = HealthChecks()
    /// `sockets`: opened by bulkhead, passed to every instance from fd 3 on (LISTEN_FDS).
    public var sockets: [SocketSpec] = []
    /// `env_file`, as written (the values are in `envFileEntries`).
    public var envFiles: [EnvFileReference] = []
    /// What the env files said when the config was read, in order: they override `env`.
    public var envFileEntries: [EnvironmentEntry] = []
    /// `credentials`: copied into the instance's CREDENTIALS_DIRECTORY at each start.
    public var credentials: [CredentialSpec] = []
    /// Why no instance of this worker can start, found when the config was read at daemon
    /// start (a required env file is missing): its spawns fail with this, and nothing else does.
    public var startProblem: String?

    public init(
        name: String, command: [String], instances: Int = 1, env: [EnvironmentEntry] = [], cwd: String? = nil,
        user: String? = nil, group: String? = nil, ready: ReadyMode = .spawn, startTimeout: Duration = .seconds(60),
        watchdog: Duration? = nil, watchdogGrace: Duration = .seconds(2), dependsOn: [String] = [],
        strategy: RestartStrategy = .oneForOne, limits: ResourceLimits = ResourceLimits(), rules: [ClassificationRule] = [],
        restart: RestartMode = .onFailure, backoff: BackoffPolicy = BackoffPolicy(), crashLoop: CrashLoopPolicy = CrashLoopPolicy(),
        stop: StopPolicy = StopPolicy(), backtrace: Bool = true, sourceLine: Int = 0, output: WorkerOutput = .bulkhead
    ) {
        self.name = name
        self.command = command
        self.instances = instances
        self.env = env
        self.cwd = cwd
        self.user = user
        self.group = group
        self.ready = ready
        self.startTimeout = startTimeout
        self.watchdog = watchdog
        self.watchdogGrace = watchdogGrace
        self.dependsOn = dependsOn
        self.strategy = strategy
        self.limits = limits
        self.rules = rules
        self.restart = restart
        self.backoff = backoff
        self.crashLoop = crashLoop
        self.stop = stop
        self.backtrace = backtrace
        self.sourceLine = sourceLine
        self.output = output
    }

    /// What the running process was started with: a change here needs a restart to take effect.
    /// Everything else (restart, backoff, crash_loop, stop, rules, strategy, depends_on, ready
    /// timeouts) is policy, applied to the running process in place.
    public var processIdentity: ProcessIdentity {
        ProcessIdentity(command: command, env: env, cwd: cwd, user: user, group: group, limits: limits,
                        watchdog: watchdog, backtrace: backtrace, ready: ready, output: output, health: health, sockets: sockets,
                        envFileEntries: envFileEntries, credentials: credentials, startProblem: startProblem)
    }

    /// Equal in everything that has an effect: where in the file it was written does not count
    /// (a comment added above it moves every worker's line).
    public func hasSameSettings(as other: WorkerSpec) -> Bool {
        var a = self, b = other
        a.sourceLine = 0
        b.sourceLine = 0
        return a == b
    }

    public func instanceIDs() -> [InstanceID] {
        (0..<instances).map { InstanceID(worker: name, index: $0) }
    }
}

public struct EnvironmentEntry: Equatable, Sendable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

public struct ProcessIdentity: Equatable, Sendable {
    public var command: [String]
    public var env: [EnvironmentEntry]
    public var cwd: String?
    public var user: String?
    public var group: String?
    public var limits: ResourceLimits
    public var watchdog: Duration?
    public var backtrace: Bool
    public var ready: ReadyMode
    public var output: WorkerOutput
    // A new probe restarts the worker: its trackers belong to the process they were started for.
    public var health: HealthChecks
    public var sockets: [SocketSpec]
    public var envFileEntries: [EnvironmentEntry]
    public var credentials: [CredentialSpec]
    public var startProblem: String?
}

/// `api:0`.
public struct InstanceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var worker: String
    public var index: Int

    public init(worker: String, index: Int) {
        self.worker = worker
        self.index = index
    }

    /// Parses `api:1`; nil for anything else.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let index = Int(text[text.index(after: colon)...]), index >= 0 else { return nil }
        self.worker = String(text[..<colon])
        self.index = index
    }

    public var description: String { "\(worker):\(index)" }

    public static func < (lhs: InstanceID, rhs: InstanceID) -> Bool {
        (lhs.worker, lhs.index) < (rhs.worker, rhs.index)
    }
}
