import Foundation
import Glibc
import Testing

/// `bulkhead report` (SPEC §11) against a scenario with known deaths: 10 traps, 3 hangs and a
/// corruption that quarantines, then the operator's reset; the figures survive a restart.
@Suite("Reliability report")
struct ReportTests {
    @Test("10 traps, 3 hangs, 1 quarantine: deaths by class, self-heal, operator time, fingerprints; kept across a restart")
    func knownScenario() async throws {
        let daemon = try DaemonHarness("""
        # every death its own report: `crashes --group` counts reports
        crash_reports: { coalesce_after: 0 }
        workers:
          - name: api
            command: [{{dir}}/scenario.sh]
            backtrace: false
            watchdog: 2500ms
            watchdog_grace: 100ms
            limits: { core: 0 }
            backoff: { initial: 0ms, reset_after: 2s }
            crash_loop: { max_restarts: 100000, same_crash: 0 }
        """)
        let dir = daemon.directory
        let crashlab = Products.path("crashlab")
        // Runs 1-10 trap after 300 ms; 11-13 hang (no WATCHDOG=1: killed as hung after 2.5 s,
        // longer than reset_after); 14 exits 86 (corruption: quarantined); then it stays up.
        try daemon.script("scenario.sh", """
        n=$(cat "\(dir)/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "\(dir)/count"
        if [ $n -le 10 ]; then exec "\(crashlab)" --die fatal-error --after 300ms; fi
        if [ $n -le 13 ]; then exec "\(crashlab)" --hang; fi
        if [ $n -eq 14 ]; then exit 86; fi
        exec "\(crashlab)" --watchdog
        """)
        try await daemon.launch()
        try await daemon.next("api:0", "quarantined", timeout: 120)

        let report = try #require(try await daemon.cliJSON(["report", "--json"]) as? [String: Any])
        let api = try #require((report["workers"] as? [[String: Any]])?.first)
        #expect(api["worker"] as? String == "api")
        #expect(api["deaths"] as? Int == 14)
        let classes = try #require(api["by_class"] as? [String: Int])
        #expect(classes["crash"] == 10 && classes["hang"] == 3 && classes["corruption"] == 1, "\(classes)")
        // Self-healed: the last trap and the first two hangs were each followed by a run longer than
        // reset_after (a hanging run lasts the watchdog's 2.5 s); the other traps died within 0.3 s.
        #expect(api["self_healed"] as? Int == 3)
        #expect(api["operator_needed"] as? Int == 1)
        #expect(api["still_down"] as? [String] == ["api:0"])
        #expect(api["quarantined_ms"] as? Int ?? 0 > 0)
        #expect((api["detect_latency_us"] as? [String: Any])?["count"] as? Int == 14)
        #expect((api["mttr_ms"] as? [String: Any])?["count"] as? Int == 13, "ready again after every death but the quarantine")
        let prints = try #require(report["fingerprints"] as? [[String: Any]])
        #expect(prints.first?["count"] as? Int == 10)
        #expect(prints.first?["class"] as? String == "crash")
        #expect((prints.first?["headline"] as? String)?.contains("deliberate fatalError") == true)
        let example = try #require(prints.first?["example_crash_id"] as? String)
        #expect(daemon.crashReport(id: example)?["class"] as? String == "crash")

        // The operator clears it; it is ready again, and the quarantine's time is closed.
        let reset = try await daemon.command(["reset", "api"])
        #expect(reset.code == 0)
        try await daemon.status(what: "api running") { $0["api:0"]?["state"] as? String == "running" }
        let text = try await daemon.command(["report"])
        #expect(text.code == 0)
        #expect(text.stdout.contains("api     14      corruption 1, crash 10, hang 3"), "\(text.stdout)")
        try text.stdout.write(toFile: dir + "/report.txt", atomically: true, encoding: .utf8)
        let after = try #require(try await daemon.cliJSON(["report", "--json", "api"]) as? [String: Any])
        let cleared = try #require((after["workers"] as? [[String: Any]])?.first)
        #expect(cleared["still_down"] as? [String] == [])
        #expect((cleared["mttr_ms"] as? [String: Any])?["count"] as? Int == 14)

        // The history is the daemon's state: a new daemon on the same state_dir reports the same.
        try await daemon.shutdown()
        try await daemon.launch()
        let again = try #require(try await daemon.cliJSON(["report", "--json"]) as? [String: Any])
        let kept = try #require((again["workers"] as? [[String: Any]])?.first)
        #expect(kept["deaths"] as? Int == 14)
        #expect(kept["self_healed"] as? Int == 3)
        #expect(kept["operator_needed"] as? Int == 1)
        let grouped = try await daemon.command(["crashes", "--group"])
        #expect(grouped.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("10 ") == true, "\(grouped.stdout)")
        try await daemon.shutdown()
    }
}
