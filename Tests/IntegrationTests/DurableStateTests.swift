import BulkheadSystem
import Foundation
import Glibc
import Testing

/// SPEC §10, issue 14: the daemon's knowledge outlives its process. kill -9 it with instances
/// running, quarantined, failed, stopped by the operator and behind an open breaker; start it
/// again: every decision holds, every running worker is adopted (same pid, output and notify
/// taken over), and no instance ever has two processes — checked in /proc all along.
@Suite("Durable state: a daemon killed and started again")
struct DurableStateTests {
    /// Every kind of instance a restart must not forget. `web` prints only when told (SIGUSR1),
    /// so nothing it writes meets the moment its output pipe has no reader.
    static func config(tag: String) -> String {
        """
        defaults:
          env: { BH_TAG: "\(tag)" }
          backtrace: false
        workers:
          - name: web
            command: [/bin/sh, -c, "trap 'echo web got USR1' USR1; while :; do sleep 1 & wait; done"]
            instances: 2
          - name: api
            command: [{{crashlab}}, --exit, "86"]
          - name: bad
            command: [{{crashlab}}, --exit, "78"]
          - name: cache
            command: [{{crashlab}}, --hang]
          - name: loop
            command: [{{crashlab}}, --exit, "1"]
            backoff: { initial: 0s, jitter: 0 }
            crash_loop: { max_restarts: 2, window: 1m, cooldown: 1h, same_crash: 0 }
        """
    }

    static func newTag() -> String {
        String(UUID().uuidString.prefix(12))
    }

    /// The daemon as the tests leave it before the kill: every verdict reached, on disk.
    static func bringToEveryState(_ daemon: DaemonHarness) async throws -> (crashID: String, before: [String: [String: Any]]) {
        let quarantined = try await daemon.next("api:0", "exit", containing: ["corruption"])
        let crashID = try #require(DaemonHarness.crashID(in: quarantined.line))
        try await daemon.next("bad:0", "failed")
        try await daemon.next("loop:0", "breaker-open")
        let stopped = try await daemon.command(["stop", "cache"])
        #expect(stopped.code == 0, "\(stopped.stderr)")
        let before = try await daemon.status(what: "every state reached") { s in
            s["web:0"]?["state"] as? String == "running" && s["web:1"]?["state"] as? String == "running"
                && s["api:0"]?["state"] as? String == "quarantined" && s["bad:0"]?["state"] as? String == "failed"
                && s["cache:0"]?["state"] as? String == "stopped" && s["loop:0"]?["state"] as? String == "open"
        }
        // The state file trails the loop by a few milliseconds: wait until it holds all of it.
        let path = daemon.stateDir + "/state.json"
        let written = await Processes.waitUntil {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
            return ["\"quarantined\"", "\"failed\"", "\"open\""].allSatisfy(text.contains)
                && text.contains("\"cache:0\"") && Self.recordedState(path, "cache:0") == "stopped"
        }
        #expect(written, "the state file never held every verdict")
        return (crashID, before)
    }

    static func recordedState(_ path: String, _ instance: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = json["instances"] as? [[String: Any]] else { return nil }
        return list.first { $0["instance"] as? String == instance }?["state"] as? String
    }

    /// SIGKILL, and the harness sees the process end (its stderr closes) before a restart.
    static func killHard(_ daemon: DaemonHarness) async throws {
        kill(daemon.daemonPID, SIGKILL)
        try await daemon.nextLine(after: max(0, daemon.mark - 1), what: "the killed daemon's stderr to close") { $0 == "<<eof>>" }
    }

    @Test("kill -9, start again: verdicts, intent, counters and running workers are all kept, never two at once")
    func killedAndStartedAgain() async throws {
        let tag = Self.newTag()
        let daemon = try DaemonHarness(Self.config(tag: tag))
        try await daemon.launch()
        do {
            let (crashID, before) = try await Self.bringToEveryState(daemon)
            let census = InstanceCensus(tag: tag)
            try await Self.killHard(daemon)
            let restart = daemon.mark
            try await daemon.launch()
            try await daemon.nextLine(after: restart, what: "the leftover summary") {
                $0.contains("adopted 2, stopped 0 leftover workers from a previous run")
            }
            let after = try await daemon.instances()
            // A moment for anything that would start twice to show up in /proc.
            _ = await Processes.waitUntil(timeout: 1) { false }
            let seen = census.stop()
            #expect(seen.scans > 10, "the census hardly ran")
            for (instance, count) in seen.most {
                #expect(count <= 1, "\(instance) had \(count) processes at once: \(seen.example[instance] ?? [])")
            }
            for instance in ["web:0", "web:1", "api:0", "bad:0", "cache:0", "loop:0"] {
                #expect(after[instance]?["state"] as? String == before[instance]?["state"] as? String, "\(instance)")
                #expect(after[instance]?["restarts"] as? Int == before[instance]?["restarts"] as? Int, "\(instance) restarts")
            }
            for web in ["web:0", "web:1"] {
                #expect(after[web]?["pid"] as? Int == before[web]?["pid"] as? Int, "\(web) was not adopted")
                #expect(after[web]?["started_at"] as? String == before[web]?["started_at"] as? String, "\(web)'s uptime restarted")
            }
            #expect(after["cache:0"]?["wanted"] as? Bool == false, "the operator's stop was forgotten")
            // The quarantine's report is still there to read.
            let report = try await daemon.command(["crash", crashID])
            #expect(report.code == 0 && report.stdout.contains(crashID), "\(report.stderr)")
            // The adopted worker's output pipe is read again, and it is still supervised.
            let mark = daemon.mark
            _ = try await daemon.command(["signal", "web:1", "USR1"])
            try await daemon.nextLine(after: mark, what: "web:1's line after adoption") { $0 == "web:1 | web got USR1" }
            let stop = try await daemon.command(["stop", "web:0"])
            #expect(stop.code == 0)
            try await daemon.status(what: "the adopted web:0 stopped") { $0["web:0"]?["state"] as? String == "stopped" }
            #expect(Processes.isGone(Int32(before["web:0"]?["pid"] as? Int ?? 0)) || Processes.stat(Int32(before["web:0"]?["pid"] as? Int ?? 0))?.state == "Z")
            #expect(try await daemon.shutdown() == 0)
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
    }

    /// A decision is written at once, not after the state writer's pause (50 ms, more for a big
    /// document): killed the moment `bulkhead stop` was done, the daemon still knows.
    @Test("kill -9 right after `bulkhead stop`: the stop is kept")
    func stopThenKilledAtOnce() async throws {
        let daemon = try DaemonHarness("""
        workers:
          - name: one
            command: [/bin/sleep, "1000"]
            instances: 2
        """)
        try await daemon.launch()
        do {
            try await daemon.status(what: "both running") { $0["one:0"]?["state"] as? String == "running" && $0["one:1"]?["state"] as? String == "running" }
            #expect(try await daemon.command(["stop", "one:1"]).code == 0)
            try await daemon.status(what: "one:1 stopped") { $0["one:1"]?["state"] as? String == "stopped" }
            try await Self.killHard(daemon)
            let restart = daemon.mark
            try await daemon.launch()
            try await daemon.nextLine(after: restart, what: "the leftover summary") { $0.contains("leftover workers from a previous run") }
            let after = try await daemon.instances()
            #expect(after["one:1"]?["wanted"] as? Bool == false, "the operator's stop was forgotten: \(after["one:1"] ?? [:])")
            #expect(after["one:1"]?["state"] as? String == "stopped")
            #expect(try await daemon.shutdown() == 0)
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
    }

    @Test("a second daemon on the same state directory refuses to start, in one sentence")
    func oneDaemonPerStateDirectory() async throws {
        try await withDaemon("""
        workers:
          - name: one
            command: [{{crashlab}}, --hang]
        """) { daemon in
            let second = try await offThread {
                try Products.run("bulkhead", ["daemon", "--config", daemon.configPath, "--socket", daemon.directory + "/other.sock"],
                                 timeout: 30)
            }
            #expect(second.code == 1)
            #expect(second.stderr.contains("is already running with the state directory"), "\(second.stderr)")
            #expect(second.stderr.split(separator: "\n").count == 1, "\(second.stderr)")
        }
    }
}

@Suite("Durable state: a state file that cannot be trusted")
struct UntrustedStateTests {
    static func config(_ tag: String) -> String {
        """
        defaults:
          env: { BH_TAG: "\(tag)" }
          backtrace: false
        workers:
          - name: web
            command: [{{crashlab}}, --hang]
            instances: 2
        """
    }

    /// Runs web ×2, kills the daemon, does `damage` to the state file, starts it again: the
    /// leftovers are found in their cgroups and stopped before their instances start again,
    /// never two at once, and the file is moved aside.
    func restartAfter(_ damage: @escaping @Sendable (String) throws -> Void, name: String = #function) async throws -> DaemonHarness {
        let tag = DurableStateTests.newTag()
        let daemon = try DaemonHarness(Self.config(tag), name: name)
        try await daemon.launch()
        try await daemon.status(what: "web running") { $0["web:0"]?["state"] as? String == "running" && $0["web:1"]?["state"] as? String == "running" }
        _ = await Processes.waitUntil { FileManager.default.fileExists(atPath: daemon.stateDir + "/state.json") }
        try await DurableStateTests.killHard(daemon)
        try damage(daemon.stateDir + "/state.json")
        let census = InstanceCensus(tag: tag)
        let restart = daemon.mark
        try await daemon.launch()
        let moved = try await daemon.nextLine(after: restart, what: "the unusable state file moved aside") { $0.contains("moved aside to") }
        #expect(moved.line.contains("starts from the config alone"))
        try await daemon.status(what: "web running again") { $0["web:0"]?["state"] as? String == "running" && $0["web:1"]?["state"] as? String == "running" }
        let seen = census.stop()
        for (instance, count) in seen.most { #expect(count <= 1, "\(instance) had \(count) processes at once: \(seen.example[instance] ?? [])") }
        let aside = (try? FileManager.default.contentsOfDirectory(atPath: daemon.stateDir)) ?? []
        #expect(aside.contains { $0.hasPrefix("state.json.corrupt-") }, "\(aside)")
        return daemon
    }

    @Test("garbage in the state file")
    func garbage() async throws {
        let daemon = try await restartAfter { path in try Data("{not json at all".utf8).write(to: URL(fileURLWithPath: path)) }
        #expect(try await daemon.shutdown() == 0)
    }

    @Test("a truncated state file")
    func truncated() async throws {
        let daemon = try await restartAfter { path in
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        }
        #expect(try await daemon.shutdown() == 0)
    }

    @Test("an empty state file")
    func empty() async throws {
        let daemon = try await restartAfter { path in try Data().write(to: URL(fileURLWithPath: path)) }
        #expect(try await daemon.shutdown() == 0)
    }

    @Test("pids in the state file now used by unrelated processes: never signalled, the instances start fresh")
    func recycledPIDs() async throws {
        let tag = DurableStateTests.newTag()
        let daemon = try DaemonHarness(Self.config(tag))
        try await daemon.launch()
        try await daemon.status(what: "web running") { $0["web:0"]?["state"] as? String == "running" && $0["web:1"]?["state"] as? String == "running" }
        let path = daemon.stateDir + "/state.json"
        _ = await Processes.waitUntil { DurableStateTests.recordedState(path, "web:1") == "running" }
        // The daemon dies, its workers with it; unrelated processes come along.
        let workers = try await daemon.instances().values.compactMap { $0["pid"] as? Int }.map(Int32.init)
        try await DurableStateTests.killHard(daemon)
        for pid in workers { kill(pid, SIGKILL) }
        // Not holding the test runner's output (it waits for every writer), and ended with
        // SIGKILL: they inherit this process's blocked signals, SIGTERM among them.
        let strangers = try (0..<2).map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["1000"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        defer { for stranger in strangers { kill(stranger.processIdentifier, SIGKILL) } }
        let strangerStarts = strangers.map { Processes.stat($0.processIdentifier)?.startTime }
        // The state file now points at the strangers' pids (with the workers' start times).
        var text = try String(contentsOfFile: path, encoding: .utf8)
        for (worker, stranger) in zip(workers, strangers) {
            text = text.replacingOccurrences(of: "\"pid\": \(worker),", with: "\"pid\": \(stranger.processIdentifier),")
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let restart = daemon.mark
        try await daemon.launch()
        try await daemon.nextLine(after: restart, what: "the leftover summary") { $0.contains("adopted 0, stopped 0 leftover workers") }
        let after = try await daemon.status(what: "web running again") {
            $0["web:0"]?["state"] as? String == "running" && $0["web:1"]?["state"] as? String == "running"
        }
        for (stranger, start) in zip(strangers, strangerStarts) {
            #expect(stranger.isRunning, "an unrelated process was killed")
            #expect(Processes.stat(stranger.processIdentifier)?.startTime == start)
            #expect(!after.values.contains { $0["pid"] as? Int == Int(stranger.processIdentifier) }, "a stranger was taken for a worker")
        }
        #expect(try await daemon.shutdown() == 0)
        for stranger in strangers { #expect(stranger.isRunning, "an unrelated process was stopped with the daemon") }
    }
}
