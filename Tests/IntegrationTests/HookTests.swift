import Foundation
import Glibc
import Testing

/// Hooks (SPEC §11) with real programs: what a hook gets, a hook that never ends, and a rate
/// limit in a storm of a thousand crashes.
@Suite("Hooks")
struct HookTests {
    /// Waits for a file a hook writes (it renames it into place when complete).
    static func file(_ path: String, timeout: Double = Deadline.event) async -> Data? {
        _ = await Processes.waitUntil(timeout: timeout) { FileManager.default.fileExists(atPath: path) }
        return FileManager.default.contents(atPath: path)
    }

    @Test("a hook gets the event and the trap's whole crash report as JSON on stdin, BULKHEAD_* set; alerts reach hooks too")
    func trapReport() async throws {
        let daemon = try DaemonHarness("""
        workers:
          - name: trapper
            command: [{{crashlab}}, --die, force-unwrap, --after, 100ms]
            restart: never
        hooks:
          - name: keep
            on: [crash, alert]
            exec: [{{dir}}/keep.sh]
        alerts:
          - name: trapped
            when: { event: crash, worker: trapper, count: 1, within: 1m }
        """)
        let dir = daemon.directory
        try daemon.script("keep.sh", """
        cat > "\(dir)/in.$$"
        env | grep '^BULKHEAD_' | sort > "\(dir)/env.$$"
        nice > "\(dir)/hook-$BULKHEAD_EVENT.nice"
        mv "\(dir)/env.$$" "\(dir)/hook-$BULKHEAD_EVENT.env"
        mv "\(dir)/in.$$" "\(dir)/hook-$BULKHEAD_EVENT.json"
        """)
        try await daemon.launch()
        let exit = try await daemon.next("trapper:0", "exit", containing: ["crash"])
        let stored = try daemon.report(for: exit)
        let id = try #require(stored["id"] as? String)

        let data = try #require(await Self.file(dir + "/hook-exit.json"), "the hook never wrote its input")
        let input = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not one JSON object: \(String(decoding: data, as: UTF8.self))")
        #expect(input["event"] as? String == "exit")
        #expect(input["class"] as? String == "crash")
        #expect(input["instance"] as? String == "trapper:0")
        #expect(input["worker"] as? String == "trapper")
        #expect(input["crash_id"] as? String == id)
        #expect(input["hook"] as? String == "keep")
        #expect(input["suppressed"] as? Int == 0)
        #expect(input["time"] is String && input["seq"] is Int && input["message"] is String)
        let report = try #require(input["report"] as? [String: Any], "no report in \(input.keys.sorted())")
        #expect(report["id"] as? String == id)
        #expect((report["headline"] as? String)?.contains("nil") == true, "\(report["headline"] ?? "none")")
        #expect(report["fingerprint"] as? String == stored["fingerprint"] as? String)
        let sorted: ([String: Any]) throws -> Data = { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
        #expect(try sorted(report) == sorted(stored), "the report on stdin is the one stored")

        let env = String(decoding: try #require(await Self.file(dir + "/hook-exit.env")), as: UTF8.self).split(separator: "\n")
        for expected in ["BULKHEAD_EVENT=exit", "BULKHEAD_WORKER=trapper", "BULKHEAD_INSTANCE=trapper:0", "BULKHEAD_CRASH_ID=\(id)",
                         "BULKHEAD_HOOK=keep", "BULKHEAD_HOOK_SUPPRESSED=0"] {
            #expect(env.contains(Substring(expected)), "\(expected) not in \(env)")
        }

        // Below the workers (which start at the daemon's own value, the test's): never competing with restarts.
        errno = 0
        let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let nice = String(decoding: try #require(FileManager.default.contents(atPath: dir + "/hook-exit.nice")), as: UTF8.self)
        #expect(Int32(nice.trimmingCharacters(in: .whitespacesAndNewlines)) == min(own + 10, 19), "hook ran at nice \(nice), the workers at \(own)")

        let alertData = try #require(await Self.file(dir + "/hook-alert.json"), "the alert never reached the hook")
        let alert = try #require(try JSONSerialization.jsonObject(with: alertData) as? [String: Any])
        #expect(alert["alert"] as? String == "trapped")
        #expect(alert["worker"] as? String == "trapper")
        #expect(alert["priority"] as? Int == 2)
        try await daemon.next("trapper", "alert", containing: ["trapped firing"])
        #expect(try await daemon.metric(#"bulkhead_hook_runs_total{hook="keep",result="ok"}"#) == 2)
        try await daemon.shutdown()
    }

    @Test("a hook that sleeps forever is killed at its timeout, logged and counted; the worker restarts on time meanwhile")
    func hangingHook() async throws {
        let daemon = try DaemonHarness("""
        workers:
          - name: dier
            command: [{{crashlab}}, --die, abort, --after, 200ms]
            backtrace: false
            backoff: { initial: 100ms, max: 100ms, jitter: 0 }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        hooks:
          - name: sleeper
            on: [crash]
            exec: [{{dir}}/sleeper.sh]
            timeout: 3s
            concurrency: 1
        """)
        try daemon.script("sleeper.sh", "echo \"sleeping as $$\"\nexec sleep 1000")
        try await daemon.launch()
        let firstExit = try await daemon.next("dier:0", "exit")
        // The restart comes 100 ms after the death, while the hook sleeps on (its timeout is 3 s).
        let respawn = try await daemon.next("dier:0", "spawn", after: firstExit.index)
        let timedOut = try await daemon.nextLine(after: firstExit.index, what: "the hook's timeout") { $0.contains("hook sleeper for dier:0 exit timed out") }
        #expect(respawn.index < timedOut.index, "the restart waited for the hook")
        #expect(timedOut.line.contains("killed with its process group"))
        #expect(timedOut.line.contains("its last output: sleeping as"))
        // Deaths went on being restarted while the hook was stuck: several exits before its timeout.
        let exitsBefore = daemon.output[firstExit.index..<timedOut.index].filter { $0.hasPrefix("dier:0 * exit:") }.count
        #expect(exitsBefore >= 3, "only \(exitsBefore) deaths in the 3 s the hook was stuck")
        #expect(try await daemon.metric(#"bulkhead_hook_runs_total{hook="sleeper",result="timeout"}"#) ?? 0 >= 1)
        // The killed hook (and its sleep) is gone: nothing the daemon started lingers but the worker.
        let sleeperPID = Int32(timedOut.line.split(separator: " ").last { $0.allSatisfy(\.isNumber) } ?? "")
        if let sleeperPID { #expect(await Processes.waitUntil(timeout: 10) { Processes.isGone(sleeperPID) }) }
        try await daemon.shutdown()
    }

    @Test("1000 crashes in a minute run a rate 10/1m hook at most 10 times; the rest are counted, logged, and passed on")
    func rateLimitedStorm() async throws {
        let daemon = try DaemonHarness(ShellStorm.config(bottom: """
        hooks:
          - name: page
            on: [crash]
            exec: [{{dir}}/count.sh, page]
            rate: 10/1m
          - name: often
            on: [crash]
            exec: [{{dir}}/count.sh, often]
            rate: 2/1s
        """))
        let dir = daemon.directory
        try daemon.script("count.sh", """
        f="\(dir)/run-$1.$$"
        { echo "$BULKHEAD_HOOK_SUPPRESSED"; cat; } > "$f.tmp"
        mv "$f.tmp" "$f.done"
        """)
        @Sendable func runs(_ hook: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("run-\(hook).") && $0.hasSuffix(".done") }
        }
        try await daemon.launch()
        let started = Date()
        let reached = await Processes.waitUntil(timeout: 120) { daemon.count("storm:0", "exit") >= 1000 }
        #expect(reached, "only \(daemon.count("storm:0", "exit")) crashes")
        _ = try await daemon.command(["stop", "storm"])
        try await daemon.status(what: "storm stopped") { $0["storm:0"]?["state"] as? String == "stopped" }
        let storm = Date().timeIntervalSince(started)
        let crashes = daemon.count("storm:0", "exit", containing: ": crash")
        #expect(storm < 60, "1000 crashes took \(Int(storm)) s: not the storm the test is about")

        // Every run finishes, and the hooks' counts settle.
        _ = await Processes.waitUntil(timeout: 30) { runs("page").count >= 10 }
        _ = await daemon.hooksSettled(timeout: 30)
        let pageRuns = runs("page").count
        // The daemon's window opens at the first crash, a little before this test's clock: a
        // storm the test times at 55 s may have spanned two of its windows.
        let windows = Int(storm / 60) + 2
        #expect(storm >= 50 || pageRuns == 10, "a rate of 10/1m ran \(pageRuns) times in \(Int(storm)) s")
        #expect(pageRuns <= 10 * windows, "a rate of 10/1m ran \(pageRuns) times in \(Int(storm)) s")
        let suppressed = try await daemon.metric(#"bulkhead_hook_suppressed_total{hook="page"}"#)
        #expect(suppressed == Double(crashes - pageRuns), "\(crashes) crashes, \(pageRuns) runs, \(suppressed ?? -1) suppressed")
        let reachedLines = daemon.output.filter { $0.contains("hook page reached its rate 10/1m") }.count
        #expect(reachedLines >= 1 && reachedLines <= windows - 1, "the first suppression of each window is logged once: \(reachedLines) lines in \(Int(storm)) s")

        // The 2/1s hook ran in several windows; each run after a suppressed stretch was told how
        // many it missed, in its environment and in its JSON alike.
        var told = 0
        let often = runs("often")
        for name in often {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            let env = Int(text.prefix { $0 != "\n" }) ?? -1
            let json = try RawControlSocket.parse(String(text.drop { $0 != "\n" }.dropFirst()))
            #expect(json["suppressed"] as? Int == env)
            #expect(json["event"] as? String == "exit")
            told += env
        }
        #expect(told > 0, "no run of the 2/1s hook was told of suppressed events")
        #expect(told + often.count <= crashes)
        try await daemon.shutdown()
    }

    /// Hooks are started by a thread of their own and reaped through their pidfds; one that ends
    /// before the loop has heard of its pid must not be reaped by the loop's scan for orphans
    /// (its exit would be lost and the run would never end). `/bin/true` on every death ends
    /// that fast, hundreds of times.
    @Test("a hook that exits at once, on every death of a storm: every run is seen to end, none lost")
    func quickHooksInAStorm() async throws {
        let daemon = try DaemonHarness(ShellStorm.config(bottom: """
        hooks:
          - { name: quick, on: [crash], exec: [/bin/true], concurrency: 8, timeout: 5s }
        """))
        try await daemon.launch()
        let reached = await Processes.waitUntil(timeout: 120) { daemon.count("storm:0", "exit") >= 300 }
        #expect(reached, "only \(daemon.count("storm:0", "exit")) crashes")
        _ = try await daemon.command(["stop", "storm"])
        try await daemon.status(what: "storm stopped") { $0["storm:0"]?["state"] as? String == "stopped" }
        let crashes = daemon.count("storm:0", "exit", containing: ": crash")
        let settled = await daemon.hooksSettled(timeout: 60)
        #expect(settled, "hook runs never ended: \((try? daemon.cli(["metrics"]).stdout.split(separator: "\n").filter { $0.contains("hook") }) ?? [])")
        let ok = try await daemon.metric(#"bulkhead_hook_runs_total{hook="quick",result="ok"}"#) ?? 0
        let suppressed = try await daemon.metric(#"bulkhead_hook_suppressed_total{hook="quick"}"#) ?? 0
        #expect(Int(ok + suppressed) == crashes, "\(crashes) crashes: \(ok) runs ok, \(suppressed) suppressed (queue full)")
        #expect(ok > 0)
        for result in ["failed", "timeout", "error"] {
            #expect(try await daemon.metric(#"bulkhead_hook_runs_total{hook="quick",result="\#(result)"}"#) ?? 0 == 0, "\(result)")
        }
        try await daemon.shutdown()
    }
}
