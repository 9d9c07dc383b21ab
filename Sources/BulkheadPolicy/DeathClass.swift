/// Why an instance died (SPEC §3). Every death gets exactly one.
public enum DeathClass: String, Equatable, Hashable, Sendable, CaseIterable {
    case clean
    case transient
    case persistent
    case corruption
    case crash
    case hang
    case limit

    /// Journal priority (syslog levels) for a death of this class.
    public var priority: Int {
        switch self {
        case .clean: return 6
        case .transient: return 4
        case .crash, .hang, .limit: return 3
        case .persistent: return 2
        case .corruption: return 1
        }
    }

    /// How bad, for choosing the worst of several (WorkerKit's error group agrees).
    public var severity: Int {
        switch self {
        case .clean: return 0
        case .transient: return 1
        case .limit: return 2
        case .hang: return 3
        case .crash: return 4
        case .persistent: return 5
        case .corruption: return 6
        }
    }
}

/// How the main process ended, as the reaper saw it, or why it never started.
public enum Termination: Equatable, Sendable {
    case exited(code: Int32)
    case signaled(signal: Int32, coreDumped: Bool)
    case spawnFailed(SpawnFailure)
    /// It ended, and nobody can say how: a process bulkhead adopted from a previous run is not
    /// its child, so it cannot reap it (where the kernel keeps a non-child's exit status,
    /// pidfd's PIDFD_INFO_EXIT, the status is read and this is not used).
    case unknown
}

/// A spawn that did not reach `execve`, or an `execve` that failed.
public struct SpawnFailure: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// Will not fix itself: missing binary, permission, unknown user, bad cwd.
        case configuration
        /// May pass: out of memory, processes or file descriptors.
        case resources
    }

    public var kind: Kind
    /// Which step failed (`exec`, `cwd`, `user`, `cgroup`, …) and the system's word for why.
    public var stage: String
    public var reason: String

    public init(kind: Kind, stage: String, reason: String) {
        self.kind = kind
        self.stage = stage
        self.reason = reason
    }
}

/// Exit codes with a fixed meaning in the default table.
public enum ExitCodes {
    /// EX_TEMPFAIL: try again later.
    public static let temporaryFailure: Int32 = 75
    /// sysexits.h: usage, data, config, permission problems.
    public static let sysexits: ClosedRange<Int32> = 64...78
    /// WorkerKit's corruption exit (documented in the README and WorkerKit).
    public static let corruption: Int32 = 86
}

/// What the mechanism learned about a death, gathered after reaping.
public struct DeathFacts: Equatable, Sendable {
    public var termination: Termination
    /// The last lines the instance wrote to stderr.
    public var stderrTail: [String]
    /// `Fatal error: …` text, when a Swift trap printed one.
    public var fatalMessage: String?
    /// `File.swift:42`, when known.
    public var sourceLocation: String?
    /// The runtime's one-line reason (`Swift runtime failure: arithmetic overflow`), when known.
    public var headline: String?
    /// Top symbolicated frames of the crashing thread, runtime frames removed.
    public var topFrames: [String]
    /// The kernel or a cgroup killed it for a limit (OOM kill counted during its life).
    public var killedForLimit: Bool
    /// A fork or thread creation was refused by `limits.tasks` (pids.max) during its life: a
    /// death that is not a clean exit is then read as that limit's doing.
    public var tasksLimitReached: Bool
    /// A runtime's panic, uncaught exception or fatal error recognised in its output (SPEC §7:
    /// class `crash` whatever the exit code, unless a rule says otherwise).
    public var runtimeCrash: RuntimeCrash?
    /// What the fingerprint hashes when the crash was read (kind, masked message, crash site;
    /// no addresses or offsets); empty: the fingerprint is made from the fields above.
    public var fingerprintBasis: [String]

    public init(termination: Termination, stderrTail: [String] = [], fatalMessage: String? = nil, sourceLocation: String? = nil,
                headline: String? = nil, topFrames: [String] = [], killedForLimit: Bool = false,
                runtimeCrash: RuntimeCrash? = nil, fingerprintBasis: [String] = [], tasksLimitReached: Bool = false) {
        self.termination = termination
        self.stderrTail = stderrTail
        self.fatalMessage = fatalMessage
        self.sourceLocation = sourceLocation
        self.headline = headline
        self.topFrames = topFrames
        self.killedForLimit = killedForLimit
        self.tasksLimitReached = tasksLimitReached
        self.runtimeCrash = runtimeCrash
        self.fingerprintBasis = fingerprintBasis
    }
}

/// A runtime's crash recognised in a worker's output: which runtime, what kind (`go`,
/// `panic`), and whether it is a crash (a panic, an uncaught exception, a fatal runtime
/// error) or only says more about a death its signal already classifies.
public struct RuntimeCrash: Equatable, Sendable {
    public var runtime: String
    public var kind: String
    public var isCrash: Bool
    /// The runtime's own message (`concurrent map writes`), when it printed one.
    public var message: String?

    public init(runtime: String, kind: String, isCrash: Bool, message: String? = nil) {
        self.runtime = runtime
        self.kind = kind
        self.isCrash = isCrash
        self.message = message
    }

    /// SPEC §7's `runtime` values: what a rule's `when: { runtime: … }` may name.
    public static let runtimes = ["swift", "go", "rust", "python", "jvm", "node", "c++", "c"]
}

/// Why bulkhead itself ended a process, if it did.
public enum StopCause: String, Equatable, Sendable {
    case operatorStop = "operator"
    case operatorRestart = "restart"
    case shutdown
    case dependency
    case reload
    case removal
    case watchdog
    /// The live probe failed `failures` times in a row.
    case liveness
    case startTimeout = "start-timeout"
    /// The worker said `STOPPING=1`: it is shutting down by itself (systemd's semantics), so the
    /// exit that follows is expected.
    case selfStop = "STOPPING=1"
    /// A process a previous bulkhead left running, stopped before its instance starts again
    /// (docs/ARCHITECTURE.md, "Durable state and leftovers").
    case leftover

    /// A stop that bulkhead asked for, as opposed to one that is itself a failure (or one the
    /// worker began: it restarts only as `restart` says, like any other clean exit).
    var isRequested: Bool {
        switch self {
        case .operatorStop, .operatorRestart, .shutdown, .dependency, .reload, .removal, .leftover: return true
        case .watchdog, .liveness, .startTimeout, .selfStop: return false
        }
    }
}

public struct Classification: Equatable, Sendable {
    public var deathClass: DeathClass
    /// Which rule or default matched, for the report's `rule` field.
    public var rule: String

    public init(_ deathClass: DeathClass, rule: String) {
        self.deathClass = deathClass
        self.rule = rule
    }
}
