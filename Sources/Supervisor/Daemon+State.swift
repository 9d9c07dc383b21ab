import BulkheadPolicy
import BulkheadState
import BulkheadSystem
import Glibc

/// The state file from the daemon's side (SPEC §10): what the next daemon needs if this one
/// dies, brought up to date at the end of every turn from what policy wrote, and read back at
/// start, where every process a previous daemon left is adopted or stopped before anything else
/// starts.
final class DurableState {
    let store: StateStore
    /// What the file holds (or is about to), per instance.
    private(set) var entries: [InstanceID: InstanceEntry] = [:]
    /// The report of each instance's last death that has one: the one behind a verdict.
    var lastCrashID: [InstanceID: String] = [:]
    /// Each worker's `ProcessIdentity.digest` (made once per worker; a reload clears it).
    var digests: [String: String] = [:]
    /// From the start of a shutdown: the file keeps the intent from before it (a stop of every
    /// worker is not the operator stopping each one).
    var frozen = false
    /// The crash ids entries point to, each with how many do: kept as entries change, so a
    /// turn costs what changed in it, not a pass over every instance.
    private var pinCounts: [String: Int] = [:]
    var pinned: Set<String> { Set(pinCounts.keys) }

    init(store: StateStore) {
        self.store = store
    }

    /// Entries that differ from what the file holds are handed to the writer; the reports behind
    /// verdicts are returned when they changed (the crash store keeps those).
    func apply(_ changed: [(InstanceID, InstanceEntry?)], order: [InstanceID]) -> Set<String>? {
        var updates: [(InstanceID, InstanceEntry?)] = []
        var membership = false
        var pinsChanged = false
        var decided = false
        for (id, entry) in changed where entries[id] != entry {
            let old = entries[id]
            if (old == nil) != (entry == nil) { membership = true }
            if Self.decision(old) != Self.decision(entry) { decided = true }
            if old?.crashID != entry?.crashID {
                if let gone = old?.crashID { pinsChanged = unpin(gone) || pinsChanged }
                if let new = entry?.crashID { pinsChanged = pin(new) || pinsChanged }
            }
            entries[id] = entry
            updates.append((id, entry))
        }
        guard !updates.isEmpty else { return nil }
        store.update(updates, order: membership ? order : nil, urgent: decided)
        return pinsChanged ? pinned : nil
    }

    /// What an operator or a verdict decided about an instance: wanted or not, and a verdict
    /// (`failed`, `quarantined`, an open breaker) with its report. A change to it is written at
    /// once, not after the writer's pause: a `kill -9` a moment after `bulkhead stop` must not
    /// bring the instance back.
    struct Decision: Equatable {
        var wanted: Bool
        /// `failed`, `quarantined` or `open` (the breaker); nil for every other state.
        var verdict: InstanceState?
        var crashID: String?
    }

    static func decision(_ entry: InstanceEntry?) -> Decision? {
        guard let entry else { return nil }
        let state = entry.record.phase.state
        let verdict: InstanceState? = [.failed, .quarantined, .open].contains(state) ? state : nil
        return Decision(wanted: entry.record.wanted, verdict: verdict, crashID: entry.crashID)
    }

    /// Whether the set of pinned ids changed.
    private func pin(_ id: String) -> Bool {
        pinCounts[id, default: 0] += 1
        return pinCounts[id] == 1
    }

    private func unpin(_ id: String) -> Bool {
        guard let count = pinCounts[id] else { return false }
        pinCounts[id] = count > 1 ? count - 1 : nil
        return count == 1
    }
}

extension Daemon {
    /// End of every turn: instances policy wrote go to the state file (only what a restart must
    /// not forget: a ping or a status text changes nothing there, see `InstanceRecord.durable`).
    func persistState() {
        guard let durable, !durable.frozen else { return }
        let changed = supervision.takeRecordChanges()
        guard !changed.isEmpty else { return }
        let entries = changed.map { id in (id, supervision.record(of: id).map { entry(for: $0.durable, durable) }) }
        if let pins = durable.apply(entries, order: supervision.instanceIDs) { reports.pinned = pins }
    }

    /// A record with what only the mechanism knows: the process's kernel start time and output
    /// pipes, the worker's identity, the crash report behind a verdict.
    func entry(for record: InstanceRecord, _ durable: DurableState) -> InstanceEntry {
        var entry = InstanceEntry(record: record)
        if let process = record.phase.process, let stamp = processes.processStamp(of: record.id), stamp.pid == process.pid {
            let worker = record.id.worker
            let digest = durable.digests[worker] ?? supervision.spec(for: record.id).map(\.processIdentity.digest) ?? ""
            durable.digests[worker] = digest
            let pipes = output.pipeInodes(record.id)
            entry.process = ProcessStamp(pid: stamp.pid, startTime: stamp.startTime, identity: digest,
                                         stdoutPipe: pipes?.stdout, stderrPipe: pipes?.stderr, notifySocket: stamp.notifyName)
        }
        switch record.phase {
        case .failed, .quarantined, .open: entry.crashID = durable.lastCrashID[record.id]
        case .stopped, .waiting, .spawning, .starting, .running, .stopping, .backoff: break
        }
        return entry
    }

    /// Shutdown begins: the file keeps every instance as it is now (with its process, should this
    /// daemon die before its workers are down), and nothing the shutdown does is written.
    func freezeState() {
        guard let durable, !durable.frozen else { return }
        persistState()
        durable.frozen = true
    }

    /// Every worker is down (the end of a shutdown): the processes go from the file, the intent
    /// stays, so the next start starts what ran and keeps what was stopped, failed or
    /// quarantined stopped, failed or quarantined.
    func writeFinalState() {
        guard let durable else { return }
        var updates: [(InstanceID, InstanceEntry?)] = []
        for id in supervision.instanceIDs {
            guard var entry = durable.entries[id] else { continue }
            switch entry.record.phase {
            case .starting, .running, .stopping, .spawning:
                entry.record.phase = entry.record.wanted ? .waiting : .stopped
                entry.process = nil
                updates.append((id, entry))
            case .stopped, .waiting, .backoff, .open, .failed, .quarantined:
                break
            }
        }
        _ = durable.apply(updates, order: supervision.instanceIDs)
        durable.store.flush()
    }

    // MARK: - Start

    /// Before the first `startAll`: the state file read back (a corrupt one moved aside and
    /// said why), every leftover of a previous daemon adopted or stopped, and policy given the
    /// records. Returns what policy wants done first.
    func restoreState(_ now: Instant) -> [SupervisorAction] {
        guard let durable else { return [] }
        var document: StateDocument?
        switch StateStore.load(path: durable.store.path) {
        case .none:
            break
        case .document(let loaded):
            document = loaded.rebased(to: durable.store.clockReading())
        case .corrupt(let reason, let movedTo):
            let aside = movedTo.map { "moved aside to \($0)" } ?? "could not be moved aside"
            emit(SupervisorEvent(.daemon, nil, priority: 4, message: "the state file \(durable.store.path) is unusable (\(reason)); it was \(aside), and bulkhead starts from the config alone"))
        }
        let specs = Dictionary(supervision.config.workers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let search = LeftoverSearch(document: document, specs: specs, instances: Set(supervision.instanceIDs),
                                    cgroupBase: processes.cgroups?.trackingBase)
        for stray in search.strays {
            CgroupKill.killAll(group: stray.group, pids: stray.pids)
            emit(SupervisorEvent(.daemon, nil, priority: 4, message: "killed \(stray.pids.count) leftover processes of an instance no longer in the config (\(stray.group))"))
        }
        var recordedStart: [InstanceID: RunningProcess] = [:]
        for entry in document?.instances ?? [] {
            if let process = entry.record.phase.process { recordedStart[entry.record.id] = process }
            if let crash = entry.crashID { durable.lastCrashID[entry.record.id] = crash }
        }
        // Before any death can be written: retention must not take a verdict's report.
        reports.pinned = Set((document?.instances ?? []).compactMap(\.crashID))
        var leftovers: [InstanceID: Supervision.Leftover] = [:]
        var adopted = 0
        var stopped = 0
        for (id, found) in search.found.sorted(by: { $0.key < $1.key }) {
            guard let spec = supervision.spec(for: id) else { continue }
            let started = recordedStart[id].flatMap { $0.pid == found.pid ? $0.startedAt : nil } ?? now
            let fate = takeOver(found, spec: spec, startedAt: started)
            leftovers[id] = Supervision.Leftover(pid: found.pid, startedAt: started, fate: fate)
            if fate == .adopted { adopted += 1 } else { stopped += 1 }
        }
        let gone = (document?.instances ?? []).filter { entry in
            entry.record.phase.process != nil && leftovers[entry.record.id]?.pid != entry.record.phase.process?.pid
        }.count
        let actions = supervision.restore((document?.instances ?? []).map(\.record), leftovers: leftovers, now)
        if let document {
            let ended = gone > 0 ? "; \(gone) had ended while no bulkhead ran" : ""
            emit(SupervisorEvent(.daemon, nil, priority: 5, message: "adopted \(adopted), stopped \(stopped) leftover workers from a previous run (bulkhead pid \(document.daemonPID))\(ended)"))
        } else if adopted + stopped > 0 {
            emit(SupervisorEvent(.daemon, nil, priority: 4, message: "adopted 0, stopped \(stopped) leftover workers from a previous run (found in their cgroups)"))
        }
        return actions
    }

    /// A leftover into its instance's slot: adopted with its output (and notify socket), or
    /// only watched while policy stops it.
    private func takeOver(_ found: LeftoverSearch.Found, spec: WorkerSpec, startedAt: Instant) -> Supervision.Leftover.Fate {
        let wall = WallClock.wallNanoseconds(of: startedAt)
        if let adoption = found.adoption {
            do {
                try processes.adopt(found.id, spec, pid: found.pid, pidfd: found.pidfd, startTime: found.startTime,
                                    startedWall: wall, breadcrumbs: adoption.breadcrumbs, notifyName: found.notifySocket)
                var taken = adoption.breadcrumbs == nil ? [] : ["breadcrumbs"]
                if let pipes = adoption.output {
                    output.attach(found.id, stdout: pipes.stdout, stderr: pipes.stderr)
                    taken.append("output")
                }
                if let name = found.notifySocket {
                    do {
                        try notify.listen(alsoOn: name)
                        taken.append("notify socket")
                    } catch {
                        emit(SupervisorEvent(.daemon, found.id, pid: found.pid, priority: 4, message: "the notify socket \(name) of adopted pid \(found.pid) cannot be bound again (\(error)): its READY=1 and WATCHDOG=1 cannot reach bulkhead"))
                    }
                }
                if sockets.takeOver(spec, from: found.pidfd) {
                    // The dead daemon's listening sockets, which nothing could bind again while
                    // this process listens: new instances get them as before.
                    taken.append("listening sockets")
                }
                let what = taken.isEmpty ? "" : " (its \(taken.joined(separator: ", ")) taken over)"
                emit(SupervisorEvent(.daemon, found.id, pid: found.pid, priority: 5, message: "adopted pid \(found.pid), left running by the previous bulkhead\(what)"))
                return .adopted
            } catch {
                adoption.close()
            }
        }
        do {
            try processes.adopt(found.id, spec, pid: found.pid, pidfd: found.pidfd, startTime: found.startTime, startedWall: wall,
                                breadcrumbs: nil, notifyName: nil)
            // Its listening sockets outlive it: the next instance gets them, backlog and all.
            let socketsNote = sockets.takeOver(spec, from: found.pidfd) ? " (its listening sockets taken over)" : ""
            if let reason = found.reason {
                emit(SupervisorEvent(.daemon, found.id, pid: found.pid, priority: 5, message: "pid \(found.pid), left running by the previous bulkhead, is stopped before the instance runs again: \(reason)\(socketsNote)"))
            }
        } catch {
            // Not even watchable (epoll refused): killed, so it cannot run beside a new one.
            found.pidfd.close()
            ProcessSignals.signalGroup(found.pid, SIGKILL)
        }
        return .stopped
    }
}

/// Killing a whole cgroup's processes (leftovers of instances the config no longer has).
enum CgroupKill {
    static func killAll(group: String, pids: [Int32]) {
        if (try? FileSystem.writeValue(group + "/cgroup.kill", "1")) != nil { return }
        for pid in pids { ProcessSignals.signalProcess(pid, SIGKILL) }
    }
}
