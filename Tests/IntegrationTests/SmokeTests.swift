import Foundation
import Testing

@Suite("Smoke")
struct SmokeTests {
    @Test("a shell worker that dies by SIGSEGV is classified crash, reported and restarted")
    func segvShellWorker() throws {
        let daemon = try DaemonHarness("""
        defaults:
          backoff: { initial: 50ms, max: 200ms }
          crash_loop: { same_crash: 0 }
        workers:
          - name: segv
            command: [/bin/sh, -c, "echo up; sleep 0.1; kill -SEGV $$"]
        """)
        try daemon.start()
        let exit = try daemon.waitForEvent("segv:0", "exit", containing: ["SIGSEGV", "crash"])
        let id = try #require(DaemonHarness.crashID(in: exit))
        let report = try #require(daemon.crashReport(id: id))
        #expect(report["class"] as? String == "crash")
        #expect(report["signal"] as? String == "SEGV")
        #expect(report["instance"] as? String == "segv:0")
        try daemon.waitForEvent("segv:0", "spawn", after: daemon.output.firstIndex(of: exit) ?? 0)
        #expect(try daemon.stop() == 0)
    }
}
