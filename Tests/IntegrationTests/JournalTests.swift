import Foundation
import Glibc
import Testing

/// SPEC §6 with a real journald: the one `scripts/with-journald` starts in a private mount
/// namespace (the tests see BULKHEAD_TEST_JOURNALD=1). Every test names its workers uniquely
/// and reads back only their entries (`journalctl --sync`, then `journalctl -o json`).
@Suite("journald: structured entries", .enabled(if: JournalReader.available, "no private journald: run the tests with scripts/with-journald (scripts/test does)"))
struct JournalTests {
    @Test("every worker line is one entry with its worker, instance, stream and priority")
    func workerLines() async throws {
        let name = JournalReader.uniqueName("lines")
        let daemon = try JournalDaemon("""
        output: { journal: "on" }
        workers:
          - name: \(name)
            command:
              - /bin/sh
              - -c
              - |
                printf 'plain\\n<2>critical\\n<7>debug\\n'
                printf 'to stderr\\n<4>warning on stderr\\n' >&2
                printf '\\377\\376 not utf-8\\n'
                head -c 40000 /dev/zero | tr '\\000' x; echo
                exec sleep 1000
        """)
        try await daemon.launch()
        defer { daemon.stop() }
        let lines = try await JournalReader.wait(["BULKHEAD_WORKER=\(name)"], what: "8 lines of \(name)") {
            $0.filter { $0["BULKHEAD_STREAM"] != nil }.count >= 8
        }.filter { $0["BULKHEAD_STREAM"] != nil }

        func entry(_ message: String) -> [String: Any]? {
            lines.first { $0["MESSAGE"] as? String == message }
        }
        for (message, stream, priority) in [
            ("plain", "stdout", "6"), ("critical", "stdout", "2"), ("debug", "stdout", "7"),
            ("to stderr", "stderr", "3"), ("warning on stderr", "stderr", "4"),
        ] {
            let e = try #require(entry(message), "no entry \"\(message)\" in \(lines.map { $0["MESSAGE"] ?? "?" })")
            #expect(e["BULKHEAD_STREAM"] as? String == stream, "\(message)")
            #expect(e["PRIORITY"] as? String == priority, "\(message)")
            #expect(e["SYSLOG_IDENTIFIER"] as? String == name)
            #expect(e["BULKHEAD_WORKER"] as? String == name)
            #expect(e["BULKHEAD_INSTANCE"] as? String == "\(name):0")
            #expect(e["MESSAGE_ID"] == nil, "worker lines carry no MESSAGE_ID")
        }
        // Not UTF-8: stored as the bytes it was (journalctl's JSON gives a byte array).
        let binary = lines.first { $0["MESSAGE"] is [Any] }
        #expect((binary?["MESSAGE"] as? [Int]) == [255, 254] + Array(" not utf-8".utf8).map(Int.init), "\(String(describing: binary))")
        // 40000 bytes: cut at bulkhead's 32 KiB line limit into two entries.
        let long = lines.compactMap { $0["MESSAGE"] as? String }.filter { $0.hasPrefix("xxxx") }.map(\.count)
        #expect(long == [32768, 40000 - 32768], "\(long)")

        let spawn = try #require(try JournalReader.entries(["BULKHEAD_WORKER=\(name)", "BULKHEAD_EVENT=spawn"]).first)
        #expect(spawn["SYSLOG_IDENTIFIER"] as? String == "bulkhead")
        #expect(spawn["MESSAGE_ID"] as? String == "b03cf9e8ada94df083f4bb9b01794472")
        #expect(spawn["BULKHEAD_INSTANCE"] as? String == "\(name):0")
        #expect(Int32(spawn["BULKHEAD_PID"] as? String ?? "") ?? 0 > 0)
        #expect(spawn["PRIORITY"] as? String == "6")
        #expect(!daemon.stderrText.contains("plain"), "with the journal on, worker lines are not on stderr too")
    }

    @Test("output: journal-direct: the worker's own stream to journald, its pid recorded, no pipe through bulkhead")
    func journalDirect() async throws {
        let name = JournalReader.uniqueName("direct")
        let daemon = try JournalDaemon("""
        output: { journal: "on" }
        workers:
          - name: \(name)
            output: journal-direct
            command: [/bin/sh, -c, "echo hello from $BULKHEAD_INSTANCE; echo '<3>bad news' >&2; echo plain on stderr >&2; exec sleep 1000"]
        """)
        try await daemon.launch()
        defer { daemon.stop() }
        let lines = try await JournalReader.wait(["SYSLOG_IDENTIFIER=\(name)"], what: "3 lines of \(name)") { $0.count >= 3 }
        let spawn = try #require(try JournalReader.entries(["BULKHEAD_WORKER=\(name)", "BULKHEAD_EVENT=spawn"]).first)
        let pid = spawn["BULKHEAD_PID"] as? String
        func entry(_ message: String) -> [String: Any]? {
            lines.first { $0["MESSAGE"] as? String == message }
        }
        for (message, priority) in [("hello from \(name):0", "6"), ("bad news", "3"), ("plain on stderr", "6")] {
            let e = try #require(entry(message), "no entry \"\(message)\" in \(lines.map { $0["MESSAGE"] ?? "?" })")
            #expect(e["PRIORITY"] as? String == priority, "\(message): the one stream is priority 6 but for a <N> prefix")
            #expect(e["_TRANSPORT"] as? String == "stdout")
            #expect(e["_PID"] as? String == pid, "journald recorded pid \(e["_PID"] ?? "none"), the worker is \(pid ?? "?")")
            #expect(e["BULKHEAD_STREAM"] == nil, "not through bulkhead")
        }
        // bulkhead read none of it: its log buffer for the instance is empty.
        let logs = try await daemon.harness.command(["logs", "\(name):0", "-n", "10", "--json"])
        #expect(!logs.stdout.contains("hello from"), "\(logs.stdout)")
    }

    @Test("a crash entry has the crash MESSAGE_ID, its class, signal and crash id")
    func crashEntry() async throws {
        let name = JournalReader.uniqueName("crash")
        let other = JournalReader.uniqueName("exit")
        let daemon = try JournalDaemon("""
        output: { journal: "on" }
        workers:
          - name: \(name)
            command: [{{crashlab}}, --die, fatal-error, --after, 200ms]
            restart: never
          - name: \(other)
            command: [{{crashlab}}, --exit, "3", --after, 200ms]
            restart: never
        """)
        try await daemon.launch()
        defer { daemon.stop() }
        let crashes = try await JournalReader.wait(["MESSAGE_ID=02b2d4ceaade4a9ebee1be8a9efd8ade", "BULKHEAD_WORKER=\(name)"], what: "the crash entry") {
            !$0.isEmpty
        }
        #expect(crashes.count == 1)
        let crash = try #require(crashes.first)
        #expect(crash["SYSLOG_IDENTIFIER"] as? String == "bulkhead")
        #expect(crash["BULKHEAD_EVENT"] as? String == "exit")
        #expect(crash["BULKHEAD_CLASS"] as? String == "crash")
        #expect(["ILL", "TRAP"].contains(crash["BULKHEAD_SIGNAL"] as? String ?? ""), "\(crash)")
        #expect(crash["BULKHEAD_EXIT_CODE"] == nil)
        #expect(crash["BULKHEAD_RESTARTS"] as? String == "0")
        #expect(crash["PRIORITY"] as? String == "3")
        #expect(crash["BULKHEAD_INSTANCE"] as? String == "\(name):0")
        #expect(Int32(crash["BULKHEAD_PID"] as? String ?? "") ?? 0 > 0)
        let id = try #require(crash["BULKHEAD_CRASH_ID"] as? String)
        #expect(FileManager.default.fileExists(atPath: "\(daemon.harness.crashDirectory)/\(id).json"), "no report \(id)")
        #expect((crash["MESSAGE"] as? String)?.contains("killed by SIG") == true, "\(crash["MESSAGE"] ?? "")")

        let failed = try await JournalReader.wait(["BULKHEAD_WORKER=\(name)", "BULKHEAD_EVENT=failed"], what: "failed") { !$0.isEmpty }
        #expect(failed.first?["MESSAGE_ID"] as? String == "6ee72dfff5b6486fbe9429dacfcecbaf")
        #expect(failed.first?["PRIORITY"] as? String == "2")

        let exits = try await JournalReader.wait(["BULKHEAD_WORKER=\(other)", "BULKHEAD_EVENT=exit"], what: "exit 3") { !$0.isEmpty }
        #expect(exits.first?["BULKHEAD_EXIT_CODE"] as? String == "3")
        #expect(exits.first?["BULKHEAD_CLASS"] as? String == "transient")
        #expect(exits.first?["BULKHEAD_SIGNAL"] == nil)
        #expect(exits.first?["MESSAGE_ID"] as? String == "17e5236690d449c98d48ed47f5b8afbf")
        #expect(exits.first?["PRIORITY"] as? String == "4")
    }

    @Test("bulkhead logs reads the journal (and still does once the daemon is gone)")
    func logsFromJournal() async throws {
        let name = JournalReader.uniqueName("logs")
        let daemon = try JournalDaemon("""
        output: { journal: "on", buffer_lines: 1 }
        workers:
          - name: \(name)
            command: [/bin/sh, -c, 'for i in 1 2 3 4 5; do echo "logline $i"; done; echo "<3>bad news" >&2; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done']
        """)
        try await daemon.launch()
        defer { daemon.stop() }
        _ = try await JournalReader.wait(["BULKHEAD_WORKER=\(name)", "MESSAGE=tick 1"], what: "tick 1") { !$0.isEmpty }

        // The daemon's buffer holds one line; five come back, so they came from the journal.
        let all = try await daemon.cli(["logs", name, "-n", "100000"])   // ticks keep coming
        #expect(all.code == 0, "\(all.stderr)")
        let text = all.stdout.split(separator: "\n").map(String.init)
        #expect(text.filter { $0.contains("logline") }.count == 5, "\(text)")
        #expect(text.contains { $0.hasSuffix("\(name):0 | logline 1") }, "\(text)")
        #expect(text.contains { $0.hasSuffix("\(name):0 ! bad news") }, "\(text)")
        #expect(!text.contains { $0.contains("spawn") }, "supervisor events are not worker output")

        let json = try await daemon.cli(["logs", "\(name):0", "-n", "3", "--json"])
        let objects = json.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        #expect(objects.count == 3, "\(json.stdout) \(json.stderr)")
        #expect(objects.allSatisfy { $0["instance"] as? String == "\(name):0" && $0["priority"] != nil && $0["at"] is String })

        // -f: the backlog, then new lines as they come: three more ticks after the first, each
        // in turn (however long a loaded machine takes for them).
        let follower = try StreamingProcess(Products.path("bulkhead"), ["logs", name, "-n", "1", "-f", "--socket", daemon.harness.socketPath])
        defer { follower.kill() }
        let ticks = try await offThread { () -> [Int] in
            func tick(_ line: String) -> Int? {
                line.range(of: "| tick ").flatMap { Int(line[$0.upperBound...]) }
            }
            guard let first = follower.waitForLine(timeout: Deadline.event, { tick($0) != nil }).flatMap(tick) else { return [] }
            _ = follower.waitForLine(timeout: Deadline.event) { (tick($0) ?? 0) >= first + 3 }
            return follower.output.compactMap(tick)
        }
        #expect(ticks.count >= 4, "\(follower.output)")
        #expect(ticks == Array((ticks.first ?? 0)..<((ticks.first ?? 0) + ticks.count)), "followed ticks not one after another: \(ticks)")

        daemon.stop()
        let after = try await daemon.cli(["logs", name, "-n", "2"])
        #expect(after.code == 0, "\(after.stderr)")
        #expect(after.stdout.split(separator: "\n").count == 2, "\(after.stdout)")
        #expect(after.stderr.contains("from the journal"), "\(after.stderr)")
    }

    @Test("output.journal: auto uses journald exactly when stderr is the journal stream")
    func autoDetection() async throws {
        for connected in [true, false] {
            let name = JournalReader.uniqueName(connected ? "auto" : "text")
            let daemon = try JournalDaemon("""
            workers:
              - name: \(name)
                command: [{{crashlab}}, --print, "hello from \(name)"]
                restart: never
            """)
            try await daemon.launch(journalStream: connected)
            defer { daemon.stop() }
            if connected {
                _ = try await JournalReader.wait(["BULKHEAD_WORKER=\(name)", "MESSAGE=hello from \(name)"], what: "the line in the journal") { !$0.isEmpty }
                #expect(!daemon.stderrText.contains("hello from"))
            } else {
                #expect(await Processes.waitUntil { daemon.stderrText.contains("\(name):0 | hello from \(name)") }, "\(daemon.stderrText)")
                #expect(try JournalReader.entries(["BULKHEAD_WORKER=\(name)"]).isEmpty)
            }
        }
    }
}

/// journalctl, as the tests read the journal back.
enum JournalReader {
    static var available: Bool {
        ProcessInfo.processInfo.environment["BULKHEAD_TEST_JOURNALD"] == "1"
            && FileManager.default.isExecutableFile(atPath: journalctl)
    }

    static let journalctl = FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl") ? "/usr/bin/journalctl" : "/bin/journalctl"

    /// A worker name no other test (or earlier run) uses.
    static func uniqueName(_ prefix: String) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "j\(prefix)-" + String((0..<8).map { _ in letters.randomElement()! })
    }

    /// Every entry matching all `matches` (FIELD=value), oldest first, after a --sync barrier.
    static func entries(_ matches: [String]) throws -> [[String: Any]] {
        _ = try run(["--sync"])
        let out = try run(["-o", "json", "--all", "--no-pager"] + matches)
        return out.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// Polls until `condition` holds for the entries matching `matches`.
    static func wait(_ matches: [String], timeout: Double = Deadline.event, what: String,
                     _ condition: @escaping @Sendable ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        try await offThread {
            let deadline = Date().addingTimeInterval(timeout)
            var last: [[String: Any]] = []
            while Date() < deadline {
                last = try entries(matches)
                if condition(last) { return Handed(value: last) }
                usleep(50_000)
            }
            throw IntegrationFailure("journal: no \(what) for \(matches) in \(timeout) s; have \(last.count) entries: \(last.map { $0["MESSAGE"] ?? "?" })")
        }.value
    }

    static func run(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: journalctl)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The real daemon when its output goes to the journal: its stderr stays (nearly) empty, so it
/// counts as started once its control socket answers, not at its first stderr line.
final class JournalDaemon: @unchecked Sendable {
    let harness: DaemonHarness
    private var process: Process?
    private let lock = NSLock()
    private var stderrData = Data()

    init(_ yaml: String, name: String = #function) throws {
        harness = try DaemonHarness(yaml, name: name)
    }

    /// Starts it; with `journalStream`, JOURNAL_STREAM names its stderr pipe as systemd would.
    /// With `sandbox`, it runs in that sandbox's mount namespace, so it talks to that journald.
    func launch(journalStream: Bool = false, sandbox: JournaldSandbox? = nil) async throws {
        try await offThread { try self.start(journalStream: journalStream, sandbox: sandbox) }
    }

    private func start(journalStream: Bool, sandbox: JournaldSandbox?) throws {
        let p = Process()
        let arguments = ["daemon", "--config", harness.configPath, "--socket", harness.socketPath, "--no-timestamps"]
        if let sandbox {
            // nsenter execs the daemon once it has joined the namespace: the same pid.
            p.executableURL = URL(fileURLWithPath: JournaldSandbox.nsenter)
            p.arguments = ["--target", "\(sandbox.namespacePID)", "--mount", "--", Products.path("bulkhead")] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: Products.path("bulkhead"))
            p.arguments = arguments
        }
        let err = Pipe()
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "WATCHDOG_USEC")
        env.removeValue(forKey: "JOURNAL_STREAM")
        var info = stat()
        if journalStream, fstat(err.fileHandleForWriting.fileDescriptor, &info) == 0 {
            env["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        } else {
            env["JOURNAL_STREAM"] = "1:1"   // set, but not our stderr: must not count
        }
        p.environment = env
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else {
                handle.readabilityHandler = nil   // end of file: or it is called again and again
                return
            }
            lock.lock()
            stderrData.append(chunk)
            lock.unlock()
        }
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(Deadline.event)
        while Date() < deadline {
            if !p.isRunning { throw IntegrationFailure("the daemon exited at start: \(stderrText)") }
            if FileManager.default.fileExists(atPath: harness.socketPath), (try? harness.cli(["status"]))?.code == 0 { return }
            usleep(50_000)
        }
        throw IntegrationFailure("the daemon did not answer on \(harness.socketPath): \(stderrText)")
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }

    var stderrText: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: stderrData, as: UTF8.self)
    }

    func cli(_ arguments: [String]) async throws -> (code: Int32, stdout: String, stderr: String) {
        try await offThread { try self.harness.cli(arguments) }
    }

    /// SIGTERM and wait (SIGKILL after 60 s). Safe to call twice.
    func stop() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }
}
