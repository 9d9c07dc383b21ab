import BulkheadPolicy
import BulkheadSystem
import Glibc

/// Performing what policy decided.
extension Daemon {
    /// Performs actions in order; actions produced while performing (a spawn's outcome) are
    /// appended and performed in turn, so nothing recurses.
    func perform(_ initial: [SupervisorAction]) {
        performDepth += 1
        defer { performDepth -= 1 }
        var queue = initial
        var index = 0
        while index < queue.count {
            let action = queue[index]
            index += 1
            switch action {
            case .spawn(let id):
                queue.append(contentsOf: spawn(id))
                serviceControl()   // a burst of spawns must not hold an operator's request
            case .signal(let id, let pid, let signal, let scope):
                send(signal, to: id, pid: pid, scope: scope)
            case .record(let record):
                recordDeath(record)
            case .emit(let event):
                emit(event)
            case .forget(let id):
                forget(id)
            }
            if index > 4096 {
                queue.removeFirst(index)
                index = 0
            }
        }
    }

    func slot(for id: InstanceID) throws(SystemError) -> InstanceSlot {
        if let slot = slots[id] { return slot }
        let notify = try NotifySocket(name: "@bulkhead/\(daemonPID)/\(id)", receiveBuffer: 64 << 10)
        let crumbs = try? BreadcrumbFile(name: "bulkhead-breadcrumbs-\(id)", capacity: Self.breadcrumbCapacity)
        let slot = InstanceSlot(
            id: id, notify: notify, breadcrumbs: crumbs,
            backtraceDirectory: backtraceRoot + "/" + id.description.replacingColons(),
            output: supervision.config.output
        )
        do {
            slot.notifyToken = try register(notify.descriptor, .readable, .notify(id))
        } catch {
            notify.close()
            throw error
        }
        slots[id] = slot
        return slot
    }

    func spawn(_ id: InstanceID) -> [SupervisorAction] {
        let now = MonotonicClock.now()
        guard let spec = supervision.spec(for: id) else { return [] }
        let slot: InstanceSlot
        do {
            slot = try self.slot(for: id)
        } catch {
            return supervision.spawnFailed(id, SpawnFailure(kind: .resources, stage: "notify socket", reason: error.description), now)
        }
        do {
            let launched = try launcher.launch(spec, slot: slot)
            slot.pid = launched.pid
            slot.spawnedAtWall = WallClock.nowNanoseconds()
            slot.oomBaseline = slot.cgroup?.oomKills() ?? 0
            slot.stderrTail.removeAll()
            pids[launched.pid] = id
            if let pidfd = Reaper.pidfd(for: launched.pid) {
                if let token = try? register(pidfd, .readable, .process(id)) {
                    slot.pidfd = pidfd
                    slot.pidfdToken = token
                } else {
                    pidfd.close()   // the wait4(-1) scan reaps it instead
                }
            }
            attachOutput(slot, launched.stdout, .stdout)
            attachOutput(slot, launched.stderr, .stderr)
            return supervision.spawned(id, pid: launched.pid, MonotonicClock.now())
        } catch {
            let failure = SpawnFailure(
                kind: error.isResourceShortage ? .resources : .configuration,
                stage: error.stage.rawValue, reason: error.reason
            )
            evidence[id] = DeathEvidence(spawnError: error.description, wallNanoseconds: WallClock.nowNanoseconds(), command: spec.command)
            return supervision.spawnFailed(id, failure, MonotonicClock.now())
        }
    }

    func attachOutput(_ slot: InstanceSlot, _ fd: FileDescriptor, _ stream: OutputStream) {
        let pipe = OutputPipe(fd: fd, stream: stream, maxLine: WorkerLauncher.maxLine)
        do {
            pipe.token = try register(fd, .readable, .output(slot.id, stream))
        } catch {
            fd.close()
            return
        }
        if stream == .stdout { slot.stdout = pipe } else { slot.stderr = pipe }
    }

    /// `group`: the whole process group (the instance's session leader's pgid is its pid) and
    /// every process left in its cgroup; `process`: the main process only.
    func send(_ signal: Int32, to id: InstanceID, pid: Int32, scope: SignalScope) {
        switch scope {
        case .process:
            ProcessSignals.signalProcess(pid, signal)
        case .group:
            ProcessSignals.signalGroup(pid, signal)
            if signal == SIGKILL {
                slots[id]?.killCgroup()
            } else {
                slots[id]?.cgroup?.signalAll(signal)
            }
        }
    }

    func forget(_ id: InstanceID) {
        guard let slot = slots.removeValue(forKey: id) else { return }
        unregister(slot.notify.descriptor, token: slot.notifyToken)
        slot.notify.close()
        closeOutput(slot)
        slot.cgroup?.remove()
        FileSystem.removeTree(slot.backtraceDirectory)
    }

    func closeOutput(_ slot: InstanceSlot) {
        for pipe in [slot.stdout, slot.stderr].compactMap({ $0 }) where pipe.open {
            pipe.splitter.flush { deliver($0, slot, pipe.stream) }
            unregister(pipe.fd, token: pipe.token)
            pipe.fd.close()
            pipe.open = false
        }
        slot.stdout = nil
        slot.stderr = nil
    }
}
