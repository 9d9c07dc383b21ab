import BulkheadPolicy
import BulkheadSystem
import Glibc

/// The process mechanism: every instance's slot, the pids of live main processes, spawning,
/// signalling, and the one reaper. It owns no policy: what a death means is decided elsewhere;
/// here a death is reaped, timed, and what it left (breadcrumbs, backtrace, leftovers, OOM
/// kills) gathered into a `ReapedProcess`.
///
/// Reaping has two paths, for a measured reason (docs/ARCHITECTURE.md, "Reaping"): an instance's
/// main process is reaped through its pidfd (waitid(P_PIDFD): O(1)), and anything else — orphans
/// a worker left, reparented to us as subreaper — by pid, from the kernel's exit events or a
/// SIGCHLD's sender, with a wait4(-1) scan when signals coalesced. One wait4(-1) path for all
/// would cost 36 µs per death plus a 316 µs empty scan at 5000 children (316 per scan at 10000).
final class ProcessTable {
    private(set) var slots: [InstanceID: InstanceSlot] = [:]
    /// Live main processes → their instance. A pid stays here until its death is handled, so
    /// its kernel exit event can be matched, and leaves before anything can reuse the number.
    private var pids: [Int32: InstanceID] = [:]
    /// Kernel exit times (monotonic ns) of our instances' main processes, until reaped.
    private var exitStamps: [Int32: UInt64] = [:]
    /// Deaths seen (pidfd readable) whose kernel exit event is still on its way: reaped when it
    /// comes, or at the deadline (the kernel signals the parent a moment before it sends the
    /// event). Nothing waits for it on the loop.
    private var awaitingStamp: [InstanceID: (noticed: Instant, until: Instant)] = [:]
    /// A wait4(-1) scan is owed (SIGCHLDs coalesce: an orphan's death can hide behind another).
    private var orphanScanDue: Instant?
    var orphansReaped = 0
    private(set) var exitEventsLost = false
    /// Children that are not instances (hook programs, a re-exec's check of the new binary):
    /// their owner reaps them through their pidfd; a wait4(-1) scan that gets one first keeps
    /// its exit here for the owner (`helperExited`).
    private var helpers = Set<Int32>()
    private var helperExits: [Int32: Reaper.Exit] = [:]

    /// Children that are not instances but are not orphans either (exec health checks): their
    /// owner reaps them through their pidfds, and hears of any this table's scan reaps first.
    weak var otherChildren: ChildOwner?

    private let loop: EventLoop
    private let exitTimes: ExitTimestamps?
    let launcher: WorkerLauncher
    let cgroups: CgroupHost?
    private let backtraceRoot: String

    static let breadcrumbCapacity = 64
    /// How long a death waits for its kernel exit event before it is handled without one.
    static let stampWait: Duration = .milliseconds(2)
    /// How long the death of an adopted process waits for its parent (init) to reap it, which
    /// is when the kernel keeps its exit status for us (PIDFD_INFO_EXIT); then it is unknown.
    static let adoptedExitWait: Duration = .milliseconds(20)

    init(loop: EventLoop, launcher: WorkerLauncher, cgroups: CgroupHost?, backtraceRoot: String) throws(SystemError) {
        self.loop = loop
        self.launcher = launcher
        self.cgroups = cgroups
        self.backtraceRoot = backtraceRoot
        exitTimes = try? ExitTimestamps()
        if let exitTimes { try loop.register(exitTimes.descriptor, .readable, .exitTimes) }
    }

    var measuresDetectLatency: Bool { exitTimes != nil }

    func instance(ofPID pid: Int32) -> InstanceID? {
        pids[pid]
    }

    /// The instance whose cgroup holds `pid` (a process that left its instance's process group
    /// is still in its cgroup), or nil: no cgroups, or not one of ours. Reads /proc.
    func instance(inCgroupOf pid: Int32) -> InstanceID? {
        guard let base = cgroups?.trackingBase, let path = ProcFS.unifiedCgroup(pid) else { return nil }
        let host = base.split(separator: "/").last.map(String.init) ?? ""
        let parts = path.split(separator: "/")
        guard let at = parts.firstIndex(where: { $0 == host }), at + 1 < parts.count else { return nil }
        // `api.0` (worker names have no dots): the instance's group.
        let name = parts[at + 1]
        guard let dot = name.lastIndex(of: "."), let index = Int(name[name.index(after: dot)...]) else { return nil }
        let id = InstanceID(worker: String(name[..<dot]), index: index)
        return slots[id] == nil ? nil : id
    }

    // MARK: - Spawning

    struct Spawned {
        var pid: Int32
        /// The pipes to read, when the output goes through bulkhead.
        var output: (stdout: FileDescriptor, stderr: FileDescriptor)?
        /// `output: journal-direct`, but journald refused: pipes this time.
        var journalRefused: SpawnError?
    }

    enum SpawnOutcome {
        case spawned(Spawned)
        case failed(SpawnFailure, DeathEvidence?)
    }

    func spawn(_ id: InstanceID, _ spec: WorkerSpec, notifySocket: String, sockets: [ListeningSockets.Open] = []) -> SpawnOutcome {
        let slot = slots[id] ?? InstanceSlot(id: id, backtraceDirectory: backtraceRoot + "/" + id.description.replacingColons())
        slots[id] = slot
        // A new ring per process: mapped here, its fd closed once the worker has its copy.
        slot.breadcrumbs = try? BreadcrumbFile(name: "bulkhead-breadcrumbs-\(id)", capacity: Self.breadcrumbCapacity)
        defer { slot.breadcrumbs?.handedOver() }
        // The group's counters before the clone: a worker that hits a limit in its first
        // microseconds (a fork storm) must not have it counted in its baseline. Nothing else
        // lives in the group now (the last process's leftovers were killed with it).
        // Read at the last death, they are still the group's: nothing has lived in it since.
        let oomBefore = slot.countersSinceDeath?.oom ?? slot.cgroup?.oomKills() ?? 0
        let tasksBefore = slot.countersSinceDeath?.tasks ?? slot.cgroup?.tasksLimitHits() ?? 0
        slot.countersSinceDeath = nil
        do {
            let launched = try launcher.launch(spec, slot: slot, notifySocket: notifySocket, sockets: sockets)
            slot.pid = launched.pid
            slot.notifyName = notifySocket
            slot.adopted = false
            slot.startTime = launched.startTicks   // nil: read from /proc when first needed
            slot.spawnedAtWall = WallClock.nowNanoseconds()
            slot.oomBaseline = oomBefore
            slot.tasksLimitBaseline = tasksBefore
            pids[launched.pid] = id
            if let pidfd = Reaper.pidfd(for: launched.pid) {
                if let token = try? loop.register(pidfd, .readable, .process(id)) {
                    slot.pidfd = pidfd
                    slot.pidfdToken = token
                } else {
                    pidfd.close()   // the wait4(-1) scan reaps it instead
                }
            }
            return .spawned(Spawned(pid: launched.pid, output: launched.output, journalRefused: launched.journalRefused))
        } catch {
            slot.breadcrumbs = nil   // a failed spawn leaves nothing behind
            let failure = SpawnFailure(kind: error.isResourceShortage ? .resources : .configuration,
                                       stage: error.stage.rawValue, reason: error.reason)
            return .failed(failure, DeathEvidence(spawnError: error.description, wallNanoseconds: WallClock.nowNanoseconds(), command: spec.command))
        }
    }

    /// A child another part reaps (a hook program, an exec health check): never an orphan.
    private func ownedElsewhere(_ pid: Int32) -> Bool {
        helpers.contains(pid) || otherChildren?.owns(pid) == true
    }

    // MARK: - Adopting

    /// The slot of `id`, made (with its cgroup opened) if it has none: adoption and leftovers
    /// need it before any spawn.
    func slot(for id: InstanceID, _ spec: WorkerSpec) -> InstanceSlot {
        let slot = slots[id] ?? InstanceSlot(id: id, backtraceDirectory: backtraceDirectory(of: id))
        slots[id] = slot
        launcher.prepareCgroup(spec, slot)
        return slot
    }

    /// A process a previous daemon started for `id` is taken into its slot (`pidfd` is open on
    /// it). Its death is seen through the pidfd like any other, but it is not our child, so it
    /// is never reaped here: how it ended comes from PIDFD_GET_INFO once its parent (init)
    /// reaped it, else it is unknown (`Termination.unknown`).
    func adopt(_ id: InstanceID, _ spec: WorkerSpec, pid: Int32, pidfd: FileDescriptor, startTime: UInt64, startedWall: Int64,
               breadcrumbs: BreadcrumbFile?, notifyName: String?) throws(SystemError) {
        let slot = slot(for: id, spec)
        slot.pidfdToken = try loop.register(pidfd, .readable, .process(id))
        slot.pidfd = pidfd
        slot.pid = pid
        slot.notifyName = notifyName
        slot.adopted = true
        slot.startTime = startTime
        slot.spawnedAtWall = startedWall
        slot.oomBaseline = slot.cgroup?.oomKills() ?? 0
        if let breadcrumbs { slot.breadcrumbs = breadcrumbs }
        pids[pid] = id
    }

    /// The live process of `id` and its kernel start time (read from /proc the first time it is
    /// asked: the process is ours and unreaped, so its pid cannot have been reused).
    func processStamp(of id: InstanceID) -> (pid: Int32, startTime: UInt64, notifyName: String?)? {
        guard let slot = slots[id], let pid = slot.pid else { return nil }
        if slot.startTime == nil { slot.startTime = ProcFS.stat(pid)?.startTime }
        return slot.startTime.map { (pid, $0, slot.notifyName) }
    }

    // MARK: - Signals

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
                // Only those that left the group: the rest have it already, and a second
                // SIGTERM is "stop now, no grace" to WorkerKit (and to many servers).
                slots[id]?.cgroup?.signalAll(signal, exceptGroup: pid)
            }
        }
    }

    // MARK: - Reaping

    /// An instance's pidfd became readable at `noticed`: its main process exited. Reaped now
    /// when its kernel exit event is here (or none will come), else parked until it is.
    func processExited(_ id: InstanceID, noticed: Instant) -> ReapedProcess? {
        guard let slot = slots[id], let pid = slot.pid, awaitingStamp[id] == nil else { return nil }
        if slot.adopted, let pidfd = slot.pidfd, Reaper.exitStatus(pidfd: pidfd) == nil {
            // Not reaped by its parent yet: its status may follow in a moment.
            try? loop.modify(pidfd, [], token: slot.pidfdToken)
            awaitingStamp[id] = (noticed, noticed + Self.adoptedExitWait)
            return nil
        }
        if !slot.adopted && exitTimes != nil && freshStamp(pid, noticed: noticed) == nil {
            collectExitTimes()
            if freshStamp(pid, noticed: noticed) == nil, let pidfd = slot.pidfd {
                // Quiet its pidfd (level-triggered, it would fire every turn) and wait.
                try? loop.modify(pidfd, [], token: slot.pidfdToken)
                awaitingStamp[id] = (noticed, noticed + Self.stampWait)
                return nil
            }
        }
        return reap(slot, noticed: noticed)
    }

    /// The kernel's exit events arrived: parked deaths whose event is here are reaped, and exits
    /// of children that are not instances (orphans) are reaped by pid.
    func exitEventsArrived() -> [ReapedProcess] {
        collectExitTimes()
        var reaped: [ReapedProcess] = []
        for (id, wait) in awaitingStamp {
            guard let slot = slots[id], !slot.adopted, let pid = slot.pid, freshStamp(pid, noticed: wait.noticed) != nil else { continue }
            awaitingStamp[id] = nil
            if let process = reap(slot, noticed: wait.noticed) { reaped.append(process) }
        }
        return reaped
    }

    /// SIGCHLDs arrived. One from an instance's main process is its pidfd's business; one from
    /// any other process (an orphan) sends us scanning at once. A scan also follows any death
    /// within a second, so no zombie lingers longer than that.
    func childrenSignalled(_ senders: [Int32], _ now: Instant) -> [ReapedProcess] {
        let unexplained = senders.contains { sender in
            guard let id = pids[sender] else { return !ownedElsewhere(sender) }
            return slots[id]?.pidfd == nil
        }
        if unexplained { return scan(now) }
        if orphanScanDue == nil { orphanScanDue = now + .seconds(1) }
        return []
    }

    /// The earliest moment something here is due (a parked death, an owed scan).
    var deadline: Instant? {
        [awaitingStamp.values.map(\.until).min(), orphanScanDue].compactMap { $0 }.min()
    }

    /// Parked deaths past their wait are reaped without a kernel stamp; an owed scan is run.
    func tick(_ now: Instant) -> [ReapedProcess] {
        var reaped: [ReapedProcess] = []
        for (id, wait) in awaitingStamp where wait.until <= now {
            awaitingStamp[id] = nil
            if let slot = slots[id], let process = reap(slot, noticed: wait.noticed) { reaped.append(process) }
        }
        if let due = orphanScanDue, due <= now { reaped += scan(now) }
        return reaped
    }

    /// wait4(-1) until nothing is left: orphans, and any instance's main process that had no
    /// pidfd (or whose pidfd has not been looked at yet). Only the loop thread's children
    /// (__WNOTHREAD): hook programs are the hook launcher thread's, reaped through the pidfds
    /// it opens — one that ends before the loop has heard of it is not mistaken for an orphan.
    /// `allThreads` at exit, when that thread is gone.
    private func scan(_ now: Instant, allThreads: Bool = false) -> [ReapedProcess] {
        orphanScanDue = nil
        collectExitTimes()
        var reaped: [ReapedProcess] = []
        while let exit = Reaper.reapOne(ownThreadOnly: !allThreads) {
            if helpers.contains(exit.pid) {
                helperExits[exit.pid] = exit
                continue
            }
            guard let id = pids[exit.pid], let slot = slots[id] else {
                if let owner = otherChildren, owner.owns(exit.pid) {
                    owner.reapedElsewhere(exit)
                } else {
                    orphansReaped += 1   // an orphan a worker left behind, reparented to us
                }
                continue
            }
            awaitingStamp[id] = nil
            reaped.append(gather(slot, exit, noticed: now))
        }
        return reaped
    }

    private func reap(_ slot: InstanceSlot, noticed: Instant) -> ReapedProcess? {
        guard let pidfd = slot.pidfd else { return nil }
        if slot.adopted, let pid = slot.pid {
            return gather(slot, Reaper.exitStatus(pidfd: pidfd) ?? .unknown(pid: pid), noticed: noticed)
        }
        guard let exit = Reaper.reap(pidfd: pidfd) else { return nil }
        return gather(slot, exit, noticed: noticed)
    }

    /// What a death left, gathered right after reaping; the slot is ready for a new process.
    private func gather(_ slot: InstanceSlot, _ exit: Reaper.Exit, noticed: Instant) -> ReapedProcess {
        var (latency, latencySource) = slot.adopted
            ? (nil, "not measured (an adopted process: its exit is not reported to bulkhead)")
            : detectLatency(pid: exit.pid, noticed: noticed)
        pids[exit.pid] = nil
        // Whatever is left of it (grandchildren in its group or cgroup) goes with it. The
        // backtracer ran as its child and has finished: the process waited for it before dying.
        let leftovers = slot.cgroup?.members().count ?? 0
        // Not for an adopted process: it is not our child, so its pid (its group's id) may
        // already belong to someone else; its cgroup still finds what it left.
        if !slot.adopted { ProcessSignals.signalGroup(exit.pid, SIGKILL) }
        if leftovers > 0 {
            // An empty group cannot gain members (only our spawns add them): left alone, it
            // keeps taking new processes at birth on kernels where a kill would stop that.
            slot.killCgroup()
        }
        let crumbs = slot.breadcrumbs?.read(limit: Self.breadcrumbCapacity)
        slot.breadcrumbs = nil   // read: its pages go (the next process gets a new ring)
        if latency == nil, exitTimes == nil, let dying = crumbs?.dyingStamp, dying > 0, dying <= noticed.nanoseconds {
            latency = Int64(noticed.nanoseconds - dying)
            latencySource = "worker exit stamp"
        }
        let backtrace = slot.mayLeaveBacktrace ? BacktraceFiles.take(directory: slot.backtraceDirectory, pid: exit.pid) : nil
        let oomNow = slot.cgroup?.oomKills() ?? 0
        let tasksNow = slot.cgroup?.tasksLimitHits() ?? 0
        let oom = oomNow > slot.oomBaseline
        let tasksLimit = tasksNow > slot.tasksLimitBaseline
        // What was left in the group was killed above: these stay the counts until the next spawn.
        slot.countersSinceDeath = (oomNow, tasksNow)
        // Its credentials' copies go with the process (the next start makes fresh ones).
        if slot.mayLeaveCredentials { launcher.credentials.remove(slot.id) }
        slot.pid = nil
        slot.adopted = false
        slot.startTime = nil
        if let pidfd = slot.pidfd {
            loop.unregister(pidfd, token: slot.pidfdToken)
            pidfd.close()
            slot.pidfd = nil
        }
        return ReapedProcess(
            id: slot.id, exit: exit, startedWall: slot.spawnedAtWall, endedWall: WallClock.nowNanoseconds(),
            detectLatencyMicroseconds: latency.map { $0 / 1000 }, latencySource: latencySource,
            breadcrumbs: crumbs?.entries ?? [], backtraceJSON: backtrace, leftoversKilled: leftovers, killedForLimit: oom,
            tasksLimitReached: tasksLimit
        )
    }

    private func collectExitTimes() {
        guard let source = exitTimes else { return }
        var lost = false
        let events = source.drain(lost: &lost)
        if lost { exitEventsLost = true }
        var others: Set<Int32> = []
        for (pid, nanoseconds) in events {
            if pids[pid] != nil {
                // The last thread to go is the moment the process died.
                exitStamps[pid] = max(exitStamps[pid] ?? 0, nanoseconds)
            } else {
                others.insert(pid)
            }
        }
        if !others.isEmpty { reapOrphans(others) }
    }

    /// The kernel reports exits of every child of ours, and a child that is not an instance's
    /// main process is an orphan a worker left: reaped now, by pid, so it is not a zombie until
    /// the next scan. One that is not a zombie yet (a thread of it exited) waits for a scan.
    private func reapOrphans(_ candidates: Set<Int32>) {
        var pending = false
        for pid in candidates where !ownedElsewhere(pid) {
            switch Reaper.reap(pid: pid, ownThreadOnly: true) {
            case true?: orphansReaped += 1
            case false?: pending = true
            case nil: break   // reaped already, the exit of a spawn that failed, or a hook (the launcher thread's)
            }
        }
        let soon = MonotonicClock.now() + .milliseconds(10)
        if pending, orphanScanDue.map({ $0 > soon }) ?? true { orphanScanDue = soon }
    }

    private func freshStamp(_ pid: Int32, noticed: Instant) -> UInt64? {
        // A stamp older than a second is an earlier thread's exit, not the death.
        guard let stamp = exitStamps[pid], stamp + 1_000_000_000 >= noticed.nanoseconds else { return nil }
        return stamp
    }

    /// Kernel exit time → the loop noticed. Without kernel events, not measured here (the
    /// worker's own dying stamp may still give it, see `gather`).
    private func detectLatency(pid: Int32, noticed: Instant) -> (Int64?, String) {
        guard exitTimes != nil else {
            return (nil, "not measured (no kernel exit events: needs CAP_NET_ADMIN)")
        }
        defer { exitStamps[pid] = nil }
        guard let stamp = freshStamp(pid, noticed: noticed) else { return (nil, "not measured (the kernel exit event did not arrive)") }
        // Stamped after the parent was notified: we were there first.
        return (stamp >= noticed.nanoseconds ? 0 : Int64(noticed.nanoseconds - stamp), "kernel exit event")
    }

    // MARK: - For a re-exec (ProcessTable+Handoff)

    func backtraceDirectory(of id: InstanceID) -> String {
        backtraceRoot + "/" + id.description.replacingColons()
    }

    func register(_ pidfd: FileDescriptor, _ id: InstanceID) throws(SystemError) -> UInt64 {
        try loop.register(pidfd, .readable, .process(id))
    }

    func track(_ pid: Int32, _ id: InstanceID) {
        pids[pid] = id
    }

    func install(_ slot: InstanceSlot) {
        slots[slot.id] = slot
    }

    func scheduleScan(_ now: Instant) {
        orphanScanDue = now
    }

    /// Deaths parked for their kernel stamp are handled now, stamp or not (a re-exec begins:
    /// nothing may be left half-done).
    func flushParked(_ now: Instant) -> [ReapedProcess] {
        var reaped: [ReapedProcess] = []
        for (id, wait) in awaitingStamp {
            awaitingStamp[id] = nil
            if let slot = slots[id], let process = reap(slot, noticed: wait.noticed) { reaped.append(process) }
        }
        return reaped
    }

    // MARK: - Helpers

    /// `pid` is a child of ours that is no worker: its exit is kept for `helperExited`.
    func watchHelper(_ pid: Int32) {
        helpers.insert(pid)
    }

    /// The helper's exit, reaped now through its pidfd or earlier by a scan; nil while it runs.
    func helperExited(_ pid: Int32, pidfd: FileDescriptor) -> Reaper.Exit? {
        guard let exit = helperExits.removeValue(forKey: pid) ?? Reaper.reap(pidfd: pidfd) else { return nil }
        helpers.remove(pid)
        return exit
    }

    // MARK: - Leaving

    /// The instance left the configuration and is stopped.
    func forget(_ id: InstanceID) {
        guard let slot = slots.removeValue(forKey: id) else { return }
        awaitingStamp[id] = nil
        slot.cgroup?.remove()
        FileSystem.removeTree(slot.backtraceDirectory)
        launcher.credentials.remove(id)
    }

    /// Every instance is stopped and the daemon exits: cgroups and directories go, and any
    /// child still alive (an orphan that left its group) is killed and reaped.
    func finish(waitingOn signals: borrowing SignalDescriptor, report: (String) -> Void) {
        for slot in slots.values {
            slot.cgroup?.remove()
            FileSystem.removeTree(slot.backtraceDirectory)
        }
        cgroups?.removeBase()
        launcher.credentials.removeAll()
        reapStrays(signals, timeoutNanoseconds: 2_000_000_000, report: report)
    }

    /// Orphans killed with their instance may still wait to be reaped (the scan runs up to a
    /// second after a death), and one that left its group for a session of its own, with no
    /// cgroup to find it, may still run. Leave neither behind.
    private func reapStrays(_ signals: borrowing SignalDescriptor, timeoutNanoseconds: Int64, report: (String) -> Void) {
        let deadline = MonotonicClock.now().nanoseconds + UInt64(timeoutNanoseconds)
        var killed: Set<Int32> = []
        while true {
            _ = scan(MonotonicClock.now(), allThreads: true)
            let strays = Reaper.children()
            if strays.isEmpty { break }
            for pid in strays where ProcessSignals.signalProcess(pid, SIGKILL) == 0 { killed.insert(pid) }
            let now = MonotonicClock.now().nanoseconds
            if now >= deadline {
                report("\(strays.count) processes could not be reaped before exit: \(strays)")
                break
            }
            // The next SIGCHLD (its signalfd becomes readable), or the deadline.
            _ = signals.waitReadable(milliseconds: Int32(clamping: (deadline - now) / 1_000_000 + 1))
            _ = try? signals.drain()   // shutting down already: SIGTERMs and SIGCHLDs alike are spent
        }
        if !killed.isEmpty { report("killed \(killed.count) orphaned processes of workers at exit") }
    }
}

/// One death, reaped, with what the process mechanism gathered.
struct ReapedProcess {
    var id: InstanceID
    var exit: Reaper.Exit
    var startedWall: Int64
    var endedWall: Int64
    var detectLatencyMicroseconds: Int64?
    var latencySource: String
    var breadcrumbs: [BreadcrumbFile.Entry]
    /// The Swift backtracer's report, raw (BulkheadForensics reads it).
    var backtraceJSON: [UInt8]?
    var leftoversKilled: Int
    var killedForLimit: Bool
    /// `limits.tasks` refused a fork or a thread during its life.
    var tasksLimitReached: Bool
}

/// Who reaps children the process table does not (exec health checks).
protocol ChildOwner: AnyObject {
    func owns(_ pid: Int32) -> Bool
    /// A child of this owner was reaped by the table's wait4(-1) scan before its own pidfd was
    /// looked at.
    func reapedElsewhere(_ exit: Reaper.Exit)
}
