import BulkheadControl
import BulkheadConfig
import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc

/// The supervisor: one thread, one epoll loop, one reaper. Every event (a death, a notify
/// datagram, a control request, a signal, a deadline) becomes a call into `Supervision`, and the
/// actions it returns are performed here. Nothing else mutates the instance table.
public final class Daemon {
    public struct Options: Sendable {
        public var configPath: String
        /// Overrides `control.socket` (`--socket`, tests).
        public var socketPath: String?
        /// Text lines lead with the local time (off when journald stamps them).
        public var timestamps: Bool
        public var seed: UInt64

        public init(configPath: String, socketPath: String? = nil, timestamps: Bool = true, seed: UInt64 = 0) {
            self.configPath = configPath
            self.socketPath = socketPath
            self.timestamps = timestamps
            self.seed = seed
        }
    }

    static let breadcrumbCapacity = 64
    /// The signals the loop takes as events; blocked in every thread from the start of `main`.
    public static let handledSignals: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP]

    let options: Options
    var supervision: Supervision
    var epoll: Epoll
    /// The control socket's fds, nested in `epoll`: the loop can look at just them between two
    /// deaths of a burst, so an operator's request waits for one death's handling at most.
    var controlEpoll: Epoll
    let signals: SignalDescriptor
    var exitTimes: ExitTimestamps?
    let sink: OutputSink
    let launcher: WorkerLauncher
    let reports: CrashReportStore
    let cgroups: CgroupHost?
    let daemonPID: Int32

    var slots: [InstanceID: InstanceSlot] = [:]
    var pids: [Int32: InstanceID] = [:]
    var sources: [UInt64: Source] = [:]
    var nextToken: UInt64 = 1
    /// Kernel exit times (monotonic ns) of our instances' main processes, until reaped.
    var exitStamps: [Int32: UInt64] = [:]
    /// What the reaper gathered about a death, until its `record` action is performed.
    var evidence: [InstanceID: DeathEvidence] = [:]
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Reused by every pipe read (see `LineBatch`).
    var spareBatch = LineBatch(reserving: true)
    var notifyBuffer = [UInt8](repeating: 0, count: NotifyMessage.maxDatagram)

    var shutdownRequested = false
    var wakeInstant = Instant.zero
    var iterationWall: Int64 = 0
    var deadline: Instant?
    var counters = Counters()
    var reportFailureLog = RateLimitedLog()
    /// The status document's per-instance bytes, reused while an instance does not change.
    let statusFragments = StatusFragments()
    /// The status table's cells, likewise.
    let statusTableCells = StatusTableCells()
    /// A wait4(-1) scan is owed (see `childrenChanged`).
    var orphanScanDue: Instant?
    /// How deep in `perform` the loop is (control requests that change state wait for 0).
    var performDepth = 0
    var controlServer: ControlServer?
    /// bulkhead's own sd_notify client; nil without NOTIFY_SOCKET (Daemon+Systemd.swift).
    var systemd: SystemdNotifier?

    enum Source {
        case signals
        case exitTimes
        case output(InstanceID, OutputStream)
        case notify(InstanceID)
        case process(InstanceID)
        case control
        case controlClient(Int)
        /// `controlEpoll` has something ready.
        case controlPoll
    }

    struct Counters {
        /// Crash reports the disk refused (each kept in memory until written, or lost).
        var reportsNotSaved = 0
        var orphansReaped = 0
        var notifyRejected = 0
        var outputLinesDropped = 0
        var exitEventsLost = false
    }

    /// Problems the config's reader let pass at start (a missing program: only that worker fails).
    let startWarnings: [String]

    public init(options: Options, config: SupervisorConfig, startWarnings: [String] = []) throws(SystemError) {
        self.options = options
        self.startWarnings = startWarnings
        daemonPID = getpid()
        SignalDescriptor.ignore(SIGPIPE)
        try Reaper.becomeSubreaper()
        _ = bh_raise_fd_limit()
        epoll = try Epoll()
        controlEpoll = try Epoll(capacity: 64)
        signals = try SignalDescriptor(Self.handledSignals)
        exitTimes = try? ExitTimestamps()
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        let host = config.cgroups == .off ? nil : CgroupHost(name: "bulkhead-\(getpid())")
        cgroups = host
        launcher = WorkerLauncher(daemonPID: getpid(), devNull: devNull, cgroups: host, workerNice: Self.raiseLoopPriority())
        reports = CrashReportStore(directory: config.stateDir + "/crashes", retention: config.crashReports)
        sink = OutputSinks.make(config.output.journal, timestamps: options.timestamps)
        supervision = Supervision(config: config, seed: options.seed == 0 ? UInt64(bitPattern: WallClock.nowNanoseconds()) : options.seed)
        readBuffer = .allocate(byteCount: 64 << 10, alignment: 16)
        try FileSystem.makeDirectories(config.stateDir + "/crashes", mode: 0o755)
        try FileSystem.makeDirectories(backtraceRoot, mode: 0o755)
        try register(signals.descriptor, .readable, .signals)
        try register(controlEpoll.descriptor, .readable, .controlPoll)
        if let exitTimes {
            try register(exitTimes.descriptor, .readable, .exitTimes)
        }
        try startControl()
        startSystemd()
        for note in host?.notes ?? [] {
            emit(SupervisorEvent(.daemon, nil, priority: 5, message: note))
        }
    }

    var backtraceRoot: String { supervision.config.stateDir + "/backtraces" }

    /// Runs until SIGTERM/SIGINT has stopped every worker. Returns the process exit code.
    public func run() -> Int32 {
        emit(SupervisorEvent(.daemon, nil, priority: 5, message: "bulkhead \(BulkheadVersion.current) supervising \(supervision.instanceIDs.count) instances (pid \(daemonPID))"))
        for warning in startWarnings {
            emit(SupervisorEvent(.daemon, nil, priority: 3, message: warning))
        }
        warnIfDescriptorsShort()
        perform(supervision.startAll(MonotonicClock.now()))
        sink.endOfIteration()   // the start-up lines, before the first wait (which may be long)
        while !(shutdownRequested && supervision.isQuiescent) {
            deadline = supervision.nextDeadline()
            let wake = [deadline, controlDeadline(), systemdDeadline(), orphanScanDue].compactMap { $0 }.min()
            var timeout: Int64?
            if let wake {
                let deadline = wake
                let now = MonotonicClock.now()
                timeout = deadline > now ? Int64(deadline.nanoseconds - now.nanoseconds) : 0
            }
            let events: [Epoll.Event]
            do {
                events = try epoll.wait(timeoutNanoseconds: timeout)
            } catch {
                emit(SupervisorEvent(.daemon, nil, priority: 2, message: "epoll_wait failed: \(error)"))
                continue
            }
            wakeInstant = MonotonicClock.now()
            iterationWall = WallClock.nowNanoseconds()
            controlServer?.beginTurn(at: wakeInstant)
            sink.beginIteration(wallNanoseconds: iterationWall)
            // Signals first; then the control socket, so an operator's request never waits
            // behind a batch of deaths and respawns; then deaths, output, notify messages.
            for event in events where priority(of: event.token) == 0 { handleSignals() }
            for event in events where priority(of: event.token) == 1 { dispatch(event) }
            for event in events where priority(of: event.token) == 2 { dispatch(event) }
            let now = MonotonicClock.now()
            if let deadline, deadline <= now {
                perform(supervision.tick(now))
            }
            if let due = orphanScanDue, due <= now { reapChildren() }
            controlTick(now)
            reportDroppedOutput()
            reportDroppedReports()
            systemdIterationEnded(now)
            sink.endOfIteration()
        }
        finish()
        return 0
    }

    func priority(of token: UInt64) -> Int {
        switch sources[token] {
        case .signals?: return 0
        case .control?, .controlClient?, .controlPoll?: return 1
        default: return 2
        }
    }

    func dispatch(_ event: Epoll.Event) {
        guard let source = sources[event.token] else { return }   // closed earlier in this batch
        switch source {
        case .signals:
            break
        case .exitTimes:
            collectExitTimes()
        case .output(let id, let stream):
            readOutput(id, stream, token: event.token)
        case .notify(let id):
            receiveNotifications(id)
        case .process(let id):
            reapInstance(id)
        case .controlPoll:
            serviceControl()
        case .control:
            acceptControl()
        case .controlClient(let client):
            serviceControlClient(client, event)
        }
    }

    func handleSignals() {
        let deliveries: [SignalDescriptor.Delivery]
        do { deliveries = try signals.drain() } catch { return }
        let children = deliveries.filter { $0.signal == SIGCHLD }.map(\.senderPID)
        if !children.isEmpty { childrenChanged(children) }
        for delivery in deliveries {
            switch delivery.signal {
            case SIGCHLD:
                break
            case SIGTERM, SIGINT:
                if !shutdownRequested {
                    shutdownRequested = true
                    systemdStopping()
                    emit(SupervisorEvent(.stop, nil, priority: 5, message: "SIG\(Signals.name(delivery.signal)) from pid \(delivery.senderPID): stopping every worker, dependents first"))
                    perform(supervision.shutdown(MonotonicClock.now()))
                }
            case SIGHUP:
                reloadConfiguration()
            default:
                break
            }
        }
    }

    // MARK: - Registration

    @discardableResult
    func register(_ fd: FileDescriptor, _ interest: Epoll.Interest, _ source: Source) throws(SystemError) -> UInt64 {
        let token = nextToken
        nextToken += 1
        switch source {
        case .control, .controlClient: try controlEpoll.add(fd, interest, token: token)
        default: try epoll.add(fd, interest, token: token)
        }
        sources[token] = source
        return token
    }

    func unregister(_ fd: FileDescriptor, token: UInt64) {
        switch sources[token] {
        case .control?, .controlClient?: controlEpoll.remove(fd)
        default: epoll.remove(fd)
        }
        sources[token] = nil
    }

    /// Whatever the control socket has ready, now (no waiting).
    func serviceControl() {
        guard let events = try? controlEpoll.wait(timeoutNanoseconds: 0), !events.isEmpty else { return }
        for event in events { dispatch(event) }
    }

    // MARK: - Events out

    func emit(_ event: SupervisorEvent, extra: [SupervisorEvent.Field] = []) {
        sink.event(event, extra: extra)
    }

    func reportDroppedOutput() {
        let dropped = sink.takeDroppedLines()
        guard dropped > 0 else { return }
        counters.outputLinesDropped += dropped
        emit(SupervisorEvent(.outputDropped, nil, priority: 4, message: "output too slow: \(dropped) lines dropped (\(counters.outputLinesDropped) in all)"))
    }

    /// Crash reports the writer could not keep up with (a storm of thousands of deaths), and
    /// reports the disk refused (rate-limited: a full disk in a crash storm is one line a minute).
    func reportDroppedReports() {
        let dropped = reports.takeDroppedReports()
        if dropped > 0 {
            emit(SupervisorEvent(.outputDropped, nil, priority: 3, message: "crash report writer too slow: \(dropped) reports not written (their exit events were logged)"))
        }
        let (failed, reason) = reports.takeWriteFailures()
        guard failed > 0 else { return }
        counters.reportsNotSaved += failed
        let (log, summary) = reportFailureLog.admit(wakeInstant)
        guard log else { return }
        let (unsaved, lost) = reports.unsavedCounts
        let earlier = summary > 0 ? "; \(summary) more since the last such line" : ""
        emit(SupervisorEvent(
            .reportNotSaved, nil, priority: 3,
            message: "crash report not saved: \(reason ?? "write failed") (\(unsaved) kept in memory and written when the disk takes them, \(lost) lost\(earlier))"
        ))
    }

    // MARK: - Reload

    enum ReloadOutcome {
        case applied(Supervision.ReloadSummary)
        /// The new config is invalid: nothing changed. Every error, one per line.
        case refused(String)
    }

    /// SIGHUP or `bulkhead reload`: re-read the config; a bad one changes nothing.
    @discardableResult
    func reloadConfiguration() -> ReloadOutcome {
        let now = MonotonicClock.now()
        systemdReloading(now)
        defer { systemdReloaded(MonotonicClock.now()) }
        do {
            let config = try ConfigLoader.load(path: options.configPath)
            let (actions, summary) = supervision.reload(config, now)
            reports.retention = config.crashReports
            perform(actions)
            warnIfDescriptorsShort()
            return .applied(summary)
        } catch {
            emit(SupervisorEvent(.reload, nil, priority: 3, message: "reload refused, nothing changed: \(error)"))
            return .refused("\(error)")
        }
    }

    func warnIfDescriptorsShort() {
        if let shortfall = FileDescriptorBudget.current().shortfall(instances: supervision.instanceIDs.count) {
            emit(SupervisorEvent(.daemon, nil, priority: 3, message: shortfall))
        }
    }

    // MARK: - Exit

    func finish() {
        stopControl()
        sink.beginIteration(wallNanoseconds: WallClock.nowNanoseconds())
        for slot in slots.values {
            slot.cgroup?.remove()
            slot.notify?.close()
            FileSystem.removeTree(slot.backtraceDirectory)
        }
        cgroups?.removeBase()
        reapStrays(timeoutNanoseconds: 2_000_000_000)
        reports.drain(timeoutNanoseconds: 5_000_000_000)
        emit(SupervisorEvent(.daemon, nil, priority: 5, message: "every worker stopped; bulkhead exits"))
        sink.drain(timeoutNanoseconds: 2_000_000_000)
    }
}

extension Daemon {
    /// How far the loop thread runs above the workers. A supervisor at the same priority as its
    /// workers gets 1/(n+1) of a saturated CPU: deaths, stops and control requests would wait
    /// behind a thousand busy workers. Workers start at bulkhead's own value as before.
    static let loopPriorityBoost: Int32 = 5

    /// Raises the calling (loop) thread's priority; returns the nice value workers must get,
    /// or nil when it could not be raised (no CAP_SYS_NICE: then all run at the same value).
    static func raiseLoopPriority() -> Int32? {
        let base = bh_thread_nice()
        guard base != Int32.min, base > -20, bh_set_thread_nice(max(base - loopPriorityBoost, -20)) == 0 else { return nil }
        return base
    }

    /// Every instance is stopped, but orphans killed with their instance may still wait to be
    /// reaped (the scan runs up to a second after a death), and one that left its group for a
    /// session of its own, with no cgroup to find it, may still run. Leave neither behind.
    func reapStrays(timeoutNanoseconds: Int64) {
        let deadline = MonotonicClock.now().nanoseconds + UInt64(timeoutNanoseconds)
        var killed: Set<Int32> = []
        while true {
            reapChildren()
            let strays = Reaper.children()
            if strays.isEmpty { break }
            for pid in strays where ProcessSignals.signalProcess(pid, SIGKILL) == 0 { killed.insert(pid) }
            let now = MonotonicClock.now().nanoseconds
            if now >= deadline {
                emit(SupervisorEvent(.daemon, nil, priority: 3, message: "\(strays.count) processes could not be reaped before exit: \(strays)"))
                break
            }
            // The next SIGCHLD (its signalfd becomes readable), or the deadline.
            var ready = pollfd(fd: signals.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            _ = poll(&ready, 1, Int32(clamping: (deadline - now) / 1_000_000 + 1))
            _ = try? signals.drain()   // shutting down already: SIGTERMs and SIGCHLDs alike are spent
        }
        if !killed.isEmpty {
            emit(SupervisorEvent(.daemon, nil, priority: 4, message: "killed \(killed.count) orphaned processes of workers at exit"))
        }
    }
}

