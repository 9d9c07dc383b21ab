import Foundation
import Glibc
import Testing

/// Issue 20: `bulkhead init` as a container's PID 1, in a PID namespace of its own
/// (`unshare --pid --fork --mount-proc`, what a container runtime does; there is no Docker here).
/// One at a time: without a cgroup namespace of their own, daemons that are all PID 1 would
/// share a cgroup name below this process's cgroup.
@Suite("bulkhead init as a container's PID 1", .serialized)
struct ContainerInitTests {
    @Test("the command's exit code is bulkhead's, its output passes through unchanged")
    func exitCodePassesThrough() throws {
        let run = try ContainerRun(["--", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"])
        let code = try run.waitForExit(timeout: 60)
        #expect(code == 7)
        #expect(run.stdout.contains("to-stdout"))
        #expect(run.stderr.contains { $0 == "to-stderr" })
        #expect(run.stderr.contains { $0.hasPrefix("bulkhead: sh:0 exit: exited with code 7") })
    }

    @Test("a program that is not there: exit 127 and one sentence")
    func missingProgram() throws {
        let run = try ContainerRun(["--", "no-such-program-here"])
        #expect(try run.waitForExit(timeout: 60) == 127)
        #expect(run.stderr.contains { $0.contains("no-such-program-here: no such program") })
    }

    @Test("a crash says why and exits 128 + the signal")
    func crashSaysWhy() throws {
        let run = try ContainerRun(["--", Products.path("crashlab"), "--die", "fatal-error"])
        #expect(try run.waitForExit(timeout: 60) == 128 + SIGILL)
        let exit = run.stderr.first { $0.hasPrefix("bulkhead: crashlab:0 exit:") }
        #expect(exit?.contains("crash") == true, "\(run.stderr)")
        #expect(exit?.contains("Fatal error") == true, "the exit line names the fatal message: \(exit ?? "none")")
    }

    @Test("an orphaned grandchild that exits is reaped by PID 1: no zombie lingers")
    func orphansAreReaped() throws {
        // The subshell starts a sleep in the background and exits at once: the sleep is orphaned
        // to PID 1 (bulkhead), lives a moment (2 s: long enough to be seen on a loaded machine)
        // and exits. Its name is unique to this test.
        let marker = "2.\(Int.random(in: 100_000...999_999))"
        let run = try ContainerRun(["--", "/bin/sh", "-c", "(sleep \(marker) &); echo orphaned; exec sleep 600"])
        try run.waitForLine(timeout: 60) { $0 == "orphaned" }
        let orphan = try waitFor("the orphan to exist", timeout: 30) { Proc.pids(commandLine: ["sleep", marker]).first }
        #expect(try Proc.parent(of: orphan) == run.initPID, "orphaned to bulkhead, PID 1 of the namespace")
        // It sleeps ~2 s; once it has exited it must be reaped, not left a zombie.
        var zombieSince: Date?
        let deadline = Date().addingTimeInterval(30)
        while Proc.exists(orphan), Date() < deadline {
            if Proc.state(of: orphan) == "Z" {
                zombieSince = zombieSince ?? Date()
                #expect(Date().timeIntervalSince(zombieSince!) < 1.0, "a zombie for more than a second")
                if Date().timeIntervalSince(zombieSince!) >= 1.0 { break }
            }
            usleep(2_000)
        }
        #expect(!Proc.exists(orphan), "the orphan was reaped")
        kill(try run.initPID, SIGTERM)
        _ = try run.waitForExit(timeout: 60)
    }

    @Test("SIGTERM to PID 1 stops the command within stop timeout and passes its exit code on")
    func sigtermStopsAndPassesTheCodeOn() throws {
        let script = "trap 'echo stopping; exit 3' TERM; echo up; while :; do sleep 0.05; done"
        let run = try ContainerRun(["--stop-timeout", "5s", "--", "/bin/sh", "-c", script])
        try run.waitForLine(timeout: 60) { $0 == "up" }
        let sent = Date()
        kill(try run.initPID, SIGTERM)
        #expect(try run.waitForExit(timeout: 60) == 3)
        #expect(Date().timeIntervalSince(sent) < 5, "stopped by its own trap, well before the stop timeout")
        #expect(run.stdout.contains("stopping"))
    }

    @Test("a command that ignores SIGTERM is killed at the stop timeout: exit 137")
    func ignoredSigtermEndsInKill() throws {
        let run = try ContainerRun(["--stop-timeout", "1s", "--", "/bin/sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.05; done"])
        try run.waitForLine(timeout: 60) { $0 == "up" }
        let sent = Date()
        kill(try run.initPID, SIGTERM)
        #expect(try run.waitForExit(timeout: 60) == 128 + SIGKILL)
        #expect(Date().timeIntervalSince(sent) >= 0.9, "not killed before its stop timeout")
    }

    @Test("with a config: every worker, SIGTERM stops them all and exits 0, orphans reaped")
    func configForm() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/bh-init-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = """
        state_dir: \(directory)/state
        workers:
          - { name: web, command: [/bin/sh, -c, "echo web-up; exec sleep 600"], instances: 2 }
          - { name: flaky, command: [/bin/sh, -c, "exit 1"], backoff: { initial: 50ms } }
        """
        try config.write(toFile: directory + "/bulkhead.yaml", atomically: true, encoding: .utf8)
        let run = try ContainerRun(["--config", directory + "/bulkhead.yaml", "--no-timestamps"], socket: directory + "/control.sock")
        try run.waitForLine(timeout: 60) { $0.contains("flaky:0 * backoff") }
        let status = try Products.run("bulkhead", ["status", "--socket", directory + "/control.sock"])
        #expect(status.stdout.contains("web:1"), "status answers inside the container: \(status.stdout)")
        kill(try run.initPID, SIGTERM)
        #expect(try run.waitForExit(timeout: 60) == 0)
        #expect(run.stderr.contains { $0.contains("every worker stopped") })
    }

    @Test("--log-format json: one JSON object a line, the command's lines and bulkhead's events")
    func jsonLines() throws {
        let run = try ContainerRun(["--log-format", "json", "--", "/bin/sh", "-c", "echo '<4>careful'; exit 2"])
        #expect(try run.waitForExit(timeout: 60) == 2)
        let objects = run.stdout.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        #expect(objects.count == run.stdout.filter { !$0.isEmpty }.count, "every line is JSON: \(run.stdout)")
        let line = objects.first { $0["stream"] as? String == "stdout" }
        #expect(line?["message"] as? String == "careful")
        #expect(line?["priority"] as? Int == 4)
        let exit = objects.first { $0["event"] as? String == "exit" }
        #expect(exit?["instance"] as? String == "sh:0")
        #expect(exit?["class"] as? String == "transient")
        #expect(exit?["crash_id"] != nil)
    }
}

/// `bulkhead init ARGS` as PID 1 of a new PID namespace, its stdout and stderr read by lines.
final class ContainerRun: @unchecked Sendable {
    let process = Process()
    private let lock = NSCondition()
    private var outLines: [String] = []
    private var errLines: [String] = []
    private var open = 2
    let directory: String

    init(_ arguments: [String], socket: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.path + "/bh-init-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        let places = arguments.contains("--config") ? ["--socket", socket ?? directory + "/control.sock"]
            : ["--state-dir", directory + "/state", "--socket", socket ?? directory + "/control.sock"]
        process.arguments = ["--pid", "--fork", "--mount-proc", Products.path("bulkhead"), "init"] + places + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "JOURNAL_STREAM")
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        read(out.fileHandleForReading, stdout: true)
        read(err.fileHandleForReading, stdout: false)
    }

    private func read(_ handle: FileHandle, stdout: Bool) {
        Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.lock()
                    if stdout { outLines.append(line) } else { errLines.append(line) }
                    lock.broadcast()
                    lock.unlock()
                }
            }
            lock.lock()
            open -= 1
            lock.broadcast()
            lock.unlock()
        }.start()
    }

    var stdout: [String] { lock.lock(); defer { lock.unlock() }; return outLines }
    var stderr: [String] { lock.lock(); defer { lock.unlock() }; return errLines }

    /// bulkhead's pid outside the namespace: unshare's one child. Never -1 or 0, which `kill`
    /// would take as "every process" or "my group".
    var initPID: Int32 {
        get throws {
            try waitFor("bulkhead to start under unshare", timeout: 30) { Proc.children(of: self.process.processIdentifier).first { $0 > 1 } }
        }
    }

    /// A line on stdout or stderr.
    func waitForLine(timeout: Double, _ matches: (String) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while !(outLines + errLines).contains(where: matches) {
            guard open > 0, lock.wait(until: deadline) else {
                throw ContainerRunError("timed out waiting for a line; stdout \(outLines.suffix(20)), stderr \(errLines.suffix(20))")
            }
        }
    }

    /// unshare's exit code: bulkhead's (unshare passes it on), after both streams ended.
    func waitForExit(timeout: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            guard Date() < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ContainerRunError("bulkhead init did not exit; stderr \(stderr.suffix(20))")
            }
            usleep(5_000)
        }
        lock.lock()
        while open > 0 { _ = lock.wait(until: deadline.addingTimeInterval(5)) }
        lock.unlock()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }
}

struct ContainerRunError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `probe` until it gives a value; throws after `timeout` seconds.
func waitFor<T>(_ what: String, timeout: Double, _ probe: () -> T?) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = probe() { return value }
        usleep(2_000)
    }
    throw ContainerRunError("timed out waiting for \(what)")
}

/// What /proc says about processes (host pids).
enum Proc {
    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func exists(_ pid: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)/stat")
    }

    /// The state letter (`R`, `S`, `Z`, …) from /proc/PID/stat, after the command's parenthesis.
    static func state(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    static func pids(commandLine: [String]) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) } == commandLine
        }
    }
}
