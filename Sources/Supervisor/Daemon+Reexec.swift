import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadState
import BulkheadSystem
import Glibc

/// A re-exec in progress: the new binary's check (`--version`, run as a child and watched
/// through its pidfd, never waited for on the loop), then the exec at the end of the turn.
final class ReexecRun {
    let target: String
    let requestedAt: Instant
    /// When the check must have answered.
    let deadline: Instant
    var check: (pid: Int32, pidfd: FileDescriptor, token: UInt64, output: FileDescriptor)?
    /// The new binary's version, once its check passed: exec at the end of this turn.
    var version: String?
    /// RELOADING=1 went to systemd (READY=1 must follow, whatever happens).
    var toldSystemd = false

    /// How long the new binary's `--version` may take (a cold page cache, a loaded machine).
    static let checkTimeout: Duration = .seconds(10)

    init(target: String, requestedAt: Instant) {
        self.target = target
        self.requestedAt = requestedAt
        deadline = requestedAt + Self.checkTimeout
    }
}

/// `bulkhead reexec` and SIGUSR2 (SPEC §5, §10): the daemon runs a new binary in its own
/// process, so the pid stays, every worker stays its child and keeps running, and nothing is
/// lost: policy's state, every fd (control socket and its clients, output pipes and the line
/// each was in the middle of, notify sockets, pidfds, breadcrumb rings, the state lock) and the
/// output rings go across in a handoff (`ReexecHandoff`). The binary is checked first (it exists,
/// is executable, and `--version` runs); a failed check, a failed execve, or a new image that
/// cannot take over (it goes back to the old binary) is an error reply, and the daemon runs on
/// unchanged. The caller's reply comes from the new image, once it serves.
extension Daemon {
    /// The daemon binary a re-exec runs when none is named: the installed one (a package upgrade
    /// replaced it; `/proc/self/exe` would still be the old file).
    static var installedDaemon: String { SiblingProgram.path("bulkhead-daemon") }

    func requestReexec(binary: String?, peer: PeerCredentials?, _ now: Instant) -> ControlReply {
        if binary != nil, let peer, peer.uid != 0 && peer.uid != geteuid() {
            return .failure(ControlFailure(.permissionDenied, "only root and bulkhead's own user may name the binary to re-execute; run `bulkhead reexec` without --binary"))
        }
        if reexecRun != nil { return .awaitReexec }   // one re-exec at a time: this one joins it
        if options.exitsWithWorker {
            return .failure(ControlFailure(.refused, "reexec refused: \(Self.noConfigFile) for the new image; bulkhead keeps running unchanged"))
        }
        if let obstacle = supervision.resumeObstacle {
            return .failure(ControlFailure(.refused, "reexec refused: \(obstacle); bulkhead keeps running unchanged"))
        }
        let target = binary ?? Self.installedDaemon
        guard FileSystem.info(target)?.isRegular == true else {
            return .failure(ControlFailure(.notFound, "cannot re-execute \(target): no such file; bulkhead keeps running unchanged"))
        }
        guard FileSystem.isExecutableFile(target) else {
            return .failure(ControlFailure(.refused, "cannot re-execute \(target): not executable; bulkhead keeps running unchanged"))
        }
        let run = ReexecRun(target: target, requestedAt: now)
        do {
            run.check = try startReexecCheck(target)
        } catch {
            return .failure(ControlFailure(.refused, "cannot re-execute \(target): \(error); bulkhead keeps running unchanged"))
        }
        reexecRun = run
        emit(SupervisorEvent(.daemon, nil, priority: 5, message: "reexec: checking \(target) (--version) before running it in place"))
        return .awaitReexec
    }

    /// SIGUSR2: the same as `bulkhead reexec`, answered in the log.
    func reexecBySignal(from sender: Int32) {
        let now = MonotonicClock.now()
        switch requestReexec(binary: nil, peer: nil, now) {
        case .failure(let failure):
            emit(SupervisorEvent(.daemon, nil, priority: 3, message: "SIGUSR2 from pid \(sender): \(failure.message)"))
        case .bytes, .stream, .awaitReport, .awaitReexec, .eventStream:
            break
        }
    }

    /// `target --version`, its stdout and stderr into a pipe we read once it exits.
    private func startReexecCheck(_ target: String) throws(SystemError) -> (pid: Int32, pidfd: FileDescriptor, token: UInt64, output: FileDescriptor) {
        let pipe = try Pipe()
        let devNull = try FileDescriptor.open("/dev/null", O_RDWR)
        defer {
            pipe.writeEnd.close()
            devNull.close()
        }
        let request = SpawnRequest(executable: target, arguments: [target, "--version"], environment: ProcessImage.environment(),
                                   standardInput: devNull, standardOutput: pipe.writeEnd, standardError: pipe.writeEnd)
        let pid: Int32
        do {
            pid = try Spawner.spawn(request)
        } catch {
            pipe.readEnd.close()
            throw SystemError(error.errno, "it cannot be started (\(error.description))")
        }
        processes.watchHelper(pid)
        guard let pidfd = Reaper.pidfd(for: pid) else {
            pipe.readEnd.close()
            throw SystemError(ESRCH, "pidfd_open of its check")
        }
        do {
            let token = try loop.register(pidfd, .readable, .reexecCheck)
            return (pid, pidfd, token, pipe.readEnd)
        } catch {
            pidfd.close()
            pipe.readEnd.close()
            throw error
        }
    }

    /// The check exited: it passes when it exited 0 and said `bulkhead-daemon VERSION`.
    func reexecCheckExited(_ now: Instant) {
        guard let run = reexecRun, let check = run.check, let exit = processes.helperExited(check.pid, pidfd: check.pidfd) else { return }
        let said = readCheckOutput(check.output)
        closeCheck(run)
        let line = said.split(separator: "\n").first.map(String.init) ?? ""
        if exit.exited && exit.code == 0 && line.hasPrefix("bulkhead-daemon ") {
            run.version = String(line.dropFirst("bulkhead-daemon ".count))
            return   // exec at the end of this turn
        }
        let how = exit.exited ? "exited with code \(exit.code)" : "was killed by SIG\(Signals.name(exit.code))"
        let output = line.isEmpty ? "printed nothing" : "printed \"\(line.prefix(200))\""
        failReexec("\(run.target) --version \(how) and \(output): it is not a bulkhead daemon that runs here", now)
    }

    private func readCheckOutput(_ fd: FileDescriptor) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 16 << 10 {
            let n = buffer.withUnsafeMutableBytes { (try? fd.read(into: $0)) ?? nil }
            guard let n, n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func closeCheck(_ run: ReexecRun) {
        guard let check = run.check else { return }
        loop.unregister(check.pidfd, token: check.token)
        check.pidfd.close()
        check.output.close()
        run.check = nil
    }

    /// End of every turn: a check past its deadline fails; a passed one is exec'd now.
    func reexecTurnEnded(_ now: Instant) {
        guard let run = reexecRun else { return }
        if let check = run.check, now >= run.deadline {
            ProcessSignals.signalProcess(check.pid, SIGKILL)
            closeCheck(run)   // the reaper collects it (a helper: not counted as an orphan)
            failReexec("\(run.target) --version did not answer within \(Units.format(ReexecRun.checkTimeout))", now)
            return
        }
        if run.version != nil { execNewImage(run, now) }
    }

    /// The re-exec did not happen: every caller is told why; nothing else changed.
    func failReexec(_ reason: String, _ now: Instant) {
        if let run = reexecRun {
            closeCheck(run)
            if run.toldSystemd { systemdReloaded(now) }
        }
        reexecRun = nil
        emit(SupervisorEvent(.daemon, nil, priority: 3, message: "reexec failed: \(reason); bulkhead keeps running unchanged"))
        control.reexecFinished(.failure(ControlFailure(.refused, "reexec failed: \(reason); bulkhead keeps running unchanged")), now)
    }

    // MARK: - The exec

    private func execNewImage(_ run: ReexecRun, _ now: Instant) {
        emit(SupervisorEvent(.daemon, nil, priority: 5, message: "reexec: running \(run.target) (bulkhead \(run.version ?? "?")) in place of bulkhead \(BulkheadVersion.current); workers keep running"))
        systemdReloading(now)
        run.toldSystemd = systemd != nil
        // Nothing half-done goes across: parked deaths handled, reports and output written out,
        // the state file up to date (also what a next daemon reads should this image never run).
        for death in processes.flushParked(now) { handleDeath(death) }
        sayRepeatedDeaths(now, all: true)   // a storm's counts are said; the new image starts its own
        reports.drain(timeoutNanoseconds: 5_000_000_000)
        control.reportsWritten(now)
        persistState()
        durable?.store.flush()
        reportDroppedOutput()
        output.sink.endOfIteration()
        output.sink.drain(timeoutNanoseconds: 10_000_000_000)

        var blob = HandoffBlob()
        let parts = [("processes", processes.handoff()), ("output", output.handoff(&blob)), ("notify", notify.handoff()),
                     ("control", control.handoff(&blob, now)), ("sockets", sockets.handoff())]
        var document: [(String, JSON)] = [
            ("format", .string(ReexecHandoff.formatName)),
            ("version", .int(ReexecHandoff.version)),
            ("from_version", .string(BulkheadVersion.current)),
            ("target", .string(run.target)),
            ("requested_at_ns", .int(Int64(clamping: run.requestedAt.nanoseconds))),
            ("options", .object([
                ("config", .string(options.configPath)),
                ("socket", options.socketPath.map(JSON.string) ?? .null),
                ("timestamps", .bool(options.timestamps)),
                ("keeps_state", .bool(options.keepsState)),
                ("log_format", options.logFormat.map { .string($0.rawValue) } ?? .null),
            ])),
            ("config_text", .string(configText)),
            ("state", reexecState().json),
            ("daemon", .object([
                ("state_lock", .int(Int64(stateLock.descriptor.rawValue))),
                ("reports_not_saved", .int(Int64(counters.reportsNotSaved))),
                ("output_lines_dropped", .int(Int64(counters.outputLinesDropped))),
            ])),
            ("systemd", systemdHandoff()),
            ("metrics", monitoring.counters.handoff()),
            ("output_counts", output.countsHandoff()),
        ]
        var keep = [stateLock.descriptor]
        for (name, part) in parts {
            document.append((name, part.section))
            keep += part.keep
        }
        let previous = try? ProcessImage.openOwnExecutable()
        let written: (keep: [FileDescriptor], environment: [String])
        do {
            written = try ReexecHandoff.write(.object(document), blob, previous: previous)
        } catch {
            previous?.close()
            failReexec("the handoff could not be written (\(error))", MonotonicClock.now())
            return
        }
        keep += written.keep
        for fd in keep { try? fd.setCloseOnExec(false) }
        let error = ProcessImage.exec(run.target, arguments: daemonArguments(run.target), environment: written.environment)
        // Still here: execve refused. Everything is as it was but the flags and the handoff.
        for fd in keep { try? fd.setCloseOnExec(true) }
        for fd in written.keep { fd.close() }
        failReexec("execve \(run.target): \(error.reason)", MonotonicClock.now())
    }

    /// The command line the daemon runs with (the handoff is what counts; this is for `ps`).
    private func daemonArguments(_ target: String) -> [String] {
        var arguments = [target, "daemon", "--config", options.configPath]
        if let socket = options.socketPath { arguments += ["--socket", socket] }
        if !options.timestamps { arguments.append("--no-timestamps") }
        if !options.keepsState { arguments.append("--no-state") }
        return arguments
    }

    /// Every record of policy, whole (not only the durable part), with the reports behind verdicts.
    private func reexecState() -> StateDocument {
        let clock = ClockReading(bootID: ProcFS.bootID(), monotonic: MonotonicClock.now(), wallNanoseconds: WallClock.nowNanoseconds())
        let entries = supervision.records.map { record in
            InstanceEntry(record: record, crashID: durable?.lastCrashID[record.id])
        }
        return StateDocument(clock: clock, daemonPID: daemonPID, daemonVersion: BulkheadVersion.current, instances: entries)
    }

    // MARK: - The new image

    /// After a re-exec, in place of the first start: policy takes every instance back as it was,
    /// spawns that were queued are queued again, and whoever asked is answered (the reply says
    /// how long it took, from the request to serving again).
    func resumeFromHandoff(_ handoff: ReexecHandoff, _ now: Instant) {
        let entries = (try? handoff.records()) ?? []
        for entry in entries { if let crash = entry.crashID { durable?.lastCrashID[entry.record.id] = crash } }
        reports.pinned = Set(entries.filter { [.failed, .quarantined].contains($0.record.phase) || $0.record.phase.state == .open }
            .compactMap(\.crashID))
        perform(supervision.resume(entries.map(\.record), now))
        for record in supervision.records where record.phase == .spawning { pendingSpawns.append(record.id) }
        let requested = Instant(nanoseconds: UInt64(max(0, handoff.document["requested_at_ns"]?.int ?? 0)))
        let took = MonotonicClock.now().duration(since: requested)
        let from = handoff.document["from_version"]?.string ?? "?"
        if let reason = handoff.rollbackReason {
            let target = handoff.document["target"]?.string ?? "the new binary"
            failReexec("\(target) could not take over (\(reason)); this bulkhead \(BulkheadVersion.current) went back in place", now)
            return
        }
        emit(SupervisorEvent(.daemon, nil, priority: 5, message: "reexec done: bulkhead \(BulkheadVersion.current) (was \(from)) serves again as pid \(daemonPID), \(entries.count) instances kept, in \(Units.format(took))"))
        control.reexecFinished(.bytes(ControlProtocol.encodeResult(.object([
            ("pid", .int(Int64(daemonPID))),
            ("version", .string(BulkheadVersion.current)),
            ("previous_version", .string(from)),
            ("binary", .string(handoff.document["target"]?.string ?? "")),
            ("instances", .int(Int64(entries.count))),
            ("took_ms", .double(Double(took.nanoseconds) / 1e6)),
        ]))), now)
    }
}
