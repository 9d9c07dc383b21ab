import BulkheadPolicy

/// What `state_dir/state.json` holds (SPEC §10), and what a re-exec hands the new daemon image:
/// every instance's policy record, the process it had (pid and the kernel's start time, so a
/// recycled pid is never taken for it), and the crash report behind its verdict.
///
/// Times inside are instants of the writer's monotonic clock; on disk they are wall-clock
/// nanoseconds, converted with `clock` (the two clocks read together when it was written), so
/// the document stays meaningful after a reboot (`rebased(to:)`).
///
/// `decode` is total: any bytes give a document or a `StateDecodingError`, never a trap; it is
/// the function the state file's fuzz target calls.
public struct StateDocument: Equatable, Sendable {
    /// `"format"` in the file; a reader refuses a version it does not know.
    public static let formatName = "bulkhead-state"
    public static let version: Int64 = 1

    public var clock: ClockReading
    /// The daemon that wrote it, for the log line that says whose leftovers were found.
    public var daemonPID: Int32
    public var daemonVersion: String
    public var instances: [InstanceEntry]

    public init(clock: ClockReading, daemonPID: Int32, daemonVersion: String, instances: [InstanceEntry]) {
        self.clock = clock
        self.daemonPID = daemonPID
        self.daemonVersion = daemonVersion
        self.instances = instances
    }
}

/// One instance in the document.
public struct InstanceEntry: Equatable, Sendable {
    public var record: InstanceRecord
    /// The process its record's phase names, as the kernel knows it.
    public var process: ProcessStamp?
    /// The crash report behind a `failed`, `quarantined` or `open` verdict.
    public var crashID: String?

    public init(record: InstanceRecord, process: ProcessStamp? = nil, crashID: String? = nil) {
        self.record = record
        self.process = process
        self.crashID = crashID
    }
}

/// A process, so that a later daemon can tell it from whatever reuses its pid.
public struct ProcessStamp: Equatable, Sendable {
    public var pid: Int32
    /// `/proc/PID/stat` field 22: clock ticks after boot at which the process started.
    public var startTime: UInt64
    /// `ProcessIdentityDigest` of the spec it was started with: a changed command (or
    /// environment, user, limits…) means it cannot be adopted as it is.
    public var identity: String
    /// The inodes of the pipes bulkhead read its stdout and stderr from: a later daemon takes
    /// over its output only from these very pipes (through `/proc/PID/fd/1` and `2`).
    public var stdoutPipe: UInt64?
    public var stderrPipe: UInt64?
    /// The notify socket it was given (`NOTIFY_SOCKET`): bound again when it is adopted, so its
    /// `WATCHDOG=1` keeps arriving.
    public var notifySocket: String?

    public init(pid: Int32, startTime: UInt64, identity: String, stdoutPipe: UInt64? = nil, stderrPipe: UInt64? = nil,
                notifySocket: String? = nil) {
        self.pid = pid
        self.startTime = startTime
        self.identity = identity
        self.stdoutPipe = stdoutPipe
        self.stderrPipe = stderrPipe
        self.notifySocket = notifySocket
    }
}

/// The monotonic and wall clocks read together, and which boot they belong to.
public struct ClockReading: Equatable, Sendable {
    /// `/proc/sys/kernel/random/boot_id`: the monotonic clock and pids mean something only
    /// within one boot.
    public var bootID: String
    public var monotonic: Instant
    public var wallNanoseconds: Int64

    public init(bootID: String, monotonic: Instant, wallNanoseconds: Int64) {
        self.bootID = bootID
        self.monotonic = monotonic
        self.wallNanoseconds = wallNanoseconds
    }

    /// `instant` (on this reading's monotonic clock) as wall-clock nanoseconds.
    func wall(_ instant: Instant) -> Int64 {
        // Saturating throughout: a hostile file may hold any numbers, and none may trap.
        let offset = Saturating.difference(Int64(clamping: instant.nanoseconds), Int64(clamping: monotonic.nanoseconds))
        return Saturating.sum(wallNanoseconds, offset)
    }

    /// Wall-clock nanoseconds as an instant of this reading's monotonic clock (0 at the least).
    func instant(wall: Int64) -> Instant {
        let value = Saturating.sum(Int64(clamping: monotonic.nanoseconds), Saturating.difference(wall, wallNanoseconds))
        return Instant(nanoseconds: UInt64(clamping: max(0, value)))
    }
}

/// Int64 arithmetic that stops at the ends instead of trapping.
enum Saturating {
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b < 0 ? .min : .max) : value
    }

    static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (value, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b > 0 ? .min : .max) : value
    }
}

extension StateDocument {
    /// The document as seen from `now`: within the same boot it is unchanged (monotonic
    /// instants and pids still hold); after a reboot every instant moves by the wall-clock
    /// distance and the process stamps go (every pid now belongs to someone else).
    public func rebased(to now: ClockReading) -> StateDocument {
        guard now.bootID != clock.bootID || clock.bootID.isEmpty else { return self }
        var moved = self
        moved.clock = now
        moved.instances = instances.map { entry in
            var entry = entry
            entry.record = entry.record.mapInstants { now.instant(wall: clock.wall($0)) }
            entry.process = nil
            return entry
        }
        return moved
    }
}

extension InstanceRecord {
    /// The same record with every instant passed through `move`.
    func mapInstants(_ move: (Instant) -> Instant) -> InstanceRecord {
        func process(_ p: RunningProcess) -> RunningProcess {
            RunningProcess(pid: p.pid, startedAt: move(p.startedAt), watchdogAt: p.watchdogAt.map(move), stableAt: p.stableAt.map(move))
        }
        var moved = self
        switch phase {
        case .starting(let p, let readyAt): moved.phase = .starting(process(p), readyAt: readyAt.map(move))
        case .running(let p): moved.phase = .running(process(p))
        case .stopping(let p, let cause, let killAt): moved.phase = .stopping(process(p), cause: cause, killAt: killAt.map(move))
        case .backoff(let until): moved.phase = .backoff(until: move(until))
        case .open(let until): moved.phase = .open(until: move(until))
        case .stopped, .waiting, .spawning, .failed, .quarantined: break
        }
        let breakerState: CrashLoopBreaker.State
        switch breaker.state {
        case .open(let until): breakerState = .open(until: move(until))
        case .closed, .halfOpen: breakerState = breaker.state
        }
        moved.breaker = CrashLoopBreaker(state: breakerState, recentRestarts: breaker.recentRestarts.map(move))
        return moved
    }
}
