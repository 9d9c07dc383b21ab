/// What one crashlab run does, as read from its command line.
struct Options: Sendable {
    /// How the run ends. Nil: it runs until something from outside ends it.
    var ending: Ending?
    /// Delay before `ending`, counted from process start (`--after`).
    var afterNs: UInt64 = 0
    /// Text for fatalError-style kinds (`--message`); each kind has its own default.
    var message: String?

    var stop: StopBehaviour = .defaultDisposition
    /// SIGPIPE ignored: a write to an output nobody reads fails with EPIPE instead of killing.
    var ignorePipe = false

    /// `--grandchild` / `--grandchild-setsid`, in command-line order.
    var grandchildren: [GrandchildScope] = []

    /// `--print` / `--eprint`, in command-line order.
    var lines: [(stream: Stream, text: String)] = []
    var flood: Flood?
    var priorityPrefix: PriorityPrefix?

    /// `--notify-ready [DELAY]`: READY=1 this long after process start.
    var readyDelayNs: UInt64?
    var status: String?
    var watchdog = false
    var stopPingingAfterNs: UInt64?

    var breadcrumbs: [String] = []

    var allocateBytes: Int?
    var allocateForeverStep: Int?

    var printEnvironment = false
    var printDyingTime = false
}

enum Ending: Sendable, Equatable {
    case die(DeathKind)
    case exit(Int32)
    case hang
    /// `--run-for`: exit 0 once the duration has passed (not subject to `--after`).
    case runFor(UInt64)
}

/// What SIGTERM (and SIGINT) do.
enum StopBehaviour: Sendable, Equatable {
    case defaultDisposition
    case ignore
    case exit(Int32)
    case slowStop(UInt64)
}

enum GrandchildScope: Sendable {
    /// Stays in crashlab's process group and session.
    case processGroup
    /// Escapes with setsid(): its own session and process group.
    case ownSession
}

enum Stream: Sendable {
    case stdout, stderr

    var fd: Int32 { self == .stdout ? 1 : 2 }
}

struct Flood: Sendable {
    var count: Int
    var lineBytes: Int = 64
    var stream: Stream = .stdout
    /// Stop itself (SIGSTOP) in the middle of this line: what comes before it is written, and
    /// half of it; the rest follows once continued (SIGCONT).
    var pauseAt: Int?
}

/// The `<N>` sd-daemon.h priority prefix on crashlab's output lines.
enum PriorityPrefix: Sendable {
    /// Every `--print`, `--eprint` and flood line starts with `<N>`.
    case fixed(Int)
    /// Flood line number i starts with `<i mod 8>`; `--print`/`--eprint` lines get none.
    case cycle
}

/// crashlab's own exit codes (a deliberate `--exit CODE` can of course be anything).
enum CrashLabExit {
    /// A bad command line.
    static let usage: Int32 = 2
    /// Something crashlab needed from the system failed (spawning the grandchild, …).
    static let environment: Int32 = 1
    /// A `--die` kind did not end the process (e.g. `assert` in a release build).
    static let survived: Int32 = 99
}
