import BulkheadSystem
import Foundation
import Glibc
import Testing

/// `bulkhead reexec` (SPEC §5, §10): the daemon runs a new binary in its own process. The pid
/// stays, so workers stay its children and keep running; every death is counted once across the
/// exec, every output line arrives once, clients get their answers; a binary that is missing,
/// not executable or does not start is refused and the daemon runs on unchanged.
@Suite("Re-exec in place")
struct ReexecTests {
    /// N of a `restart #N now` line.
    static func restartNumber(_ line: String) -> Int? {
        guard let range = line.range(of: "restart #") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// `bulkhead status` over and over from another thread while `body` runs: every answer must
    /// come, and be an answer (exit 0), however the exec falls.
    static func whileAsking<T>(_ daemon: DaemonHarness, _ body: () async throws -> T) async throws -> (T, asked: Int, failures: [String]) {
        let asking = Asker(daemon)
        let result = try await body()
        let (asked, failures) = asking.stop()
        return (result, asked, failures)
    }

    final class Asker: @unchecked Sendable {
        private let lock = NSLock()
        private var running = true
        private var asked = 0
        private var failures: [String] = []
        private var done = false

        init(_ daemon: DaemonHarness) {
            let thread = Thread { [self] in
                while isRunning {
                    let started = Date()
                    let result = try? daemon.cli(["status"])
                    lock.lock()
                    asked += 1
                    if result?.code != 0 {
                        failures.append("exit \(result?.code ?? -1) after \(Date().timeIntervalSince(started))s: \(result?.stderr ?? "no result")")
                    }
                    lock.unlock()
                }
                lock.lock()
                done = true
                lock.unlock()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }

        private var isRunning: Bool {
            lock.lock()
            defer { lock.unlock() }
            return running
        }

        func stop() -> (Int, [String]) {
            lock.lock()
            running = false
            lock.unlock()
            while true {
                lock.lock()
                let finished = done
                lock.unlock()
                if finished { break }
                usleep(2_000)
            }
            lock.lock()
            defer { lock.unlock() }
            return (asked, failures)
        }
    }

    @Test("under a crash storm: same pid, healthy workers untouched, every death counted once, clients answered")
    func crashStorm() async throws {
        try await withDaemon("""
        defaults: { backtrace: false }
        workers:
          - name: steady
            command: [{{crashlab}}, --hang]
            instances: 3
          - name: storm
            command: [{{crashlab}}, --exit, "1", --after, 20ms]
            instances: 50
            backoff: { initial: 0s, jitter: 0 }
            crash_loop: { max_restarts: 100000, window: 1m, same_crash: 0 }
        """) { daemon in
            let before = try await daemon.status(what: "the storm under way") { s in
                (0..<3).allSatisfy { s["steady:\($0)"]?["state"] as? String == "running" }
                    && (s["storm:0"]?["restarts"] as? Int ?? 0) >= 3
            }
            let (reply, asked, failures) = try await Self.whileAsking(daemon) {
                try await daemon.command(["reexec", "--json"])
            }
            #expect(reply.code == 0, "\(reply.stderr)")
            let answer = try JSONSerialization.jsonObject(with: Data(reply.stdout.utf8)) as? [String: Any]
            #expect(answer?["pid"] as? Int == Int(daemon.daemonPID), "\(reply.stdout)")
            #expect(asked > 0)
            #expect(failures.isEmpty, "status during the exec: \(failures.prefix(3))")
            let stormBefore = before["storm:0"]?["restarts"] as? Int ?? 0
            let after = try await daemon.status(what: "the storm goes on after the exec") { s in
                (s["storm:0"]?["restarts"] as? Int ?? 0) >= stormBefore + 3
            }
            for i in 0..<3 {
                #expect(after["steady:\(i)"]?["pid"] as? Int == before["steady:\(i)"]?["pid"] as? Int, "steady:\(i) was restarted")
                #expect(after["steady:\(i)"]?["started_at"] as? String == before["steady:\(i)"]?["started_at"] as? String)
            }
            // Stop the storm; once every instance is down, each spawn had exactly one exit.
            _ = try await daemon.command(["stop", "storm"])
            try await daemon.status(what: "the storm stopped") { s in
                (0..<50).allSatisfy { s["storm:\($0)"]?["state"] as? String == "stopped" }
            }
            let stopped = try await daemon.instances()
            for i in 0..<50 {
                // Policy's count went across the exec: restarts #1, #2, … each once, none
                // skipped or doubled, and status says as many.
                let numbers = daemon.events("restart", of: "storm:\(i)").compactMap(Self.restartNumber).sorted()
                #expect(numbers == Array(1..<numbers.count + 1), "storm:\(i): restarts \(numbers)")
                #expect(stopped["storm:\(i)"]?["restarts"] as? Int == numbers.count, "storm:\(i): \(numbers.count) restart lines")
            }
            #expect(try await daemon.shutdown() == 0)
            // Every death is told once: by an exit line of its own, or folded into a storm's
            // `repeated N times` line (those pending at the exec are said before it).
            let exitLines = daemon.events("exit").filter { $0.hasPrefix("storm:") }
            let summaries = exitLines.filter { $0.contains(" * exit: repeated ") }
            let told = exitLines.count - summaries.count + summaries.compactMap(CrashStormTests.repeats).reduce(0, +)
            let spawned = daemon.events("spawn").filter { $0.hasPrefix("storm:") }.count
            #expect(told == spawned, "\(spawned) spawns, \(told) deaths told")
            #expect(daemon.events("output-dropped").isEmpty, "lines were dropped: the counts above may not hold")
        }
    }

    @Test("under an output flood: every line arrives once, whole and in order")
    func outputFlood() async throws {
        let lines = 200_000
        let pause = 100_000
        try await withDaemon("""
        workers:
          - name: flood
            command: [/bin/sh, -c, "while [ ! -e {{dir}}/go ]; do sleep 0.05; done; exec {{crashlab}} --flood \(lines) --flood-pause-at \(pause) --exit 0"]
            restart: never
        """) { daemon in
            try await daemon.next("flood:0", "spawn")
            _ = FileManager.default.createFile(atPath: daemon.directory + "/go", contents: nil)
            // The flood stops itself with half of line `pause` written (a whole flood is over in
            // less time than the new binary's check takes): the exec surely comes in its middle,
            // with half a line in the line splitter, and the rest comes after it.
            let flooder = Int32(try #require((try await daemon.instances())["flood:0"]?["pid"] as? Int))
            try await daemon.nextLine(timeout: 120, what: "the flood paused") { $0.hasPrefix("flood:0 | flood 0\(pause - 1)/") }
            let reply = try await daemon.command(["reexec"])
            kill(flooder, SIGCONT)
            #expect(reply.code == 0, "\(reply.stderr)")
            try await daemon.status(what: "the flood done", timeout: 300) { $0["flood:0"]?["state"] as? String == "stopped" }
            // The exit line follows every flood line through bulkhead's output: on a loaded
            // machine the reader may be far behind the status.
            try await daemon.next("flood:0", "exit", timeout: 300)
            // What arrived at the reader: each line once, in order, whole.
            var next = 1
            var problems: [String] = []
            for line in daemon.output where line.hasPrefix("flood:0 | flood ") {
                let text = line.dropFirst("flood:0 | ".count)
                let parts = text.split(separator: " ", maxSplits: 2)
                guard parts.count >= 2, let number = Int(parts[1].split(separator: "/").first ?? ""), text.utf8.count == 63 else {
                    problems.append("torn: \(text.prefix(80))")
                    continue
                }
                if number != next { problems.append("line \(number) where \(next) was due") }
                next = number + 1
            }
            // The exec came in the middle of the flood, not after it.
            let output = daemon.output
            let exec = try #require(output.firstIndex { $0.contains("reexec: running") })
            let before = output[..<exec].filter { $0.hasPrefix("flood:0 | ") }.count
            #expect(before == pause - 1, "\(before) of \(lines) lines came before the exec")
            #expect(daemon.events("output-dropped").isEmpty, "output was dropped")
            #expect(next - 1 == lines, "\(next - 1) of \(lines) lines arrived")
            #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(5))")
        }
    }

    @Test("SIGUSR2 does the same, said in the log")
    func bySignal() async throws {
        try await withDaemon("""
        workers:
          - name: one
            command: [{{crashlab}}, --hang]
        """) { daemon in
            let before = try await daemon.status(what: "one running") { $0["one:0"]?["state"] as? String == "running" }
            let mark = daemon.mark
            kill(daemon.daemonPID, SIGUSR2)
            try await daemon.nextLine(after: mark, what: "the re-exec done") { $0.contains("reexec done: bulkhead") }
            let after = try await daemon.instances()
            #expect(after["one:0"]?["pid"] as? Int == before["one:0"]?["pid"] as? Int)
        }
    }

    @Test("/metrics counters go on across a re-exec: deaths, restarts and output lines are not reset")
    func metricsCarriedOver() async throws {
        try await withDaemon("""
        workers:
          - name: flaky
            command: [/bin/sh, -c, 'echo starting; exec {{crashlab}} --exit 1 --after 50ms']
            backoff: { initial: 50ms, max: 50ms, jitter: 0 }
            crash_loop: { max_restarts: 1000, same_crash: 0 }
        """) { daemon in
            var after = 0
            for _ in 0..<3 { after = try await daemon.next("flaky:0", "exit", after: after).index + 1 }
            #expect(try await daemon.command(["stop", "flaky"]).code == 0)
            _ = try await daemon.status(what: "flaky stopped") { $0["flaky:0"]?["state"] as? String == "stopped" }
            func counters() async throws -> [String] {
                let metrics = try await daemon.command(["metrics"])
                return metrics.stdout.split(separator: "\n").map(String.init).filter {
                    ($0.hasPrefix("bulkhead_worker_deaths_total{") || $0.hasPrefix("bulkhead_worker_restarts_total{")
                        || $0.hasPrefix("bulkhead_output_lines_total{")) && $0.contains("flaky")
                }.sorted()
            }
            let before = try await counters()
            #expect(before.contains { $0.hasPrefix("bulkhead_worker_restarts_total{") && !$0.hasSuffix(" 0") }, "\(before)")
            #expect(before.contains { $0.hasPrefix("bulkhead_output_lines_total{") && $0.contains("stdout") && !$0.hasSuffix(" 0") }, "\(before)")
            let mark = daemon.mark
            #expect(try await daemon.command(["reexec"]).code == 0)
            try await daemon.nextLine(after: mark, what: "the re-exec done") { $0.contains("reexec done: bulkhead") }
            #expect(try await counters() == before)
        }
    }

    @Test("a binary that is missing, not executable or no daemon: refused, the daemon unchanged", arguments: ["missing", "not executable", "exits at once", "prints nothing useful"])
    func refusedBinaries(_ kind: String) async throws {
        try await withDaemon("""
        workers:
          - name: one
            command: [{{crashlab}}, --hang]
        """) { daemon in
            let before = try await daemon.status(what: "one running") { $0["one:0"]?["state"] as? String == "running" }
            let path = daemon.directory + "/new-daemon"
            switch kind {
            case "missing": break
            case "not executable": try "#!/bin/sh\nexit 0\n".write(toFile: path, atomically: true, encoding: .utf8)
            case "exits at once":
                try "#!/bin/sh\nexit 3\n".write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o755)
            default:
                try "#!/bin/sh\necho hello\n".write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o755)
            }
            let reply = try await daemon.command(["reexec", "--binary", path])
            #expect(reply.code == 1, "\(kind): \(reply.stdout)")
            #expect(reply.stderr.contains("keeps running unchanged"), "\(reply.stderr)")
            let after = try await daemon.instances()
            #expect(after["one:0"]?["pid"] as? Int == before["one:0"]?["pid"] as? Int)
            let ping = try await daemon.command(["status"])
            #expect(ping.code == 0)
            // And a good re-exec still works afterwards.
            let good = try await daemon.command(["reexec"])
            #expect(good.code == 0, "\(good.stderr)")
        }
    }
}
