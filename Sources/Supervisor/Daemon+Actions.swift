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

    /// The instance's slot, with the fds a process of it needs (its notify socket, its
    /// breadcrumb ring) opened if they are not.
    func slot(for id: InstanceID) throws(SystemError) -> InstanceSlot {
        let slot = slots[id] ?? InstanceSlot(
            id: id, backtraceDirectory: backtraceRoot + "/" + id.description.replacingColons(),
            output: supervision.config.output
        )
        slots[id] = slot
        if slot.notify == nil {
            let notify = try NotifySocket(name: "@bulkhead/\(daemonPID)/\(id)", receiveBuffer: 64 << 10)
            do {
                slot.notifyToken = try register(notify.descriptor, .readable, .notify(id))
            } catch {
                notify.close()
                throw error
            }
            slot.notify = notify
        }
        if slot.breadcrumbs == nil {
            slot.breadcrumbs = try? BreadcrumbFile(name: "bulkhead-breadcrumbs-\(id)", capacity: Self.breadcrumbCapacity)
        }
        return slot
    }

    /// After a spawn that failed: the instance has no process, so it holds no fds until its
    /// next attempt (a failed spawn must never leave fds behind: with fds running out, they
    /// would starve the instances that still run, and the control socket).
    func releaseDescriptors(of id: InstanceID) {
        guard let slot = slots[id], slot.pid == nil else { return }
        if let notify = slot.notify {
            unregister(notify.descriptor, token: slot.notifyToken)
            notify.close()
            slot.notify = nil
        }
        slot.breadcrumbs = nil   // closed as it goes
    }

    func spawn(_ id: InstanceID) -> [SupervisorAction] {
        let now = MonotonicClock.now()
        guard let spec = supervision.spec(for: id) else { return [] }
        let slot: InstanceSlot
        do {
            slot = try self.slot(for: id)
        } catch {
            releaseDescriptors(of: id)
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
            releaseDescriptors(of: id)
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
        if let notify = slot.notify {
            unregister(notify.descriptor, token: slot.notifyToken)
            notify.close()
        }
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
