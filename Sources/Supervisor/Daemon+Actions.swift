import BulkheadForensics
import BulkheadPolicy
import BulkheadSystem

/// Performing what policy decided, and feeding it what the parts saw.
extension Daemon {
    /// Performs actions in order. Spawns are queued and performed a few per turn
    /// (`performSpawns`): a thousand of them never keep an operator's request, a death or a
    /// signal waiting, and nothing is performed from inside another action.
    func perform(_ actions: [SupervisorAction]) {
        for action in actions {
            switch action {
            case .spawn(let id):
                pendingSpawns.append(id)
            case .signal(let id, let pid, let signal, let scope):
                processes.send(signal, to: id, pid: pid, scope: scope)
            case .record(let record):
                recordDeath(record)
            case .emit(let event):
                emit(event, extra: followUpFields(event))
            case .forget(let id):
                forget(id)
            case .probe(let id, let pid, let role, let check, let timeout):
                prober.start(id, pid: pid, role: role, check: check, timeout: timeout, now: MonotonicClock.now())
            }
        }
    }

    /// Queued spawns, for at most `spawnTimePerTurn` (at least one per turn).
    func performSpawns() {
        guard !pendingSpawns.isEmpty else { return }
        let until = MonotonicClock.now() + Self.spawnTimePerTurn
        var done = 0
        while done < pendingSpawns.count {
            let id = pendingSpawns[done]
            done += 1
            perform(spawn(id))
            if MonotonicClock.now() >= until { break }
        }
        pendingSpawns.removeFirst(done)
    }

    private func spawn(_ id: InstanceID) -> [SupervisorAction] {
        guard let spec = supervision.spec(for: id) else { return [] }
        let listening: [ListeningSockets.Open]
        switch sockets.sockets(for: spec) {
        case .success(let open): listening = open
        case .failure(let error):
            let failure = SpawnFailure(kind: error.isResourceShortage ? .resources : .configuration, stage: error.stage.rawValue, reason: error.reason)
            evidence[id] = DeathEvidence(spawnError: error.description, wallNanoseconds: WallClock.nowNanoseconds(), command: spec.command)
            return supervision.spawnFailed(id, failure, MonotonicClock.now())
        }
        switch processes.spawn(id, spec, notifySocket: notify.socket.name, sockets: listening) {
        case .spawned(let spawned):
            if let pipes = spawned.output {
                output.attach(id, stdout: pipes.stdout, stderr: pipes.stderr)
                output.outputs[id]?.followers = control.followerCount(id)
            }
            if let refused = spawned.journalRefused { journalRefused(id, refused) }
            return supervision.spawned(id, pid: spawned.pid, MonotonicClock.now())
        case .failed(let failure, let evidence):
            // The instance has no process: it holds no fd until its next attempt.
            self.evidence[id] = evidence
            return supervision.spawnFailed(id, failure, MonotonicClock.now())
        }
    }

    /// journald's stream socket refused a `journal-direct` worker: its output went through
    /// bulkhead for this run. Said ten times a minute at most (journald down means every spawn).
    private func journalRefused(_ id: InstanceID, _ error: SpawnError) {
        counters.journalRefusals += 1
        let (log, summary) = journalRefusalLog.admit(wakeInstant)
        guard log else { return }
        let earlier = summary > 0 ? "; \(summary) more since the last such line" : ""
        emit(SupervisorEvent(.daemon, id, priority: 4,
                             message: "output: journal-direct refused (\(WorkerStreams.journalSocket): \(error.reason)): this run's output goes through bulkhead\(earlier)"))
    }

    /// The instance left the configuration and is stopped: every part lets it go.
    private func forget(_ id: InstanceID) {
        processes.forget(id)
        output.forget(id)
        notify.forget(id)
        pendingSpawns.removeAll { $0 == id }
    }

    /// A death, reaped: what it left is read (BulkheadForensics) and policy decides.
    func handleDeath(_ reaped: ReapedProcess) {
        let id = reaped.id
        let spec = supervision.spec(for: id)
        prober.cancel(id)
        output.processEnded(id)
        let instanceOutput = output.outputs[id]
        let window = instanceOutput?.crashWindow() ?? (output: [], blockHead: [])
        let tail = instanceOutput?.stderrTail.lines(last: supervision.config.output.stderrTailLines) ?? []
        let termination: Termination = !reaped.exit.statusKnown ? .unknown
            : reaped.exit.exited ? .exited(code: reaped.exit.code)
            : .signaled(signal: reaped.exit.code, coreDumped: reaped.exit.coreDumped)
        let pid = reaped.exit.pid
        var coreDump: CoreDumpLocation?
        if reaped.exit.coreDumped, let spec {
            coreDump = coreDumps.location(pid: pid, signal: reaped.exit.code, executable: spec.command[0], workingDirectory: spec.cwd)
        }
        let scene = DeathScene(termination: termination, output: window.output, blockHead: window.blockHead,
                               swiftBacktraceJSON: reaped.backtraceJSON,
                               kernelFaultLine: reaped.exit.exited ? nil : kernelFaults.take(pid) { processes.instance(ofPID: $0) != nil },
                               coreDump: coreDump, pid: pid)
        let explanation = CrashExplainer.explain(scene)
        let facts = DeathFacts(
            termination: termination, stderrTail: tail.map(\.text), fatalMessage: explanation.fatalMessage,
            sourceLocation: explanation.sourceLocation, headline: explanation.headline,
            topFrames: explanation.frames.filter { !$0.isRuntime }.prefix(5).map(\.function),
            killedForLimit: reaped.killedForLimit,
            runtimeCrash: explanation.runtime.flatMap { runtime in
                explanation.kind.map {
                    RuntimeCrash(runtime: runtime.rawValue, kind: $0, isCrash: explanation.isRecognisedCrash, message: explanation.message)
                }
            },
            fingerprintBasis: explanation.fingerprintBasis, tasksLimitReached: reaped.tasksLimitReached
        )
        evidence[id] = DeathEvidence(reaped, command: spec?.command ?? [], stderrTail: tail, outputTail: window.output,
                                     explanation: explanation)
        perform(supervision.exited(id, pid: reaped.exit.pid, facts: facts, MonotonicClock.now()))
        if options.exitsWithWorker { workerEnded(id, reaped.exit) }
    }

    /// Health checks that ended, to policy (between events: never from inside an action).
    func deliverProbeResults() {
        for finished in prober.takeResults() {
            perform(supervision.probeFinished(finished.id, pid: finished.pid, role: finished.role, finished.result, MonotonicClock.now()))
        }
    }

    /// `sockets:` opened (and dropped ones closed), and the limits this machine cannot enforce
    /// said, at start and after each reload.
    func applySocketsAndLimits(_ config: SupervisorConfig) {
        for event in sockets.apply(config.workers) { emit(event) }
        let notes = LimitEnforcement.notes(for: config.workers, support: processes.launcher.limitSupport)
        for note in notes where !limitNotes.contains(note) {
            emit(SupervisorEvent(.daemon, nil, priority: 4, message: note))
        }
        limitNotes = notes
    }

    /// What arrived on the notify socket, each datagram for the instance its sender belongs to.
    func receiveNotifications() {
        let received = notify.receive(NotifyReceiver.Senders(
            mainProcess: { [processes] in processes.instance(ofPID: $0) },
            cgroupOwner: { [processes] in processes.instance(inCgroupOf: $0) }
        ))
        for event in received.events { emit(event) }
        for (id, notification) in received.notifications {
            perform(supervision.notified(id, notification, MonotonicClock.now()))
        }
    }
}
