import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// What each control command does: reads what the parts hold, asks policy, performs what policy
/// returns, answers. The JSON it answers with is documented in docs/CONTROL.md; keep the two in
/// step.
extension Daemon: ControlContext {
    func execute(_ command: ControlCommand, from peer: PeerCredentials, _ now: Instant) -> ControlReply {
        switch command {
        case .ping:
            return .bytes(result(.object([
                ("protocol", .int(ControlProtocol.version)), ("version", .string(BulkheadVersion.current)),
                ("pid", .int(Int64(daemonPID))), ("output", .string(outputDestination)),
            ])))
        case .status(let names, let format):
            return status(names, format, now)
        case .instances(let which, let names):
            return instances(which, names, peer, now)
        case .reload:
            return reload()
        case .logs(let names, let lines, let follow):
            return logs(names, lines: lines, follow: follow)
        case .crashes(let name, let limit):
            return crashes(name, limit: limit)
        case .crash(let id):
            return crash(id)
        case .signal(let names, let signal):
            return self.signal(names, signal, peer)
        case .events(let names, let since, let follow):
            return eventsReply(names, since: since, follow: follow)
        case .metrics(let openMetrics):
            return metricsReply(openMetrics: openMetrics)
        case .report(let names, _):
            // Names the config does not know are refused, as `events` refuses them.
            for name in names where name != "all" {
                if case .failure(let failure) = resolveNames([name]) { return .failure(failure) }
            }
            return reportReply()
        case .reexec(let binary):
            return requestReexec(binary: binary, peer: peer, now)
        }
    }

    func publish(_ event: SupervisorEvent) {
        events.publish(event)
    }

    private func result(_ value: JSON) -> [UInt8] {
        var bytes: [UInt8] = []
        ControlProtocol.appendResult(value, to: &bytes)
        return bytes
    }

    var outputDestination: String {
        output.sink is JournalSink ? "journal" : "text"
    }

    // MARK: - Names

    /// `api`, `api:1`, `all` → instances in config order; every unknown name is reported.
    func resolveNames(_ names: [String]) -> Result<[InstanceID], ControlFailure> {
        var ids: [InstanceID] = []
        var seen = Set<InstanceID>()
        var unknown: [String] = []
        for name in names {
            do {
                for id in try supervision.resolve([name]) where seen.insert(id).inserted { ids.append(id) }
            } catch {
                unknown.append(name)
            }
        }
        guard unknown.isEmpty else { return .failure(unknownNames(unknown)) }
        return .success(ids)
    }

    private func unknownNames(_ unknown: [String]) -> ControlFailure {
        let quoted = unknown.prefix(10).map { "\"\($0.prefix(80))\"" }.joined(separator: ", ") + (unknown.count > 10 ? ", …" : "")
        let workers = supervision.config.workers.map(\.name)
        let known = workers.isEmpty ? "no workers are configured" : "workers: " + workers.prefix(12).joined(separator: ", ") + (workers.count > 12 ? ", …" : "")
        let noun = unknown.count == 1 ? "no worker or instance named" : "no workers or instances named"
        return ControlFailure(.unknownName, "\(noun) \(quoted) (\(known)); see `bulkhead status`", details: unknown)
    }

    // MARK: - status

    /// What `status` says about the daemon itself.
    var daemonFacts: DaemonFacts {
        let (unsaved, lost) = reports.unsavedCounts
        return DaemonFacts(
            pid: daemonPID, configPath: options.configPath, socketPath: control.listener.path, startedAt: control.startedAt,
            shuttingDown: supervision.shuttingDown, instanceCount: supervision.instanceIDs.count,
            reportsUnsaved: unsaved, reportsLost: lost, notifyRejected: notify.rejected,
            notifyRejectedTotal: notify.rejectedTotal, notes: limitNotes
        )
    }

    private func status(_ names: [String], _ format: ControlCommand.StatusFormat, _ now: Instant) -> ControlReply {
        let snapshots: [InstanceSnapshot]
        status.refresh(&supervision)
        if names.isEmpty {
            snapshots = status.rows
        } else {
            switch resolveNames(names) {
            case .success(let ids): snapshots = ids.compactMap { status.row(of: $0) }
            case .failure(let failure): return .failure(failure)
            }
        }
        var facts = daemonFacts
        facts.detailed = !names.isEmpty
        switch format {
        case .json: return .bytes(status.document(facts, snapshots, now))
        case .table(let width): return .bytes(status.table(facts, snapshots, now, width: width))
        }
    }

    // MARK: - start / stop / restart / reset

    private func instances(_ which: ControlCommand.InstanceCommand, _ names: [String], _ peer: PeerCredentials, _ now: Instant) -> ControlReply {
        let ids: [InstanceID]
        switch resolveNames(names) {
        case .success(let resolved): ids = resolved
        case .failure(let failure): return .failure(failure)
        }
        if supervision.shuttingDown && which != .stop {
            return .failure(ControlFailure(.shuttingDown, "bulkhead is shutting down; \(which.rawValue) is refused"))
        }
        let outcome: Supervision.CommandResult
        switch which {
        case .start: outcome = supervision.start(ids, now)
        case .stop: outcome = supervision.stop(ids, now)
        case .restart: outcome = supervision.restart(ids, now)
        case .reset: outcome = supervision.reset(ids, now)
        }
        announceCommand(which, ids, lines: outcome.lines, by: peer)
        perform(outcome.actions)
        if outcome.refused {
            let refused = outcome.lines.filter { $0.contains("bulkhead reset") }
            return .failure(ControlFailure(.refused, "\(refused.count) of \(ids.count) instances refused to \(which.rawValue): clear them with `bulkhead reset NAME` first", details: outcome.lines))
        }
        return .bytes(result(.object([
            ("instances", .array(ids.map { .string($0.description) })),
            ("lines", .array(outcome.lines.map(JSON.string))),
        ])))
    }

    // MARK: - reload

    private func reload() -> ControlReply {
        if supervision.shuttingDown {
            return .failure(ControlFailure(.shuttingDown, "bulkhead is shutting down; reload is refused"))
        }
        switch reloadConfiguration() {
        case .applied(let summary):
            var fields: [(String, JSON)] = [
                ("config", .string(options.configPath)),
                ("summary", .string(summary.description)),
                ("added", .array(summary.added.map(JSON.string))),
                ("removed", .array(summary.removed.map(JSON.string))),
                ("restarted", .array(summary.restarted.map(JSON.string))),
                ("updated", .array(summary.updated.map(JSON.string))),
                ("scaled", .array(summary.scaled.map(JSON.string))),
                ("unchanged", .array(summary.unchanged.map(JSON.string))),
            ]
            if let configured = supervision.config.control.socket, configured != control.listener.path, options.socketPath == nil {
                fields.append(("note", .string("control.socket changed to \(configured): it takes effect when bulkhead restarts")))
            }
            return .bytes(result(.object(fields)))
        case .refused(let errors):
            let lines = errors.split(separator: "\n").map(String.init)
            let count = lines.count == 1 ? "1 error" : "\(lines.count) errors"
            return .failure(ControlFailure(.configInvalid, "\(options.configPath) has \(count); nothing was changed: fix it and reload again", details: lines))
        }
    }

    // MARK: - logs

    private func logs(_ names: [String], lines count: Int, follow: Bool) -> ControlReply {
        let ids: [InstanceID]
        switch resolveNames(names) {
        case .success(let resolved): ids = resolved
        case .failure(let failure): return .failure(failure)
        }
        var head = CompactWriter(capacity: 256)
        head.raw("{\"source\":\"buffer\",\"output\":")
        head.string(outputDestination)
        head.raw(",\"instances\":[")
        for (index, id) in ids.enumerated() {
            if index > 0 { head.raw(",") }
            head.string(id.description)
        }
        head.raw("],\"lines\":[")
        let suffix = Array((follow ? #"],"following":true}}"# : #"],"following":false}}"#).utf8) + [0x0A]
        // An instance that never ran has no output record yet: it has no lines (and a follower
        // of it is woken once it gets one, see LogReply).
        let reply = LogReply(ids: ids, lookup: { [unowned self] in output.outputs[$0] }, lines: count, follow: follow, suffix: suffix)
        return .stream(prefix: ControlProtocol.resultPrefix + head.bytes, reply, follow: follow ? ids : [])
    }

    // MARK: - crashes / crash

    private func crashes(_ name: String?, limit: Int) -> ControlReply {
        let summaries = reports.summaries(worker: name, limit: limit)
        if let name, summaries.isEmpty, (try? supervision.resolve([name])) == nil {
            return .failure(unknownNames([name]))
        }
        return .bytes(result(.object([("crashes", .array(summaries))])))
    }

    /// Ids are what `CrashReportStore.newID` makes: time, worker, index.
    static func isCrashID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 200 && !id.hasPrefix(".") && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    private func crash(_ id: String) -> ControlReply {
        let missing = ControlFailure(.notFound, "no crash report \"\(id.prefix(200))\"; list them with `bulkhead crashes`")
        guard Self.isCrashID(id) else { return .failure(missing) }
        // A report a few milliseconds old may still be on its way: answered once it is written.
        if reports.isPending(id) { return .awaitReport(id) }
        if let kept = reports.unsavedReport(id: id) {
            // The disk refused it: served from memory.
            return .bytes(ControlProtocol.resultPrefix + kept.filter { $0 != 0x0A && $0 != 0x0D } + [0x7D, 0x0A])
        }
        let path = reports.directory + "/" + id + ".json"
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(missing) }
        var st = stat()
        let limit = 64 << 20
        guard fstat(fd, &st) == 0, UnixSocketCalls.fileType(st) == UInt32(S_IFREG), Int(st.st_size) <= limit else {
            Glibc.close(fd)
            return .failure(ControlFailure(.internal, "crash report \(id) cannot be read (not a regular file of at most 64 MiB)"))
        }
        let file = ReplyFile(descriptor: FileDescriptor(rawValue: fd), limit: Int(st.st_size), suffix: [0x7D, 0x0A])
        return .stream(prefix: ControlProtocol.resultPrefix, file, follow: [])
    }

    // MARK: - signal

    private func signal(_ names: [String], _ signal: Int32, _ peer: PeerCredentials) -> ControlReply {
        let ids: [InstanceID]
        switch resolveNames(names) {
        case .success(let resolved): ids = resolved
        case .failure(let failure): return .failure(failure)
        }
        let name = "SIG" + Signals.name(signal)
        var lines: [String] = []
        var sent = 0
        for id in ids {
            guard let snapshot = supervision.snapshot(of: id), let pid = snapshot.pid else {
                lines.append("\(id): no process (\(supervision.snapshot(of: id)?.state.rawValue ?? "gone")); nothing sent")
                continue
            }
            let error = ProcessSignals.signalProcess(pid, signal)
            if error == 0 {
                sent += 1
                lines.append("\(id): \(name) sent to pid \(pid)")
                emit(SupervisorEvent(.daemon, id, pid: pid, priority: 5, message: "\(name) sent to pid \(pid) by uid \(peer.uid) (pid \(peer.pid)) with `bulkhead signal`"))
            } else {
                lines.append("\(id): \(name) to pid \(pid) failed: \(SystemError.describe(error))")
            }
        }
        if sent < ids.count {
            return .failure(ControlFailure(.refused, "\(name) reached \(sent) of \(ids.count) instances", details: lines))
        }
        return .bytes(result(.object([
            ("signal", .string(name)),
            ("instances", .array(ids.map { .string($0.description) })),
            ("lines", .array(lines.map(JSON.string))),
        ])))
    }
}
