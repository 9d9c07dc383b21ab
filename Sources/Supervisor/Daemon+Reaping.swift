import BulkheadPolicy
import BulkheadSystem
import Glibc

/// The one reaper, and what it gathers about a death before policy hears of it.
extension Daemon {
    /// The scan: wait4(-1) until nothing is left. It costs O(children) per call, so instance
    /// deaths normally come through their pidfds (`reapInstance`); the scan is for orphans a
    /// worker left behind (reparented to us, a subreaper) and anything a pidfd missed.
    func reapChildren() {
        orphanScanDue = nil
        collectExitTimes()
        while let exit = Reaper.reapOne() {
            guard let id = pids[exit.pid] else {
                // An orphan a worker left behind, reparented to us (we are a subreaper).
                counters.orphansReaped += 1
                continue
            }
            handleDeath(id, exit)
        }
    }

    /// An instance's pidfd became readable: its main process exited.
    func reapInstance(_ id: InstanceID) {
        guard let slot = slots[id], let pidfd = slot.pidfd, let exit = Reaper.reap(pidfd: pidfd) else { return }
        handleDeath(id, exit)
        serviceControl()   // between two deaths of a burst, not after all of them
    }

    /// SIGCHLDs arrived. One from an instance's main process is that instance's pidfd's
    /// business; one from any other process (an orphan) sends us scanning at once. Signals
    /// coalesce, so an orphan's death can hide behind an instance's: a scan follows within a
    /// second of any death, so no zombie lingers longer than that.
    func childrenChanged(_ senders: [Int32]) {
        let unexplained = senders.contains { sender in
            guard let id = pids[sender] else { return true }
            return slots[id]?.pidfd == nil
        }
        if unexplained {
            reapChildren()
        } else if orphanScanDue == nil {
            orphanScanDue = MonotonicClock.now() + .seconds(1)
        }
    }

    func collectExitTimes() {
        guard exitTimes != nil else { return }
        var lost = false
        guard let source = exitTimes else { return }
        let events = source.drain(lost: &lost)
        if lost { counters.exitEventsLost = true }
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
    /// main process is an orphan a worker left (we are its subreaper): reap it now, by pid, so
    /// it is not a zombie until the next scan. One that is not a zombie yet (a thread of it
    /// exited, or the event beat the exit's end) is left to a scan a moment later.
    func reapOrphans(_ candidates: Set<Int32>) {
        var pending = false
        for pid in candidates {
            switch Reaper.reap(pid: pid) {
            case true?: counters.orphansReaped += 1
            case false?: pending = true
            case nil: break   // reaped already, or the exit of a spawn that failed
            }
        }
        let soon = MonotonicClock.now() + .milliseconds(10)
        if pending, orphanScanDue.map({ $0 > soon }) ?? true {
            orphanScanDue = soon
        }
    }

    /// Kernel exit time → the loop woke up. The kernel notifies the parent (SIGCHLD) a moment
    /// *before* it sends the connector event, so the event can still be on its way when we reap:
    /// wait for it, briefly (2 ms at most, and only then). A stamp older than a second is an
    /// earlier thread's exit, not the death.
    func kernelDetectLatency(pid: Int32) -> (Int64?, String) {
        guard let source = exitTimes else {
            return (nil, "not measured (no kernel exit events: needs CAP_NET_ADMIN)")
        }
        let wake = wakeInstant.nanoseconds
        func fresh() -> UInt64? {
            guard let stamp = exitStamps[pid], stamp + 1_000_000_000 >= wake else { return nil }
            return stamp
        }
        if fresh() == nil {
            collectExitTimes()
            if fresh() == nil && source.waitReadable(milliseconds: 2) { collectExitTimes() }
        }
        defer { exitStamps[pid] = nil }
        guard let stamp = fresh() else { return (nil, "not measured (the kernel exit event did not arrive)") }
        // Stamped after the parent was notified: we were there first.
        return (stamp >= wake ? 0 : Int64(wake - stamp), "kernel exit event")
    }

    func handleDeath(_ id: InstanceID, _ exit: Reaper.Exit) {
        guard let slot = slots[id] else {
            pids[exit.pid] = nil
            return
        }
        let spec = supervision.spec(for: id)

        // The pid stays in `pids` until its kernel exit event is matched (the collector keeps
        // only known pids), and leaves before anything can spawn and reuse the number.
        var (latency, latencySource) = kernelDetectLatency(pid: exit.pid)
        pids[exit.pid] = nil

        // Everything the process wrote is in its pipes now; take it before judging.
        if let pipe = slot.stdout { drain(pipe, slot, maxReads: 64) }
        if let pipe = slot.stderr { drain(pipe, slot, maxReads: 64) }
        closeOutput(slot)

        // Whatever is left of it (grandchildren in its group or cgroup) goes with it. The
        // backtracer ran as its child and has finished: the process waited for it before dying.
        let leftovers = slot.cgroup?.members().count ?? 0
        ProcessSignals.signalGroup(exit.pid, SIGKILL)
        if leftovers > 0 {
            // An empty group cannot gain members (only our spawns add them): left alone, it
            // keeps taking new processes at birth on kernels where a kill would stop that.
            slot.killCgroup()
        }

        let crumbs = slot.breadcrumbs?.read(limit: Self.breadcrumbCapacity)
        if latency == nil, exitTimes == nil, let dying = crumbs?.dyingStamp, dying > 0, dying <= wakeInstant.nanoseconds {
            latency = Int64(wakeInstant.nanoseconds - dying)
            latencySource = "worker exit stamp"
        }
        let backtrace = BacktraceReport.take(directory: slot.backtraceDirectory, pid: exit.pid)
        let tailLines = slot.stderrTail.lines(last: supervision.config.output.stderrTailLines)
        let tail = tailLines.map(\.text)
        let parsed = FatalErrorParser.parse(stderr: tail, backtrace: backtrace)
        let oom = (slot.cgroup?.oomKills() ?? 0) > slot.oomBaseline

        let facts = DeathFacts(
            termination: exit.exited ? .exited(code: exit.code) : .signaled(signal: exit.code, coreDumped: exit.coreDumped),
            stderrTail: tail, fatalMessage: parsed.message, sourceLocation: parsed.location, headline: parsed.headline,
            topFrames: parsed.topFrames, killedForLimit: oom
        )
        evidence[id] = DeathEvidence(
            exit: exit, startedWall: slot.spawnedAtWall, endedWall: WallClock.nowNanoseconds(), command: spec?.command ?? [],
            detectLatencyMicroseconds: latency.map { $0 / 1000 }, latencySource: latencySource,
            breadcrumbs: crumbs?.entries ?? [], backtrace: backtrace, stderrTail: tailLines, leftoversKilled: leftovers
        )
        slot.pid = nil
        if let pidfd = slot.pidfd {
            unregister(pidfd, token: slot.pidfdToken)
            pidfd.close()
            slot.pidfd = nil
        }
        perform(supervision.exited(id, pid: exit.pid, facts: facts, MonotonicClock.now()))
    }
}
