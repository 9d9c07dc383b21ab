import BulkheadSystem
import Foundation
import Glibc
import Testing

// Shared by the supervisor-core suites (traps, exit classes, stop, spawn, readiness, watchdog,
// notify security, crash storm). Every wait has a deadline; none sleeps and hopes.

/// Runs a blocking wait on its own thread. Swift Testing runs tests on the cooperative pool
/// (one thread per core: two here), so a test parked in a blocking wait would hold back every
/// other test; awaiting this instead lets all the daemons of the suite run side by side.
func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// A value that is not `Sendable` (a parsed JSON object) handed from a waiting thread back to
/// the test that started the wait; nothing else touches it.
struct Handed<T>: @unchecked Sendable {
    var value: T
}

/// One line of the daemon's output and where it is, for "after this" waits and order checks.
struct Seen: Sendable {
    var line: String
    var index: Int
}

struct IntegrationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// How long a wait may take. The machine is shared with compilers (load 10+ on 2 cores), so
/// every deadline is far above what the wait takes when all is well.
enum Deadline {
    static let event: Double = 60
}

extension DaemonHarness {
    /// `start()`, off the cooperative pool.
    func launch() async throws {
        try await offThread { try self.start() }
    }

    /// SIGTERM (or `signal`) and the daemon's exit status, off the cooperative pool.
    @discardableResult
    func shutdown(signal: Int32 = SIGTERM, timeout: Double = 90) async throws -> Int32 {
        try await offThread { try self.stop(signal: signal, timeout: timeout) }
    }

    /// The next event line `instance * kind: …` at or after `after` containing every fragment.
    @discardableResult
    func next(_ instance: String, _ kind: String, after: Int = 0, containing fragments: [String] = [],
              timeout: Double = Deadline.event) async throws -> Seen {
        let prefix = "\(instance) * \(kind): "
        return try await nextLine(after: after, timeout: timeout, what: "\(prefix)\(fragments)") { line in
            line.hasPrefix(prefix) && fragments.allSatisfy { line.contains($0) }
        }
    }

    /// The next line at or after `after` that matches.
    @discardableResult
    func nextLine(after: Int = 0, timeout: Double = Deadline.event, what: String,
                  _ matches: @escaping @Sendable (String) -> Bool) async throws -> Seen {
        let index = try await offThread { try self.waitForIndex(after: after, timeout: timeout, what: what, matches) }
        return Seen(line: output[index], index: index)
    }

    /// The CLI, off the cooperative pool.
    func command(_ arguments: [String]) async throws -> (code: Int32, stdout: String, stderr: String) {
        try await offThread { try self.cli(arguments) }
    }

    /// `status --json` instances by name, off the cooperative pool.
    func instances() async throws -> [String: [String: Any]] {
        try await offThread { Handed(value: try self.statusJSON().instances) }.value
    }

    /// Polls `status --json` until `condition` holds for it.
    @discardableResult
    func status(what: String, timeout: Double = Deadline.event,
                _ condition: @escaping @Sendable ([String: [String: Any]]) -> Bool) async throws -> [String: [String: Any]] {
        try await offThread { Handed(value: try self.waitForStatus(timeout: timeout, what: what, condition)) }.value
    }

    /// `worker`'s runs the daemon recorded with its own clock: each crash report's, and each
    /// death folded into a report in a storm (its `repeated` list, written within a second),
    /// by start time.
    func recordedRuns(of worker: String) -> [(pid: Int, started: Date, ended: Date)] {
        crashReports().filter { $0["worker"] as? String == worker }.flatMap { report in
            [report] + (report["repeated"] as? [[String: Any]] ?? [])
        }.compactMap { run -> (pid: Int, started: Date, ended: Date)? in
            guard let pid = run["pid"] as? Int, let started = reportInstant(run["started_at"]),
                  let ended = reportInstant(run["ended_at"]) else { return nil }
            return (pid, started, ended)
        }.sorted { $0.started < $1.started }
    }

    /// The crash report an `exit` event names.
    func report(for exit: Seen) throws -> [String: Any] {
        let id = try #require(DaemonHarness.crashID(in: exit.line), "no crash id in: \(exit.line)")
        return try #require(crashReport(id: id), "no crash report \(id) in \(crashDirectory)")
    }

    /// What an instance wrote on stdout (`api:0 | text` → `text`), from `after` on.
    func stdoutLines(of instance: String, after: Int = 0) -> [String] {
        let prefix = "\(instance) | "
        return output.dropFirst(after).filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// Event lines of one kind, for one instance or (nil) any.
    func events(_ kind: String, of instance: String? = nil) -> [String] {
        output.filter { line in
            guard let star = line.range(of: " * \(kind): ") else { return false }
            return instance.map { line[..<star.lowerBound] == $0 } ?? true
        }
    }

    /// The pid in a `spawn` event (`spawned pid 4242`).
    static func spawnedPID(_ line: String) -> Int32? {
        guard let range = line.range(of: "spawned pid ") else { return nil }
        return Int32(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// Every pid the daemon reported spawning.
    var spawnedPIDs: [Int32] {
        events("spawn").compactMap(Self.spawnedPID)
    }
}

/// crashlab's `--print-env` / `--grandchild` lines (`crashlab: KEY rest`), read back.
struct CrashLabReport {
    var lines: [String]

    init(_ stdout: [String]) {
        lines = stdout.compactMap { $0.hasPrefix("crashlab: ") ? String($0.dropFirst("crashlab: ".count)) : nil }
    }

    /// The rest of the first line that starts with `key `.
    func value(_ key: String) -> String? {
        lines.first { $0.hasPrefix(key + " ") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// `env NAME=value` → value; nil when unset.
    func env(_ name: String) -> String? {
        lines.first { $0.hasPrefix("env \(name)=") }.map { String($0.dropFirst("env \(name)=".count)) }
    }

    /// `ids pid=1 ppid=2 …` → ["pid": 1, …].
    var ids: [String: Int] {
        var out: [String: Int] = [:]
        for pair in (value("ids") ?? "").split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let n = Int(parts[1]) { out[String(parts[0])] = n }
        }
        return out
    }

    /// `rlimit NOFILE 123 123` → ("123", "123").
    func rlimit(_ name: String) -> (soft: String, hard: String)? {
        guard let line = lines.first(where: { $0.hasPrefix("rlimit \(name) ") }) else { return nil }
        let parts = line.split(separator: " ")
        return parts.count == 4 ? (String(parts[2]), String(parts[3])) : nil
    }

    /// The pids of `--grandchild` / `--grandchild-setsid` children.
    var grandchildren: [Int32] {
        lines.filter { $0.hasPrefix("grandchild ") }.compactMap { Int32($0.dropFirst("grandchild ".count)) }
    }
}

/// /proc, read from the test: who is alive, whose child, in which group.
enum Processes {
    static func stat(_ pid: Int32) -> ProcFS.Stat? {
        ProcFS.stat(pid)
    }

    /// Every process, with its stat line.
    static func all() -> [(pid: Int32, stat: ProcFS.Stat)] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name), let stat = ProcFS.stat(pid) else { return nil }
            return (pid, stat)
        }
    }

    static func children(of parent: Int32) -> [(pid: Int32, stat: ProcFS.Stat)] {
        all().filter { $0.stat.parentPID == parent }
    }

    /// Processes whose group or session is one of `groups` (an instance's pgid is its pid).
    static func members(ofGroups groups: Set<Int32>) -> [(pid: Int32, stat: ProcFS.Stat)] {
        all().filter { groups.contains($0.stat.processGroup) || groups.contains($0.stat.session) }
    }

    /// No process with this pid exists any more (reaped, not a zombie).
    static func isGone(_ pid: Int32) -> Bool {
        stat(pid) == nil
    }

    /// Polls /proc (every 20 ms) until `condition` holds or `timeout` passes; whether it held.
    static func waitUntil(timeout: Double = Deadline.event, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
        (try? await offThread {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if condition() { return true }
                usleep(20_000)
            }
            return condition()
        }) ?? false
    }

    /// The cgroup v2 hierarchy bulkhead tracks instances with (pure v2, or hybrid's `unified`).
    static var hasTrackingCgroup: Bool {
        FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
            || FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs")
    }

    /// A memory controller bulkhead can put a limit on (v1 `memory`, or v2 with `memory` on).
    static var hasMemoryCgroup: Bool {
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/cgroup.procs") { return true }
        let controllers = (try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8)) ?? ""
        return controllers.split(separator: " ").contains { $0.hasPrefix("memory") }
    }
}

/// Runs a test body against a started daemon and, whatever happens in it, stops the daemon
/// with SIGTERM before returning, so a failing test leaves no worker behind (the harness's own
/// clean-up is a SIGKILL, which leaves every worker running in its own session).
/// `prepare` runs before the daemon starts (files the config names, say).
func withDaemon<T>(_ yaml: String, name: String = #function, prepare: (DaemonHarness) throws -> Void = { _ in },
                   _ body: (DaemonHarness) async throws -> T) async throws -> T {
    let daemon = try DaemonHarness(yaml, name: name)
    try prepare(daemon)
    try await daemon.launch()
    do {
        let result = try await body(daemon)
        try await daemon.shutdown()
        return result
    } catch {
        _ = try? await daemon.shutdown()
        throw error
    }
}

/// The path of a system tool, or nil when this machine lacks it.
func tool(_ path: String) -> String? {
    FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

/// `2026-11-29T14:03:27.412Z`, as crash reports and `status --json` write times: the daemon's
/// own clock, for checks that must not depend on when a loaded test thread looked.
func reportInstant(_ value: Any?) -> Date? {
    guard let text = value as? String else { return nil }
    let format = ISO8601DateFormatter()
    format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return format.date(from: text) ?? {
        format.formatOptions = [.withInternetDateTime]
        return format.date(from: text)
    }()
}
