import BulkheadConfig
import BulkheadControl
import BulkheadForensics
import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc

/// The supervisor: one thread, one loop. It owns the policy (`Supervision`) and routes events
/// between it and the parts that each own their state — the processes (`ProcessTable`), their
/// output (`OutputPipeline`), their notify sockets (`NotifyReceiver`), the control socket
/// (`ControlServer`), crash reports (`CrashReportStore`), systemd (`SystemdNotifier`) and the
/// event stream (`SupervisorEvents`). Nothing else changes policy; nothing here is re-entered.
public final class Daemon {
    public struct Options: Sendable {
        public var configPath: String
        /// Overrides `control.socket` (`--socket`, tests).
        public var socketPath: String?
        /// Text lines lead with the local time (off when journald stamps them).
        public var timestamps: Bool
        public var seed: UInt64
        /// Keep `state_dir/state.json` (SPEC §10). Off (`--no-state`) only to measure what it
        /// costs: without it a restarted daemon neither remembers verdicts nor finds leftovers.
        public var keepsState: Bool
        /// How bulkhead's own output is written (`bulkhead init`); nil: `output.journal` decides.
        public var logFormat: LogFormat?
        /// `bulkhead init -- COMMAND`: there is no config file, and the daemon exits when its one
        /// worker is done, with that worker's exit status (Daemon+Init.swift).
        public var exitsWithWorker: Bool

        public init(configPath: String, socketPath: String? = nil, timestamps: Bool = true, seed: UInt64 = 0,
                    keepsState: Bool = true, logFormat: LogFormat? = nil, exitsWithWorker: Bool = false) {
            self.configPath = configPath
            self.socketPath = socketPath
            self.timestamps = timestamps
            self.seed = seed
            self.keepsState = keepsState
            self.logFormat = logFormat
            self.exitsWithWorker = exitsWithWorker
        }
    }

    /// The signals the loop takes as events; blocked in every thread from the start of `main`.
    public static let handledSignals: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR2]

    let options: Options
    let daemonPID: Int32
    var supervision: Supervision
    let loop: EventLoop
    let signals: SignalDescriptor
    let processes: ProcessTable
    let output: OutputPipeline
    let notify: NotifyReceiver
    let reports: CrashReportStore
    /// The kernel's fault lines about workers, for deaths no runtime explains.
    let kernelFaults: KernelFaultLog
    /// Where a dumped core goes (read at start: coredumpctl's presence).
    let coreDumps: CoreDumpSettings
    let events: SupervisorEvents
    let status = StatusView()
    /// `health:` checks in flight.
    private(set) var prober: HealthProber!
    /// `sockets:`, open for the daemon's life (or until a reload drops them).
    let sockets = ListeningSockets()
    /// Limits the config asks for that this machine cannot enforce as asked (also in `status`).
    var limitNotes: [String] = []
    /// One daemon per state directory (SPEC §10).
    let stateLock: StateDirectoryLock
    /// The cgroup name tied to the state directory, not the pid (the next daemon finds it).
    let scope: DaemonScope
    /// The state file; nil with `--no-state`.
    let durable: DurableState?
    var stateFailureLog = RateLimitedLog()
    /// A re-exec in progress (`bulkhead reexec`, SIGUSR2).
    var reexecRun: ReexecRun?
    /// What the previous daemon image handed over, when this one was started by a re-exec
    /// (let go once taken over).
    var handoff: ReexecHandoff?
    private(set) var control: ControlServer!
    /// Events, hooks, alerts, metrics, the reliability history (SPEC §11).
    private(set) var monitoring: Monitoring!
    /// The last death recorded and its crash id: the follow-up events carry it.
    var lastCrash: (instance: InstanceID, id: String)?
    let startedWall = WallClock.nowNanoseconds()
    /// bulkhead's own sd_notify client; nil without NOTIFY_SOCKET (Daemon+Systemd.swift).
    var systemd: SystemdNotifier?
    /// Problems the config's reader let pass at start (a missing program: only that worker fails).
    let startWarnings: [String]
    /// The text of the config running now (set at start and by every reload applied).
    var configText: String

    /// What the reaper gathered about a death, until its `record` action is performed.
    var evidence: [InstanceID: DeathEvidence] = [:]
    /// Spawns policy asked for, performed a few per turn (see `spawnTimePerTurn`).
    var pendingSpawns: [InstanceID] = []
    var shutdownRequested = false
    /// When the loop woke for this turn.
    var wakeInstant = Instant.zero
    var counters = Counters()
    /// `bulkhead init -- COMMAND`: how its one worker ended (Daemon+Init.swift).
    var workerExitStatus: Int32?
    var reportFailureLog = RateLimitedLog()
    /// Which deaths get a report of their own in a storm, and when to say the rest.
    var coalescer = CrashCoalescer()
    var journalRefusalLog = RateLimitedLog()

    struct Counters {
        /// Crash reports the disk refused (each kept in memory until written, or lost).
        var reportsNotSaved = 0
        var outputLinesDropped = 0
        /// `journal-direct` spawns journald refused (their output went through bulkhead).
        var journalRefusals = 0
    }

    /// Loop time spent on deaths, output and notify messages per turn, and on spawning: what is
    /// left is level-triggered or queued and comes back next turn, so a burst of deaths or a
    /// thousand spawns never keep an operator's request (or a signal) waiting long.
    static let workerTimePerTurn: Duration = .milliseconds(4)
    static let spawnTimePerTurn: Duration = .milliseconds(4)

    /// - Parameters:
    ///   - configText: the text `config` was read from (a re-exec hands it to the new image,
    ///     which then runs this config, not whatever the file says by then).
    ///   - handoff: set when a re-exec started this image: every part is rebuilt from it.
    public convenience init(options: Options, config: SupervisorConfig, configText: String = "", startWarnings: [String] = [])
        throws(SystemError) {
        try self.init(options: options, config: config, configText: configText, startWarnings: startWarnings, handoff: nil)
    }

    /// The daemon of a new image after a re-exec (`ReexecHandoff`, already validated).
    public convenience init(restoring handoff: ReexecHandoff, options: Options, config: SupervisorConfig, configText: String) throws(SystemError) {
        try self.init(options: options, config: config, configText: configText, startWarnings: [], handoff: handoff)
    }

    init(options: Options, config: SupervisorConfig, configText: String, startWarnings: [String], handoff: ReexecHandoff?) throws(SystemError) {
        self.options = options
        self.startWarnings = startWarnings
        self.configText = configText
        self.handoff = handoff
        daemonPID = getpid()
        SignalDescriptor.ignore(SIGPIPE)
        try Reaper.becomeSubreaper()
        DescriptorLimit.raise()
        loop = try EventLoop()
        signals = try SignalDescriptor(Self.handledSignals)
        try loop.register(signals.descriptor, .readable, .signals)
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        // The lock first: nothing of another daemon's (its cgroups, its state) may be touched.
        try FileSystem.makeDirectories(config.stateDir, mode: 0o755)
        if let number = handoff?.section("daemon")?["state_lock"]?.int, let fd = Int32(exactly: number) {
            stateLock = StateDirectoryLock.inherited(FileDescriptor(rawValue: fd), stateDirectory: config.stateDir)
        } else {
            stateLock = try StateDirectoryLock.take(stateDirectory: config.stateDir)
        }
        scope = DaemonScope(stateDirectory: config.stateDir)
        durable = options.keepsState ? DurableState(store: StateStore(path: config.stateDir + "/state.json", daemonPID: getpid())) : nil
        let host = config.cgroups == .off ? nil : CgroupHost(name: scope.cgroupName)
        let backtraceRoot = config.stateDir + "/backtraces"
        let credentials = CredentialDirectories.forDaemon(pid: getpid(), stateDir: config.stateDir)
        var launcher = WorkerLauncher(daemonPID: getpid(), devNull: devNull, cgroups: host, workerNice: Self.raiseLoopPriority(),
                                      credentials: credentials)
        launcher.workerOOMScoreAdjust = Self.protectFromOOMKiller()
        processes = try ProcessTable(loop: loop, launcher: launcher, cgroups: host, backtraceRoot: backtraceRoot)
        let sink = Self.makeSink(options, config.output.journal)
        events = SupervisorEvents(sink: sink)
        output = OutputPipeline(loop: loop, sink: sink, config: config.output)
        notify = try NotifyReceiver(loop: loop, daemonPID: getpid(), inherited: NotifyReceiver.inheritedSocket(handoff?.section("notify")))
        kernelFaults = KernelFaultLog(loop: loop)
        coreDumps = CoreDumpSettings()
        reports = CrashReportStore(directory: config.stateDir + "/crashes", retention: config.crashReports)
        coalescer = CrashCoalescer(settings: config.crashReports.coalescing)
        supervision = Supervision(config: config, seed: options.seed == 0 ? UInt64(bitPattern: WallClock.nowNanoseconds()) : options.seed)
        try FileSystem.makeDirectories(config.stateDir + "/crashes", mode: 0o755)
        try FileSystem.makeDirectories(backtraceRoot, mode: 0o755)
        if let written = reports.writtenDescriptor { try loop.register(written, .readable, .reportsWritten) }
        if let handoff {
            processes.restore(handoff.section("processes")) { [supervision] id in supervision.spec(for: id) }
            output.restore(handoff.section("output"), handoff.blob)
            output.restoreCounts(from: handoff.section("output_counts"))
            notify.restore(handoff.section("notify"))
            counters.reportsNotSaved = Int(handoff.section("daemon")?["reports_not_saved"]?.int ?? 0)
            counters.outputLinesDropped = Int(handoff.section("daemon")?["output_lines_dropped"]?.int ?? 0)
        }
        control = try makeControlServer(config.control)
        prober = HealthProber(loop: loop) { [unowned self] id, argv, output throws(SpawnError) in
            guard let spec = supervision.spec(for: id), let slot = processes.slots[id] else {
                throw SpawnError(stage: .prepare, errno: ESRCH, detail: "the instance has no process")
            }
            return try processes.launcher.probeProcess(spec, slot: slot, argv: argv, output: output)
        }
        processes.otherChildren = prober
        output.linesAppended = { [unowned self] instance in control.linesAppended(instance.id) }
        control.followersChanged = { [unowned self] id, count in
            if let instance = output.outputs[id] { instance.followers = count }
        }
        monitoring = Monitoring(config: config.monitoring, stateDir: config.stateDir, loop: loop, processes: processes,
                                devNull: devNull, socketPath: control.listener.path)
        if let handoff { monitoring.counters.restore(handoff.section("metrics")) }
        monitoring.publish = { [unowned self] event, extra in events.publish(event, extra: extra) }
        monitoring.eventsAppended = { [unowned self] in control.eventsAppended() }
        monitoring.stableAfter = { [unowned self] worker in supervision.config.worker(named: worker)?.backoff.resetAfter }
        events.subscribe { [unowned self] event, extra in monitoring.eventPublished(event, extra) }
        if let handoff { control.restoreConnections(handoff.section("control"), handoff.blob, MonotonicClock.now()) }
        startSystemd()
        for note in host?.notes ?? [] {
            events.publish(SupervisorEvent(.daemon, nil, priority: 5, message: note))
        }
    }

    /// Binds the control socket (or takes over the one a re-exec handed over).
    private func makeControlServer(_ control: ControlConfig) throws(SystemError) -> ControlServer {
        if let handoff, let (listener, startedAt) = try? ControlServer.inheritedListener(handoff.section("control")) {
            let gid = try? Self.controlGroupID(control.group)
            return try ControlServer(listener: listener, control: control, groupID: gid ?? nil, loop: loop, context: self,
                                     now: MonotonicClock.now(), startedAt: startedAt)
        }
        guard let path = ControlSocketPath.forDaemon(override: options.socketPath, configured: control.socket) else {
            throw SystemError(ENOENT, "no place for the control socket: XDG_RUNTIME_DIR is not set (set control.socket in the config, or pass --socket)")
        }
        let gid = try Self.controlGroupID(control.group)
        let listener = try ControlListener(path: path, mode: control.mode, group: gid)
        do {
            return try ControlServer(listener: listener, control: control, groupID: gid, loop: loop, context: self, now: MonotonicClock.now())
        } catch {
            listener.close()
            throw error
        }
    }

    static func controlGroupID(_ group: String?) throws(SystemError) -> UInt32? {
        guard let group else { return nil }
        do {
            return try Users.lookup(group: group)
        } catch {
            throw SystemError(error.errno, "control.group \"\(group)\" cannot be used (\(error.call))")
        }
    }

    // MARK: - The loop

    /// Runs until SIGTERM/SIGINT has stopped every worker. Returns the process exit code.
    public func run() -> Int32 {
        let resumed = handoff == nil ? "" : ", taken over from the previous image by a re-exec"
        events.publish(SupervisorEvent(.daemon, nil, priority: 5, message: "bulkhead \(BulkheadVersion.current) supervising \(supervision.instanceIDs.count) instances (pid \(daemonPID))\(resumed)"))
        for warning in startWarnings {
            events.publish(SupervisorEvent(.daemon, nil, priority: 3, message: warning))
        }
        warnIfJournalStreamsShort()
        if let note = monitoring.startMetrics(loop) { emit(note) }
        if let taken = handoff {
            sockets.restore(taken.section("sockets"), supervision.config.workers)
            applySocketsAndLimits(supervision.config)
            resumeFromHandoff(taken, MonotonicClock.now())
            systemdReloaded(MonotonicClock.now())
            taken.release()
            handoff = nil
        } else {
            // Leftovers first: an adopted worker's listening sockets are taken from it, not bound.
            perform(restoreState(MonotonicClock.now()))
            applySocketsAndLimits(supervision.config)
            perform(supervision.startAll(MonotonicClock.now()))
        }
        output.sink.endOfIteration()   // the start-up lines, before the first wait (which may be long)
        while !(shutdownRequested && supervision.isQuiescent) {
            turn()
        }
        finish()
        return workerExitStatus ?? 0
    }

    /// One turn: wait for the earliest deadline or a ready fd; then signals, the control
    /// socket, the workers' fds (within a time budget), due deadlines, queued spawns.
    func turn() {
        let policyDeadline = supervision.nextDeadline()
        let spawnsLeft: Instant? = pendingSpawns.isEmpty && !prober.hasResults ? nil : .zero
        let wake = [policyDeadline, control.deadline, systemdDeadline(), processes.deadline, prober.deadline, spawnsLeft,
                    coalescer.nextDeadline, monitoring.deadline, reexecRun?.deadline].compactMap { $0 }.min()
        let ready: [(event: Epoll.Event, source: EventLoop.Source)]
        do {
            ready = try loop.wait(until: wake)
        } catch {
            events.publish(SupervisorEvent(.daemon, nil, priority: 2, message: "epoll_wait failed: \(error)"))
            return
        }
        wakeInstant = MonotonicClock.now()
        let wall = WallClock.nowNanoseconds()
        output.sink.beginIteration(wallNanoseconds: wall)
        output.turnWall = wall
        control.beginTurn(at: wakeInstant)
        let workersUntil = wakeInstant + Self.workerTimePerTurn
        var workerEvents = 0
        for (event, source) in ready {
            if source.priority == 2 {
                // Level-triggered: a worker fd not handled this turn (its budget spent) is
                // reported again on the next; at least one is handled every turn.
                if workerEvents > 0 && MonotonicClock.now() >= workersUntil { break }
                workerEvents += 1
            }
            dispatch(event, source)
        }
        let now = MonotonicClock.now()
        prober.tick(now)
        deliverProbeResults()
        if let policyDeadline, policyDeadline <= now { perform(supervision.tick(now)) }
        for death in processes.tick(now) { handleDeath(death) }
        if let due = coalescer.nextDeadline, due <= now { sayRepeatedDeaths(now) }
        monitoring.tick(now)
        performSpawns()
        if options.exitsWithWorker { exitIfWorkerDone() }
        control.endTurn(MonotonicClock.now())
        persistState()
        reportDroppedOutput()
        reportDroppedReports()
        reportStateFailures()
        reexecTurnEnded(MonotonicClock.now())
        systemdIterationEnded(MonotonicClock.now())
        output.sink.endOfIteration()
    }

    private func dispatch(_ event: Epoll.Event, _ source: EventLoop.Source) {
        switch source {
        case .signals:
            handleSignals()
        case .exitTimes:
            for death in processes.exitEventsArrived() { handleDeath(death) }
        case .reportsWritten:
            reports.takeWrittenSignal()
            monitoring.reportsWritten(reports.takeReportCopies(), MonotonicClock.now())
            control.reportsWritten(MonotonicClock.now())
        case .output(let id, let stream):
            output.readable(id, stream)
        case .notify:
            receiveNotifications()
        case .process(let id):
            if let death = processes.processExited(id, noticed: wakeInstant) { handleDeath(death) }
        case .controlListener:
            control.acceptReady(MonotonicClock.now())
        case .controlClient(let client):
            control.clientReady(client, event, MonotonicClock.now())
        case .hook(let run, let channel):
            monitoring.hooks.ready(run, channel, MonotonicClock.now())
        case .hooksLaunched:
            monitoring.hooks.launched(MonotonicClock.now())
        case .metricsRequest:
            metricsRequested()
        case .probe(let number):
            prober.ready(number, event, now: wakeInstant)
        case .kernelLog:
            kernelFaults.read { processes.instance(ofPID: $0) != nil }
        case .reexecCheck:
            reexecCheckExited(MonotonicClock.now())
        }
    }

    private func handleSignals() {
        let deliveries: [SignalDescriptor.Delivery]
        do { deliveries = try signals.drain() } catch { return }
        let children = deliveries.filter { $0.signal == SIGCHLD }.map(\.senderPID)
        if !children.isEmpty {
            for death in processes.childrenSignalled(children, wakeInstant) { handleDeath(death) }
        }
        for delivery in deliveries {
            switch delivery.signal {
            case SIGCHLD:
                break
            case SIGTERM, SIGINT:
                guard !shutdownRequested else { continue }
                shutdownRequested = true
                freezeState()
                systemdStopping()
                events.publish(SupervisorEvent(.stop, nil, priority: 5, message: "SIG\(Signals.name(delivery.signal)) from pid \(delivery.senderPID): stopping every worker, dependents first"))
                perform(supervision.shutdown(MonotonicClock.now()))
                // Spawns not made yet are not made at all (each would only be stopped again).
                let cancelled = pendingSpawns
                pendingSpawns.removeAll()
                for id in cancelled { perform(supervision.spawnCancelled(id, MonotonicClock.now())) }
            case SIGHUP where options.exitsWithWorker:
                forwardToWorker(SIGHUP)
            case SIGHUP:
                reloadConfiguration()
            case SIGUSR2:
                reexecBySignal(from: delivery.senderPID)
            default:
                break
            }
        }
    }

    // MARK: - Events out

    func emit(_ event: SupervisorEvent, extra: [SupervisorEvent.Field] = [], to audience: SupervisorEvents.Audience = .everyone) {
        events.publish(event, extra: extra, to: audience)
    }

    func reportDroppedOutput() {
        let dropped = output.sink.takeDroppedLines()
        guard dropped > 0 else { return }
        counters.outputLinesDropped += dropped
        emit(SupervisorEvent(.outputDropped, nil, priority: 4, message: "output too slow: \(dropped) lines dropped (\(counters.outputLinesDropped) in all)"))
    }

    /// Crash reports the writer could not keep up with (a storm of thousands of deaths), and
    /// reports the disk refused (rate-limited: a full disk in a crash storm is one line a minute).
    private func reportDroppedReports() {
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

    /// State file writes the disk refused (rate-limited: a full disk is one line a minute).
    private func reportStateFailures() {
        guard let (failed, reason) = durable?.store.takeFailures(), failed > 0 else { return }
        let (log, summary) = stateFailureLog.admit(wakeInstant)
        guard log else { return }
        let earlier = summary > 0 ? "; \(summary) more since the last such line" : ""
        emit(SupervisorEvent(.daemon, nil, priority: 3, message: "the state file could not be written: \(reason ?? "write failed")\(earlier) (a restarted bulkhead would not know what this one decided since)"))
    }

    func warnIfJournalStreamsShort() {
        if let warning = FileDescriptorBudget.journalStreamWarning(supervision.config) {
            emit(SupervisorEvent(.daemon, nil, priority: 4, message: warning))
        }
    }

    // MARK: - Reload

    enum ReloadOutcome {
        case applied(Supervision.ReloadSummary)
        /// The new config is invalid, or cannot be applied here: nothing changed. Every error,
        /// one per line.
        case refused(String)
    }

    /// SIGHUP or `bulkhead reload`: re-read the config; a bad one changes nothing.
    @discardableResult
    func reloadConfiguration() -> ReloadOutcome {
        if options.exitsWithWorker {
            emit(SupervisorEvent(.reload, nil, priority: 4, message: "reload refused: \(Self.noConfigFile)"))
            return .refused(Self.noConfigFile)
        }
        let now = MonotonicClock.now()
        systemdReloading(now)
        defer { systemdReloaded(MonotonicClock.now()) }
        let config: SupervisorConfig
        let groupID: UInt32?
        let text: String
        do {
            text = try ConfigLoader.text(path: options.configPath)
            config = try ConfigLoader.parse(yaml: text, file: options.configPath)
            // What can fail applying it is tried before anything changes: a reload that would
            // fail halfway is refused whole.
            groupID = try Self.controlGroupID(config.control.group)
            try FileSystem.makeDirectories(config.stateDir + "/crashes", mode: 0o755)
            if let refusal = DescriptorLimit.refusal(config) { throw ReloadRefusal(refusal) }
        } catch {
            emit(SupervisorEvent(.reload, nil, priority: 3, message: "reload refused, nothing changed: \(error)"))
            return .refused("\(error)")
        }
        let (actions, summary) = supervision.reload(config, now)
        configText = text
        durable?.digests = [:]
        reports.retention = config.crashReports
        if config.crashReports.coalescing != coalescer.settings {
            // What the old settings folded is said now; the new ones start from nothing.
            sayRepeatedDeaths(now, all: true)
            coalescer = CrashCoalescer(settings: config.crashReports.coalescing)
        }
        output.reconfigure(config.output)
        do {
            try control.apply(config.control, groupID: groupID)
        } catch {
            emit(SupervisorEvent(.reload, nil, priority: 3, message: "control socket: could not apply the new control.mode/control.group: \(error)"))
        }
        applySocketsAndLimits(config)
        perform(actions)
        for note in monitoring.reconfigure(config.monitoring, instances: Set(supervision.instanceIDs), loop: loop, MonotonicClock.now()) {
            emit(note)
        }
        warnIfJournalStreamsShort()
        return .applied(summary)
    }

    /// A valid config that cannot be applied here (it does not fit the fd limit).
    struct ReloadRefusal: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: - Exit

    private func finish() {
        control.stop()
        sockets.closeAll()
        output.sink.beginIteration(wallNanoseconds: WallClock.nowNanoseconds())
        notify.close()
        monitoring.stop(loop)
        processes.finish(waitingOn: signals) { emit(SupervisorEvent(.daemon, nil, priority: 4, message: $0)) }
        sayRepeatedDeaths(MonotonicClock.now(), all: true)
        writeFinalState()
        reports.drain(timeoutNanoseconds: 5_000_000_000)
        emit(SupervisorEvent(.daemon, nil, priority: 5, message: "every worker stopped; bulkhead exits"))
        output.sink.drain(timeoutNanoseconds: 2_000_000_000)
    }
}

extension Daemon {
    /// How far the loop thread runs above the workers. A supervisor at the same priority as its
    /// workers gets 1/(n+1) of a saturated CPU: deaths, stops and control requests would wait
    /// behind a thousand busy workers. Workers start at bulkhead's own value as before.
    static let loopPriorityBoost: Int32 = 5

    /// When memory runs out where bulkhead and its workers live (the machine, or a cgroup they
    /// share), the OOM killer must take a worker, not the process that would restart it: a
    /// daemon nobody placed (oom_score_adj 0) lowers its own to this, as systemd units do with
    /// OOMScoreAdjust=. Its memory is bounded by design, so it cannot be the leak that causes it.
    static let ownOOMScoreAdjust: Int32 = -500

    /// Sets the daemon's own oom_score_adj; returns the value each worker gets after its exec,
    /// nil when workers keep what they inherit (someone placed the daemon: the unit's
    /// OOMScoreAdjust=, which the operator chose for both).
    static func protectFromOOMKiller() -> Int32? {
        guard let current = OOMScore.own() else { return nil }
        let lowered = current == 0 && OOMScore.set(ownOOMScoreAdjust)
        return workerOOMScoreAdjust(own: current, lowered: lowered)
    }

    /// Lowering needs CAP_SYS_RESOURCE (a user's bulkhead, many containers have none); raising
    /// needs nothing. Either way the workers end up 500 above the daemon: lowered, they are put
    /// back to 0; not, they are raised by as much (as a user's service manager puts its services
    /// above itself). A daemon already at -500 lowered itself before a re-exec (or its unit
    /// chose bulkhead's own value): its workers go back to 0 as before.
    static func workerOOMScoreAdjust(own: Int32, lowered: Bool) -> Int32? {
        if own == ownOOMScoreAdjust { return 0 }
        guard own == 0 else { return nil }
        return lowered ? 0 : -ownOOMScoreAdjust
    }

    /// Raises the calling (loop) thread's priority; returns the nice value workers must get,
    /// or nil when it could not be raised (no CAP_SYS_NICE: then all run at the same value).
    static func raiseLoopPriority() -> Int32? {
        // Best effort, and no privilege needed: a short slice lets the loop preempt whatever
        // runs when a death wakes it, where it would otherwise wait out that task's slice.
        _ = bh_set_thread_slice(loopSliceNanoseconds)
        let base = bh_thread_nice()
        guard base != Int32.min, base > -20, bh_set_thread_nice(max(base - loopPriorityBoost, -20)) == 0 else { return nil }
        return base
    }

    /// The loop thread's scheduler slice: the shortest the kernel takes. It runs in short turns
    /// and sleeps in between, so a short slice costs it nothing.
    static let loopSliceNanoseconds: UInt64 = 100_000
}
