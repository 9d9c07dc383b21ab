import BulkheadJSON
import BulkheadPolicy

extension StateDocument {
    /// The most instances a document may hold (the config's own bound on all instances).
    public static let maxInstances = 100_000

    /// What the parser accepts: the file of 100 000 instances fits, hostile input stays bounded.
    static let limits = JSONLimits(maxDepth: 8, maxInputBytes: 256 << 20, maxStringBytes: 64 << 10, maxElements: 20_000_000)

    /// Bytes → a document, or why not. Total: never traps, whatever the bytes (this is the state
    /// file's fuzz target); every number is range-checked and every instant is converted with
    /// saturating arithmetic.
    public static func decode(_ bytes: [UInt8]) throws(StateDecodingError) -> StateDocument {
        let root: JSON
        do {
            root = try JSON(parsing: bytes, limits: limits)
        } catch {
            throw StateDecodingError("not JSON: \(error)")
        }
        guard let top = root.object else { throw StateDecodingError("not a JSON object") }
        guard top["format"]?.string == formatName else {
            throw StateDecodingError("\"format\" is not \"\(formatName)\"")
        }
        guard let version = top["version"]?.int else { throw StateDecodingError("\"version\" is missing") }
        guard version == Self.version else {
            throw StateDecodingError("version \(version) is not one this bulkhead reads (it reads \(Self.version))")
        }
        var reader = FieldReader(path: "clock")
        let clockObject = try reader.object(top["clock"])
        let clock = ClockReading(
            bootID: try reader.string(clockObject["boot_id"], "boot_id", maxBytes: 64),
            monotonic: Instant(nanoseconds: UInt64(try reader.integer(clockObject["monotonic_ns"], "monotonic_ns", in: 0...Int64.max))),
            wallNanoseconds: try reader.integer(clockObject["wall_ns"], "wall_ns", in: Int64.min...Int64.max)
        )
        reader.path = "daemon"
        let daemon = try reader.object(top["daemon"])
        let pid = Int32(try reader.integer(daemon["pid"], "pid", in: 0...Int64(Int32.max)))
        let daemonVersion = try reader.string(daemon["version"], "version", maxBytes: 256)
        reader.path = "instances"
        guard let list = top["instances"]?.array else { throw StateDecodingError("\"instances\" is not an array") }
        guard list.count <= maxInstances else {
            throw StateDecodingError("\(list.count) instances (at most \(maxInstances))")
        }
        var seen = Set<InstanceID>()
        var entries: [InstanceEntry] = []
        entries.reserveCapacity(list.count)
        for (index, value) in list.enumerated() {
            var instanceReader = FieldReader(path: "instances[\(index)]", clock: clock)
            let entry = try instanceReader.entry(value)
            guard seen.insert(entry.record.id).inserted else {
                throw StateDecodingError("instances[\(index)]: \(entry.record.id) appears twice")
            }
            entries.append(entry)
        }
        return StateDocument(clock: clock, daemonPID: pid, daemonVersion: daemonVersion, instances: entries)
    }
}

/// Reads typed fields from parsed JSON, each failure naming where it is.
struct FieldReader {
    var path: String
    var clock = ClockReading(bootID: "", monotonic: .zero, wallNanoseconds: 0)

    static let maxCount: ClosedRange<Int64> = 0...1_000_000_000
    /// The breaker's window never holds more restarts than `crash_loop.max_restarts` + 1.
    static let maxRecentRestarts = 100_001

    func fail(_ what: String) -> StateDecodingError {
        StateDecodingError("\(path): \(what)")
    }

    func object(_ value: JSON?) throws(StateDecodingError) -> JSONObject {
        guard let object = value?.object else { throw fail("not an object") }
        return object
    }

    func integer(_ value: JSON?, _ key: String, in range: ClosedRange<Int64>) throws(StateDecodingError) -> Int64 {
        guard let value else { throw fail("\"\(key)\" is missing") }
        guard case .int(let number) = value else { throw fail("\"\(key)\" is not an integer") }
        guard range.contains(number) else { throw fail("\"\(key)\" is out of range (\(number))") }
        return number
    }

    func count(_ value: JSON?, _ key: String) throws(StateDecodingError) -> Int {
        Int(try integer(value, key, in: Self.maxCount))
    }

    func string(_ value: JSON?, _ key: String, maxBytes: Int) throws(StateDecodingError) -> String {
        guard let value else { throw fail("\"\(key)\" is missing") }
        guard let text = value.string else { throw fail("\"\(key)\" is not a string") }
        guard text.utf8.count <= maxBytes else { throw fail("\"\(key)\" is longer than \(maxBytes) bytes") }
        return text
    }

    func bool(_ value: JSON?, _ key: String) throws(StateDecodingError) -> Bool {
        guard let flag = value?.bool else { throw fail("\"\(key)\" is not true or false") }
        return flag
    }

    /// A wall-clock time in the file, as an instant of the writer's monotonic clock.
    func instant(_ value: JSON?, _ key: String) throws(StateDecodingError) -> Instant {
        clock.instant(wall: try integer(value, key, in: Int64.min...Int64.max))
    }

    func optionalInstant(_ value: JSON?, _ key: String) throws(StateDecodingError) -> Instant? {
        guard let value, !value.isNull else { return nil }
        return try instant(value, key)
    }

    /// A notify socket name the daemon makes: abstract, `@bulkhead/…`, within sun_path.
    func optionalNotifySocket(_ value: JSON?) throws(StateDecodingError) -> String? {
        guard let value, !value.isNull else { return nil }
        let name = try string(value, "notify_socket", maxBytes: 107)
        guard name.hasPrefix("@bulkhead/") else { throw fail("\"notify_socket\" is not a name bulkhead gives") }
        return name
    }

    func optionalInode(_ value: JSON?, _ key: String) throws(StateDecodingError) -> UInt64? {
        guard let value, !value.isNull else { return nil }
        return UInt64(try integer(value, key, in: 0...Int64.max))
    }

    func stopCause(_ value: JSON?, _ key: String) throws(StateDecodingError) -> StopCause {
        let word = try string(value, key, maxBytes: 64)
        guard let cause = StopCause(rawValue: word) else { throw fail("\"\(key)\" is not a stop cause (\(word.prefix(64)))") }
        return cause
    }

    /// Crash ids name files: only what `CrashReportStore` makes is accepted.
    func crashID(_ value: JSON?) throws(StateDecodingError) -> String? {
        guard let value, !value.isNull else { return nil }
        let id = try string(value, "crash_id", maxBytes: 200)
        guard StateNames.isCrashID(id) else { throw fail("\"crash_id\" is not a crash report id") }
        return id
    }

    mutating func entry(_ value: JSON) throws(StateDecodingError) -> InstanceEntry {
        let o = try object(value)
        let name = try string(o["instance"], "instance", maxBytes: 256)
        guard let id = InstanceID(parsing: name), !id.worker.isEmpty else { throw fail("\"instance\" is not an instance name (\(name.prefix(64)))") }
        path += " (\(id))"
        let process = try processPart(o["process"])
        let phase = try phase(o, process: process?.running)
        guard (phase.process == nil) == (process == nil) else {
            throw fail(process == nil ? "state \(StateNames.phase(phase)) needs a \"process\"" : "state \(StateNames.phase(phase)) has no process")
        }
        var record = InstanceRecord(id: id, wanted: try bool(o["wanted"], "wanted"), phase: phase)
        if let pending = o["pending_stop"], !pending.isNull { record.pendingStop = try stopCause(pending, "pending_stop") }
        if let removed = o["removed"], !removed.isNull { record.removed = try bool(removed, "removed") }
        record.restarts = try count(o["restarts"], "restarts")
        record.attempt = try count(o["attempt"], "attempt")
        record.breaker = try breaker(o["breaker"])
        if let streak = o["same_crash"], !streak.isNull {
            let s = try object(streak)
            record.sameCrash = SameCrashStreak(fingerprint: try string(s["fingerprint"], "fingerprint", maxBytes: 256),
                                               count: try count(s["count"], "count"))
        }
        if let last = o["last_class"], !last.isNull {
            let word = try string(last, "last_class", maxBytes: 64)
            guard let deathClass = DeathClass(rawValue: word) else { throw fail("\"last_class\" is not a class (\(word.prefix(64)))") }
            record.lastClass = deathClass
        }
        if let text = o["status_text"], !text.isNull { record.statusText = try string(text, "status_text", maxBytes: 4096) }
        return InstanceEntry(record: record, process: process?.stamp, crashID: try crashID(o["crash_id"]))
    }

    func processPart(_ value: JSON?) throws(StateDecodingError) -> (running: RunningProcess, stamp: ProcessStamp?)? {
        guard let value, !value.isNull else { return nil }
        let p = try object(value)
        let pid = Int32(try integer(p["pid"], "pid", in: 1...Int64(Int32.max)))
        let running = RunningProcess(
            pid: pid, startedAt: try instant(p["started_at_ns"], "started_at_ns"),
            watchdogAt: try optionalInstant(p["watchdog_at_ns"], "watchdog_at_ns"),
            stableAt: try optionalInstant(p["stable_at_ns"], "stable_at_ns")
        )
        var stamp: ProcessStamp?
        if let start = p["start_time"], !start.isNull {
            stamp = ProcessStamp(pid: pid, startTime: UInt64(try integer(start, "start_time", in: 0...Int64.max)),
                                 identity: try string(p["identity"], "identity", maxBytes: 128),
                                 stdoutPipe: try optionalInode(p["stdout_pipe"], "stdout_pipe"),
                                 stderrPipe: try optionalInode(p["stderr_pipe"], "stderr_pipe"),
                                 notifySocket: try optionalNotifySocket(p["notify_socket"]))
        }
        return (running, stamp)
    }

    func phase(_ o: JSONObject, process: RunningProcess?) throws(StateDecodingError) -> Phase {
        let word = try string(o["state"], "state", maxBytes: 64)
        switch word {
        case "stopped": return .stopped
        case "waiting": return .waiting
        case "spawning": return .spawning
        case "failed": return .failed
        case "quarantined": return .quarantined
        case "backoff": return .backoff(until: try instant(o["until_ns"], "until_ns"))
        case "open": return .open(until: try instant(o["until_ns"], "until_ns"))
        case "starting", "running", "stopping":
            guard let process else { throw fail("state \(word) needs a \"process\"") }
            if word == "starting" { return .starting(process, readyAt: try optionalInstant(o["ready_at_ns"], "ready_at_ns")) }
            if word == "running" { return .running(process) }
            return .stopping(process, cause: try stopCause(o["stop_cause"], "stop_cause"),
                             killAt: try optionalInstant(o["kill_at_ns"], "kill_at_ns"))
        default:
            throw fail("\"state\" is not a state (\(word.prefix(64)))")
        }
    }

    func breaker(_ value: JSON?) throws(StateDecodingError) -> CrashLoopBreaker {
        guard let value, !value.isNull else { return CrashLoopBreaker() }
        let b = try object(value)
        let state: CrashLoopBreaker.State
        switch try string(b["state"], "breaker.state", maxBytes: 64) {
        case "closed": state = .closed
        case "half-open": state = .halfOpen
        case "open": state = .open(until: try instant(b["until_ns"], "breaker.until_ns"))
        default: throw fail("\"breaker.state\" is not closed, open or half-open")
        }
        var recent: [Instant] = []
        if let list = b["recent_restarts_ns"], !list.isNull {
            guard let times = list.array else { throw fail("\"breaker.recent_restarts_ns\" is not an array") }
            guard times.count <= Self.maxRecentRestarts else { throw fail("\"breaker.recent_restarts_ns\" holds too many times") }
            for time in times { recent.append(try instant(time, "breaker.recent_restarts_ns")) }
        }
        return CrashLoopBreaker(state: state, recentRestarts: recent)
    }
}

extension StateNames {
    /// What `CrashReportStore.newID` makes: letters, digits, `-`, `_`, `.`; not starting with `.`.
    static func isCrashID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 200 && !id.hasPrefix(".") && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }
}
