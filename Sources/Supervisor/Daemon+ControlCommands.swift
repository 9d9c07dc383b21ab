import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// What a control request does. Each command reads its arguments, asks policy (or the crash
/// store, or the output rings), performs the actions policy returns, and answers.
/// The JSON it answers with is documented in docs/CONTROL.md; keep the two in step.
enum ControlOutcome {
    case result(JSON)
    /// A reply already encoded (the hot `status` path builds bytes directly).
    case encoded([UInt8])
    case failure(ControlFailure)
    /// `prefix`, then what `source` makes as the client reads (a crash report's file, `logs`);
    /// `follow`: instances whose new lines wake the source (`logs -f`).
    case stream(prefix: [UInt8], ReplySource, follow: [InstanceID])
}

extension Daemon {
    static let controlCommands = ["ping", "status", "start", "stop", "restart", "reset", "reload", "logs", "crashes", "crash", "signal"]

    func executeControl(_ request: ControlRequest, _ connection: ControlConnection, _ now: Instant) -> ControlOutcome {
        let args = request.arguments
        switch request.command {
        case "ping":
            return .result(.object([
                ("protocol", .int(ControlProtocol.version)), ("version", .string(BulkheadVersion.current)),
                ("pid", .int(Int64(daemonPID))),
                ("output", .string(outputDestination)),
            ]))
        case "status":
            return controlStatus(args, now)
        case "start", "stop", "restart", "reset":
            return controlInstances(request.command, args, now)
        case "reload":
            return controlReload()
        case "logs":
            return controlLogs(args)
        case "crashes":
            return controlCrashes(args)
        case "crash":
            return controlCrash(args)
        case "signal":
            return controlSignal(args, connection)
        default:
            return .failure(ControlFailure(.unknownCommand, "unknown command \"\(request.command.prefix(64))\" (this bulkhead knows \(Self.controlCommands.joined(separator: ", ")))"))
        }
    }

    // MARK: - Names

    /// `api`, `api:1`, `all` → instances in config order; every unknown name is reported.
    func resolveControlNames(_ names: [String], emptyMeansAll: Bool) -> Result<[InstanceID], ControlFailure> {
        if names.isEmpty {
            if emptyMeansAll { return .success(supervision.instanceIDs) }
            return .failure(ControlFailure(.badArguments, "name at least one worker (api), instance (api:1) or all"))
        }
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

    func unknownNames(_ unknown: [String]) -> ControlFailure {
        let quoted = unknown.prefix(10).map { "\"\($0.prefix(80))\"" }.joined(separator: ", ") + (unknown.count > 10 ? ", …" : "")
        let workers = supervision.config.workers.map(\.name)
        let known = workers.isEmpty ? "no workers are configured" : "workers: " + workers.prefix(12).joined(separator: ", ") + (workers.count > 12 ? ", …" : "")
        let noun = unknown.count == 1 ? "no worker or instance named" : "no workers or instances named"
        return ControlFailure(.unknownName, "\(noun) \(quoted) (\(known)); see `bulkhead status`", details: unknown)
    }

    // MARK: - status

    func controlStatus(_ args: JSONObject, _ now: Instant) -> ControlOutcome {
        let names: [String]
        switch args.names() {
        case .success(let given): names = given
        case .failure(let failure): return .failure(failure)
        }
        let snapshots: [InstanceSnapshot]
        if names.isEmpty {
            snapshots = supervision.snapshot()
        } else {
            switch resolveControlNames(names, emptyMeansAll: true) {
            case .success(let ids): snapshots = ids.compactMap { supervision.snapshot(of: $0) }
            case .failure(let failure): return .failure(failure)
            }
        }
        switch args.text("format") ?? "json" {
        case "json":
            return .encoded(StatusDocument.encode(self, snapshots, now))
        case "table":
            let width: Int?
            switch args.integer("width", default: 0, range: 0...100_000) {
            case .success(let given): width = given > 0 ? given : nil
            case .failure(let failure): return .failure(failure)
            }
            return .encoded(StatusTable.reply(self, snapshots, now, width: width))
        default:
            return .failure(ControlFailure(.badArguments, "\"format\" is \"json\" (the default) or \"table\""))
        }
    }

    // MARK: - start / stop / restart / reset

    func controlInstances(_ command: String, _ args: JSONObject, _ now: Instant) -> ControlOutcome {
        let ids: [InstanceID]
        switch args.names().flatMap({ resolveControlNames($0, emptyMeansAll: false) }) {
        case .success(let resolved): ids = resolved
        case .failure(let failure): return .failure(failure)
        }
        if supervision.shuttingDown && command != "stop" {
            return .failure(ControlFailure(.shuttingDown, "bulkhead is shutting down; \(command) is refused"))
        }
        let result: Supervision.CommandResult
        switch command {
        case "start": result = supervision.start(ids, now)
        case "stop": result = supervision.stop(ids, now)
        case "restart": result = supervision.restart(ids, now)
        default: result = supervision.reset(ids, now)
        }
        perform(result.actions)
        if result.refused {
            let refused = result.lines.filter { $0.contains("bulkhead reset") }
            return .failure(ControlFailure(.refused, "\(refused.count) of \(ids.count) instances refused to \(command): clear them with `bulkhead reset NAME` first", details: result.lines))
        }
        return .result(.object([
            ("instances", .array(ids.map { .string($0.description) })),
            ("lines", .array(result.lines.map(JSON.string))),
        ]))
    }

    // MARK: - reload

    func controlReload() -> ControlOutcome {
        if supervision.shuttingDown {
            return .failure(ControlFailure(.shuttingDown, "bulkhead is shutting down; reload is refused"))
        }
        switch reloadConfiguration() {
        case .applied(let summary):
            var result: [(String, JSON)] = [
                ("config", .string(options.configPath)),
                ("summary", .string(summary.description)),
                ("added", .array(summary.added.map(JSON.string))),
                ("removed", .array(summary.removed.map(JSON.string))),
                ("restarted", .array(summary.restarted.map(JSON.string))),
                ("updated", .array(summary.updated.map(JSON.string))),
                ("scaled", .array(summary.scaled.map(JSON.string))),
                ("unchanged", .array(summary.unchanged.map(JSON.string))),
            ]
            if let server = controlServer, let configured = supervision.config.control.socket,
               configured != server.listener.path, options.socketPath == nil {
                result.append(("note", .string("control.socket changed to \(configured): it takes effect when bulkhead restarts")))
            }
            return .result(.object(result))
        case .refused(let errors):
            let lines = errors.split(separator: "\n").map(String.init)
            let count = lines.count == 1 ? "1 error" : "\(lines.count) errors"
            return .failure(ControlFailure(.configInvalid, "\(options.configPath) has \(count); nothing was changed: fix it and reload again", details: lines))
        }
    }

    // MARK: - logs

    func controlLogs(_ args: JSONObject) -> ControlOutcome {
        var names = [String]()
        switch args.names() {
        case .success(let given): names = given
        case .failure(let failure): return .failure(failure)
        }
        if let name = args.text("name") { names.append(name) }
        let count: Int
        switch args.integer("lines", default: 100, range: 0...100_000) {
        case .success(let n): count = n
        case .failure(let failure): return .failure(failure)
        }
        let ids: [InstanceID]
        switch resolveControlNames(names, emptyMeansAll: false) {
        case .success(let resolved): ids = resolved
        case .failure(let failure): return .failure(failure)
        }
        let follow = args.flag("follow")
        var prefix = ControlProtocol.resultPrefix
        var head = CompactWriter(capacity: 256)
        head.raw("{\"source\":\"buffer\",\"output\":")
        head.string(outputDestination)
        head.raw(",\"instances\":[")
        for (index, id) in ids.enumerated() {
            if index > 0 { head.raw(",") }
            head.string(id.description)
        }
        head.raw("],\"lines\":[")
        prefix += head.bytes
        let suffix = Array((follow ? #"],"following":true}}"# : #"],"following":false}}"#).utf8) + [0x0A]
        // An instance without a slot has never run: it has no lines (and none to follow yet;
        // a follower of it is woken once it gets a slot, see `controlTick`).
        let reply = LogReply(ids: ids, lookup: { [unowned self] in slots[$0] }, lines: count, follow: follow, suffix: suffix)
        return .stream(prefix: prefix, reply, follow: follow ? ids : [])
    }

    // MARK: - crashes / crash

    func controlCrashes(_ args: JSONObject) -> ControlOutcome {
        let limit: Int
        switch args.integer("limit", default: 50, range: 1...100_000) {
        case .success(let n): limit = n
        case .failure(let failure): return .failure(failure)
        }
        let name = args.text("name")
        let summaries = reports.summaries(worker: name, limit: limit)
        if let name, summaries.isEmpty, (try? supervision.resolve([name])) == nil {
            return .failure(unknownNames([name]))
        }
        return .result(.object([("crashes", .array(summaries))]))
    }

    /// Ids are what `CrashReportStore.newID` makes: time, worker, index.
    static func isCrashID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 200 && !id.hasPrefix(".") && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    func controlCrash(_ args: JSONObject) -> ControlOutcome {
        guard let id = args.text("id") else {
            return .failure(ControlFailure(.badArguments, "name the crash report: an id from `bulkhead crashes`"))
        }
        let missing = ControlFailure(.notFound, "no crash report \"\(id.prefix(200))\"; list them with `bulkhead crashes`")
        guard Self.isCrashID(id) else { return .failure(missing) }
        reports.waitUntilWritten(id)   // a report a few milliseconds old may still be on its way
        if let kept = reports.unsavedReport(id: id) {
            // The disk refused it: served from memory.
            var reply = ControlProtocol.resultPrefix
            reply += kept.filter { $0 != 0x0A && $0 != 0x0D }
            reply += [0x7D, 0x0A]
            return .encoded(reply)
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

    func controlSignal(_ args: JSONObject, _ connection: ControlConnection) -> ControlOutcome {
        var signal: Int32?
        if let number = args["signal"]?.int { signal = Int32(exactly: number) } else if let name = args.text("signal") { signal = Signals.number(name) }
        guard let signal, signal > 0, signal <= 64 else {
            return .failure(ControlFailure(.badArguments, "name a signal: a name (TERM, SIGKILL, usr1) or a number from 1 to 64"))
        }
        let ids: [InstanceID]
        switch args.names().flatMap({ resolveControlNames($0, emptyMeansAll: false) }) {
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
                emit(SupervisorEvent(.daemon, id, pid: pid, priority: 5, message: "\(name) sent to pid \(pid) by uid \(connection.peer.uid) (pid \(connection.peer.pid)) with `bulkhead signal`"))
            } else {
                lines.append("\(id): \(name) to pid \(pid) failed: \(SystemError.describe(error))")
            }
        }
        if sent < ids.count {
            return .failure(ControlFailure(.refused, "\(name) reached \(sent) of \(ids.count) instances", details: lines))
        }
        return .result(.object([
            ("signal", .string(name)),
            ("instances", .array(ids.map { .string($0.description) })),
            ("lines", .array(lines.map(JSON.string))),
        ]))
    }
}
