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
                emit(event)
            case .forget(let id):
                forget(id)
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
        let socket: String
        do {
            socket = try notify.socketName(for: id)
        } catch {
            return supervision.spawnFailed(id, SpawnFailure(kind: .resources, stage: "notify socket", reason: error.description), MonotonicClock.now())
        }
        switch processes.spawn(id, spec, notifySocket: socket) {
        case .spawned(let spawned):
            output.attach(id, stdout: spawned.stdout, stderr: spawned.stderr)
            output.outputs[id]?.followers = control.followerCount(id)
            return supervision.spawned(id, pid: spawned.pid, MonotonicClock.now())
        case .failed(let failure, let evidence):
            // The instance has no process: it holds no fd until its next attempt.
            notify.release(id)
            self.evidence[id] = evidence
            return supervision.spawnFailed(id, failure, MonotonicClock.now())
        }
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
        output.processEnded(id)
        let instanceOutput = output.outputs[id]
        let window = instanceOutput?.crashWindow() ?? (output: [], blockHead: [])
        let tail = instanceOutput?.stderrTail.lines(last: supervision.config.output.stderrTailLines) ?? []
        let termination: Termination = !reaped.exit.statusKnown ? .unknown
            : reaped.exit.exited ? .exited(code: reaped.exit.code)
            : .signaled(signal: reaped.exit.code, coreDumped: reaped.exit.coreDumped)
        let scene = DeathScene(termination: termination, output: window.output, blockHead: window.blockHead,
                               swiftBacktraceJSON: reaped.backtraceJSON, pid: reaped.exit.pid)
        let explanation = CrashExplainer.explain(scene)
        let facts = DeathFacts(
            termination: termination, stderrTail: tail.map(\.text), fatalMessage: explanation.fatalMessage,
            sourceLocation: explanation.sourceLocation, headline: explanation.headline,
            topFrames: explanation.frames.filter { !$0.isRuntime }.prefix(5).map(\.function),
            killedForLimit: reaped.killedForLimit,
            runtimeCrash: explanation.runtime.flatMap { runtime in
                explanation.kind.map { RuntimeCrash(runtime: runtime.rawValue, kind: $0, isCrash: explanation.isRecognisedCrash) }
            },
            fingerprintBasis: explanation.fingerprintBasis
        )
        evidence[id] = DeathEvidence(reaped, command: spec?.command ?? [], stderrTail: tail, outputTail: window.output,
                                     explanation: explanation)
        perform(supervision.exited(id, pid: reaped.exit.pid, facts: facts, MonotonicClock.now()))
    }

    /// What arrived on an instance's notify socket.
    func receiveNotifications(_ id: InstanceID) {
        let received = notify.receive(id, mainPID: processes.slots[id]?.pid)
        for event in received.events { emit(event) }
        for notification in received.notifications {
            perform(supervision.notified(id, notification, MonotonicClock.now()))
        }
    }
}
