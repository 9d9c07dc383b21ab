import BulkheadConfig
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// Which fd of a hook run is ready.
enum HookChannel: Equatable {
    case process
    case input
    case output
}

/// What a hook run gets: the event as JSON (and the crash report, once written), and what its
/// environment says about it.
struct HookPayload {
    /// The event's JSON object, `{…}`.
    var event: [UInt8]
    var kind: EventKind
    var worker: String?
    var instance: String?
    var crashID: String?
    var alert: String?
    /// The crash report's JSON (as stored), when it was written in time.
    var report: [UInt8]?

    /// `{…event…,"hook":…,"suppressed":N,"report":{…}}` and a newline.
    func stdin(hook: String, suppressed: Int) -> [UInt8] {
        var bytes = Array(event.dropLast())
        var w = CompactWriter(capacity: 128)
        w.raw(",\"hook\":")
        w.string(hook)
        w.raw(",\"suppressed\":")
        w.int(Int64(suppressed))
        if crashID != nil {
            w.raw(",\"report\":")
            if report == nil { w.raw("null") }
        }
        bytes += w.bytes
        if crashID != nil, let report { bytes += report.last == 0x0A ? report.dropLast() : report[...] }
        bytes += [0x7D, 0x0A]
        return bytes
    }
}

/// Runs hook programs (SPEC §11) off the supervision loop: `HookLauncher`'s thread clones them
/// (the same spawner as workers, a new session each, stdin a pipe, stdout and stderr another);
/// the loop writes
/// their input as the pipe takes it (never waiting for a hook that does not read), reads their
/// output's last lines, and reaps them through their pidfds. They run at `hookNice`, below
/// the workers: a storm of deaths paging someone must not slow the restarts it reports. When and how many run is
/// `HookScheduler`'s (policy): timeouts end in SIGKILL to the process group, and a hook that
/// fails or hangs is logged and counted, and never delays a worker's restart.
final class HookRunner {
    private struct Running {
        var hook: Int
        /// 0 until the launcher has started it.
        var pid: Int32 = 0
        var pidfd: FileDescriptor?
        var pidfdToken: UInt64 = 0
        var input: FileDescriptor?
        var inputToken: UInt64 = 0
        var pending: [UInt8]
        var written = 0
        var output: FileDescriptor?
        var outputToken: UInt64 = 0
        /// The last bytes it wrote (stdout and stderr together), for the log when it fails.
        var tail: [UInt8] = []
        var startedAt: Instant
        var killed = false
        var kind: EventKind
        var subject: String
    }

    private(set) var specs: [HookSpec]
    private var scheduler: HookScheduler<HookPayload>
    private var running: [Int: Running] = [:]
    private let loop: EventLoop
    private let processes: ProcessTable
    private let devNull: FileDescriptor
    private let basePath: String
    private let environment: [String]
    private let nice: Int32
    private let launcher: HookLauncher
    /// Hook events and counts go out through these (the daemon's event stream and metrics).
    var publish: (SupervisorEvent, [SupervisorEvent.Field]) -> Void = { _, _ in }
    var finished: (_ hook: String, _ result: String) -> Void = { _, _ in }
    var suppressed: (_ hook: String) -> Void = { _ in }
    /// Events dropped because a hook's queue was full: said ten times a minute at most.
    private var queueFullLog = RateLimitedLog()

    /// Bytes of a run's output kept for its log line.
    static let tailBytes = 2048

    init(specs: [HookSpec], processCap: Int, loop: EventLoop, processes: ProcessTable, devNull: FileDescriptor, socketPath: String) {
        self.specs = specs
        scheduler = HookScheduler(hooks: specs, processCap: processCap)
        self.loop = loop
        self.processes = processes
        self.devNull = devNull
        nice = processes.launcher.hookNice
        launcher = HookLauncher(nice: nice)
        if let signal = launcher.signal, launcher.threaded, (try? loop.register(signal.descriptor, .readable, .hooksLaunched)) == nil {
            _ = launcher.stop(timeoutNanoseconds: 1_000_000_000)   // unwatched, its outcomes would never be taken
        }
        basePath = Environment.get("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        environment = ["LANG", "LC_ALL", "TZ", "HOME"].compactMap { key in Environment.get(key).map { "\(key)=\($0)" } }
            + ["BULKHEAD_SOCKET=\(socketPath)"]
    }

    var runningCount: Int { running.count }

    /// New hooks (a reload): runs in flight finish under the old ones; queued events are dropped.
    func reconfigure(_ new: [HookSpec], processCap: Int) {
        guard new != specs else { return }
        specs = new
        // Run ids go on from the old scheduler's: its runs still going keep theirs in `running`.
        scheduler = HookScheduler(hooks: new, processCap: processCap, firstRunID: scheduler.upcomingRunID)
        // Runs still going are reaped and logged, but no longer free a slot in the new scheduler.
        for id in running.keys { running[id]?.hook = -1 }
    }

    /// Hooks whose `on` and `workers` take this event.
    func matching(_ kind: EventKind, deathClass: DeathClass?, worker: String?) -> [Int] {
        specs.indices.filter { specs[$0].matches(kind, deathClass: deathClass, worker: worker) }
    }

    /// An event for hook `hook`; `waitsForReport`: its crash report is still being written.
    func offer(_ hook: Int, _ payload: HookPayload, waitsForReport: Bool, _ now: Instant) {
        perform(scheduler.offer(hook: hook, payload, waitsFor: waitsForReport ? payload.crashID : nil, now), now)
    }

    /// A crash report was written: runs waiting for it get it and may start.
    func reportWritten(_ id: String, _ bytes: [UInt8], _ now: Instant) {
        scheduler.updatePayloads(waitingFor: id) { $0.report = bytes }
        perform(scheduler.ready(id, now), now)
    }

    var deadline: Instant? { scheduler.nextDeadline }

    func tick(_ now: Instant) {
        perform(scheduler.tick(now), now)
    }

    // MARK: - Ready fds

    func ready(_ runID: Int, _ channel: HookChannel, _ now: Instant) {
        guard running[runID] != nil else { return }
        switch channel {
        case .input: writeInput(runID)
        case .output: readOutput(runID, untilEnd: false)
        case .process: reap(runID, now)
        }
    }

    // MARK: - Actions

    private func perform(_ actions: [HookScheduler<HookPayload>.Action], _ now: Instant) {
        for action in actions {
            switch action {
            case .start(let run):
                start(run, now)
            case .kill(let runID, _):
                guard let run = running[runID] else { continue }
                running[runID]?.killed = true
                // Not started yet: it is killed as soon as it is (`launched`). Never pid 0.
                guard run.pid > 0 else { continue }
                ProcessSignals.signalGroup(run.pid, SIGKILL)
                ProcessSignals.signalProcess(run.pid, SIGKILL)
            case .suppressed(let hook, let first):
                suppressed(specs[hook].name)
                guard first else { continue }
                let rate = specs[hook].rate.map { " \($0)" } ?? ""
                publish(SupervisorEvent(.hook, nil, priority: 4, message: "hook \(specs[hook].name) reached its rate\(rate): further events are counted, not run, until the window allows again"),
                        [.init("HOOK", specs[hook].name), .init("RESULT", "suppressed")])
            case .suppressedSummary(let hook, let count):
                publish(SupervisorEvent(.hook, nil, priority: 4, message: "hook \(specs[hook].name): \(count) events suppressed by its rate \(specs[hook].rate.map { "\($0)" } ?? "")"),
                        [.init("HOOK", specs[hook].name), .init("RESULT", "suppressed"), .init("SUPPRESSED", "\(count)")])
            case .queueFull(let hook):
                suppressed(specs[hook].name)
                let (log, earlier) = queueFullLog.admit(now)
                guard log else { continue }
                let more = earlier > 0 ? "; \(earlier) more since the last such line" : ""
                publish(SupervisorEvent(.hook, nil, priority: 4, message: "hook \(specs[hook].name): its queue of events waiting to run is full: this event is counted, not run\(more)"),
                        [.init("HOOK", specs[hook].name), .init("RESULT", "suppressed")])
            }
        }
    }

    /// Starts a run the scheduler let through; one that cannot start is logged and counted.
    private func start(_ run: HookScheduler<HookPayload>.Run, _ now: Instant) {
        let spec = specs[run.hook]
        let subject = run.payload.instance ?? run.payload.worker ?? "bulkhead"
        if run.suppressedBefore > 0 {
            suppressedCountLogged(spec, run.suppressedBefore)
        }
        do {
            try launch(run, spec, subject: subject, now)
        } catch {
            couldNotStart(run.id, hook: run.hook, kind: run.payload.kind, subject: subject, reason: error.description, now)
        }
    }

    private func couldNotStart(_ runID: Int, hook: Int, kind: EventKind, subject: String, reason: String, _ now: Instant) {
        let name = hook >= 0 && hook < specs.count ? specs[hook].name : "(removed by a reload)"
        finished(name, "error")
        publish(SupervisorEvent(.hook, nil, priority: 3, message: "hook \(name) for \(subject) \(kind.rawValue) could not start: \(reason)"),
                [.init("HOOK", name), .init("RESULT", "error")])
        if hook >= 0 { perform(scheduler.finished(runID, now), now) }
    }

    private func suppressedCountLogged(_ spec: HookSpec, _ count: Int) {
        publish(SupervisorEvent(.hook, nil, priority: 5, message: "hook \(spec.name) runs again; \(count) events were suppressed since its last run (BULKHEAD_HOOK_SUPPRESSED)"),
                [.init("HOOK", spec.name), .init("RESULT", "resumed"), .init("SUPPRESSED", "\(count)")])
    }

    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    private func launch(_ run: HookScheduler<HookPayload>.Run, _ spec: HookSpec, subject: String, _ now: Instant) throws(LaunchError) {
        guard let executable = ConfigLoader.resolveExecutable(spec.command[0], path: basePath) else {
            throw LaunchError(description: "\(spec.command[0]): no such executable (PATH=\(basePath))")
        }
        let bytes = run.payload.stdin(hook: spec.name, suppressed: run.suppressedBefore)
        running[run.id] = Running(hook: run.hook, input: nil, pending: bytes, startedAt: now, kind: run.payload.kind, subject: subject)
        launcher.launch(HookLauncher.Request(run: run.id, executable: executable, arguments: spec.command,
                                             environment: environment(run, spec), input: bytes))
        if !launcher.threaded { launched(now) }
    }

    /// The launcher started runs (or could not): each is watched through its pidfd from now on.
    func launched(_ now: Instant) {
        for outcome in launcher.take() {
            switch outcome {
            case .started(let runID, let pid, let pidfd, let input, let written, let output):
                guard var run = running[runID] else {
                    ProcessSignals.signalGroup(pid, SIGKILL)
                    for fd in [pidfd, output] + (input.map { [$0] } ?? []) { fd.close() }
                    continue
                }
                processes.watchHelper(pid)
                run.pid = pid
                run.pidfd = pidfd
                run.input = input
                run.written = written
                if input == nil { run.pending = [] }
                run.output = output
                if let token = try? loop.register(output, .readable, .hook(runID, .output)) {
                    run.outputToken = token
                } else {
                    output.close()
                    run.output = nil
                }
                guard let token = try? loop.register(pidfd, .readable, .hook(runID, .process)) else {
                    // Unwatched it could be neither timed out nor reaped: killed now, and reaped
                    // with every other stray at exit.
                    ProcessSignals.signalGroup(pid, SIGKILL)
                    ProcessSignals.signalProcess(pid, SIGKILL)
                    running[runID] = nil
                    closeInput(&run)
                    closeOutput(&run)
                    pidfd.close()
                    couldNotStart(runID, hook: run.hook, kind: run.kind, subject: run.subject, reason: "its pidfd could not be watched (epoll); it was killed", now)
                    continue
                }
                run.pidfdToken = token
                running[runID] = run
                // The rest of its input, as the pipe takes it.
                if input != nil { writeInput(runID) }
                // Its time ran out while it waited to start.
                if run.killed { ProcessSignals.signalGroup(pid, SIGKILL) }
            case .failed(let runID, let reason):
                guard var run = running.removeValue(forKey: runID) else { continue }
                closeInput(&run)
                closeOutput(&run)
                couldNotStart(runID, hook: run.hook, kind: run.kind, subject: run.subject, reason: reason, now)
            }
        }
    }

    private func environment(_ run: HookScheduler<HookPayload>.Run, _ spec: HookSpec) -> [String] {
        var env = ["PATH=\(basePath)"] + environment
        env.append("BULKHEAD_EVENT=\(run.payload.kind.rawValue)")
        env.append("BULKHEAD_HOOK=\(spec.name)")
        env.append("BULKHEAD_HOOK_SUPPRESSED=\(run.suppressedBefore)")
        if let worker = run.payload.worker { env.append("BULKHEAD_WORKER=\(worker)") }
        if let instance = run.payload.instance { env.append("BULKHEAD_INSTANCE=\(instance)") }
        if let crashID = run.payload.crashID { env.append("BULKHEAD_CRASH_ID=\(crashID)") }
        if let alert = run.payload.alert { env.append("BULKHEAD_ALERT=\(alert)") }
        return env
    }

    // MARK: - Input and output

    /// Writes what the pipe takes; the rest when it is writable again. A hook that closed its
    /// stdin (or never reads and exits) simply gets no more.
    private func writeInput(_ runID: Int) {
        guard var run = running[runID], let fd = run.input else { return }
        let written = HookLauncher.write(run.pending, from: run.written, to: fd)
        if written >= 0 && written < run.pending.count {
            run.written = written
            if run.inputToken == 0, let token = try? loop.register(fd, .writable, .hook(runID, .input)) {
                run.inputToken = token
            }
            running[runID] = run
            return
        }
        // All of it, or EPIPE: it does not read any more.
        closeInput(&run)
        running[runID] = run
    }

    private func closeInput(_ run: inout Running) {
        guard let fd = run.input else { return }
        if run.inputToken != 0 { loop.unregister(fd, token: run.inputToken) }
        fd.close()
        run.input = nil
        run.pending = []
    }

    private func readOutput(_ runID: Int, untilEnd: Bool) {
        guard var run = running[runID], let fd = run.output else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var reads = 0
        while reads < (untilEnd ? 64 : 4) {
            reads += 1
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n > 0 {
                run.tail += buffer[0..<n]
                if run.tail.count > Self.tailBytes { run.tail.removeFirst(run.tail.count - Self.tailBytes) }
                continue
            }
            if n == 0 || errno != EAGAIN { closeOutput(&run) }
            break
        }
        running[runID] = run
    }

    private func closeOutput(_ run: inout Running) {
        guard let fd = run.output else { return }
        if run.outputToken != 0 { loop.unregister(fd, token: run.outputToken) }
        fd.close()
        run.output = nil
    }

    // MARK: - The end of a run

    private func reap(_ runID: Int, _ now: Instant) {
        guard let before = running[runID], let pidfd = before.pidfd, let exit = processes.helperExited(before.pid, pidfd: pidfd) else { return }
        // A grandchild still holding the group: it goes with the hook.
        ProcessSignals.signalGroup(before.pid, SIGKILL)
        readOutput(runID, untilEnd: true)
        guard var run = running.removeValue(forKey: runID) else { return }
        closeInput(&run)
        closeOutput(&run)
        loop.unregister(pidfd, token: run.pidfdToken)
        pidfd.close()
        let name = run.hook >= 0 && run.hook < specs.count ? specs[run.hook].name : "(removed by a reload)"
        let took = Units.format(now.duration(since: run.startedAt))
        let result: String
        var how: String
        if run.killed {
            result = "timeout"
            how = "timed out after \(took) (timeout \(run.hook >= 0 ? Units.format(specs[run.hook].timeout) : "?")): killed with its process group"
        } else if exit.exited && exit.code == 0 {
            result = "ok"
            how = ""
        } else {
            result = "failed"
            how = exit.exited ? "failed: exited with code \(exit.code) after \(took)" : "failed: killed by SIG\(Signals.name(exit.code)) after \(took)"
        }
        finished(name, result)
        if result != "ok" {
            if let last = Self.lastLine(run.tail) { how += "; its last output: \(last)" }
            publish(SupervisorEvent(.hook, nil, priority: 4, message: "hook \(name) for \(run.subject) \(run.kind.rawValue) \(how)"),
                    [.init("HOOK", name), .init("RESULT", result)])
        }
        if run.hook >= 0 { perform(scheduler.finished(runID, now), now) }
    }

    static func lastLine(_ bytes: [UInt8]) -> String? {
        let lines = bytes.split(separator: 0x0A).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D } }
        guard let last = lines.last else { return nil }
        let text = String(decoding: last, as: UTF8.self)
        return text.count > 200 ? String(text.prefix(199)) + "…" : text
    }

    /// Shutdown: the launcher stops (what it started last is taken), and every hook still
    /// running is killed (the daemon reaps what is left on its way out).
    func stop() {
        _ = launcher.stop(timeoutNanoseconds: 2_000_000_000)
        launched(MonotonicClock.now())
        for run in running.values where run.pid > 0 {
            ProcessSignals.signalGroup(run.pid, SIGKILL)
        }
    }
}
