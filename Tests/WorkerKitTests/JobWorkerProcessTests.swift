import CLinux
import Glibc
import Testing

@testable import WorkerKit

/// The `jobworker` binary as a real child with a real NOTIFY_SOCKET and a real shared ring.
/// Every wait has a deadline; none sleeps and hopes.
@Suite("jobworker as a child process", .serialized)
struct JobWorkerProcessTests {
    @Test func readyArrivesAfterWarmUpFromTheWorkerItself() async throws {
        let run = try WorkerRun(arguments: ["--warmup-ms", "100", "--job-ms", "20"])
        let ready = try #require(await run.waitFor("READY=1"), "no READY=1; stderr: \(run.stderr)")
        #expect(ready.senderPID == run.child.pid)
        #expect(ready.contains("STATUS=processed 0 jobs"))
        #expect(await run.waitFor("STATUS=processed 3 jobs") != nil)
        run.child.signal(SIGTERM)
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 20)), "stderr: \(run.stderr)\n\(threads(of: run.child.pid))")
        #expect(exit.summary == "exit 0")
    }

    @Test func watchdogPingsAtHalfTheIntervalAndStopWhenThePoolIsBlocked() async throws {
        // WATCHDOG_USEC 400 ms: pings every 200 ms, each after a probe ran within 100 ms.
        let run = try WorkerRun(
            arguments: ["--warmup-ms", "0", "--lanes", "1", "--job-ms", "100", "--block-executor-at", "12"],
            environment: ["WATCHDOG_USEC": "400000"]
        )
        let marker = try #require(await run.waitFor("STATUS=blocking executor at job 12"), "stderr: \(run.stderr)")
        let before = run.datagrams.filter { $0.contains("WATCHDOG=1") }.map(\.receivedAt)
        #expect(before.count >= 3, "pings before the block: \(before.count)")
        // The rhythm itself (every WATCHDOG_USEC/2) is a timing figure, not a pass/fail check on
        // a busy machine: pings can bunch up when the machine is loaded. What must hold is that
        // they keep coming while the executor runs, and stop once it is blocked.

        // Stopped: over two seconds, at most the pings already on their way when the block
        // began (at most two), where a working pinger sends ten. Only how many: when exactly
        // they stop depends on how loaded the machine is.
        await run.collect(until: marker.receivedAt + 2_000_000_000)
        let after = run.datagrams.filter { $0.contains("WATCHDOG=1") && $0.receivedAt > marker.receivedAt }
        #expect(after.count <= 2, "pings after the block: \(after.map { ($0.receivedAt - marker.receivedAt) / 1_000_000 }) ms")
        #expect(await run.child.waitForExit(until: now()) == nil, "the blocked worker should still be alive")
        #expect(run.breadcrumbs.last == "blocking the executor job=12")
    }

    @Test func watchdogStopsWhenAMainActorJobNeverYields() async throws {
        let run = try WorkerRun(
            arguments: ["--warmup-ms", "0", "--lanes", "1", "--job-ms", "100", "--hog-main-actor-at", "6"],
            environment: ["WATCHDOG_USEC": "400000"]
        )
        let marker = try #require(await run.waitFor("STATUS=hogging main actor at job 6"), "stderr: \(run.stderr)")
        #expect(run.datagrams.filter { $0.contains("WATCHDOG=1") }.count >= 2)
        await run.collect(until: marker.receivedAt + 2_000_000_000)
        let after = run.datagrams.filter { $0.contains("WATCHDOG=1") && $0.receivedAt > marker.receivedAt }
        #expect(after.count <= 2, "pings kept coming while the main actor was hogged: \(after.map { ($0.receivedAt - marker.receivedAt) / 1_000_000 }) ms")
    }

    @Test func manualWatchdogSendsOnlyTheWorkersOwnPings() async throws {
        // Automatic pings would come every 200 ms, nine of them in three 600 ms jobs; this
        // worker pings once after each job, so counted against the jobs no clock is needed.
        let run = try WorkerRun(
            arguments: ["--warmup-ms", "0", "--lanes", "1", "--job-ms", "600", "--manual-watchdog"],
            environment: ["WATCHDOG_USEC": "400000"]
        )
        try #require(await run.waitFor("READY=1") != nil, "stderr: \(run.stderr)")
        let third = try #require(await run.waitFor("STATUS=processed 3 jobs", within: 60), "stderr: \(run.stderr)")
        let pings = run.datagrams.filter { $0.contains("WATCHDOG=1") && $0.receivedAt <= third.receivedAt }.count
        #expect(pings >= 2 && pings <= 3, "\(pings) pings in the time of three jobs: \(run.datagrams.map(\.text))")
    }

    @Test func sigtermCancelsRunAndExitsZeroWithinTheGrace() async throws {
        let run = try WorkerRun(
            arguments: ["--warmup-ms", "0", "--job-ms", "400"],
            environment: ["BULKHEAD_STOP_TIMEOUT_USEC": "5000000"]
        )
        try #require(await run.waitFor("STATUS=processed 2 jobs") != nil, "stderr: \(run.stderr)")
        run.child.signal(SIGTERM)
        #expect(await run.waitFor("STOPPING=1") != nil, "datagrams: \(run.datagrams.map(\.text)); stderr: \(run.stderr)")
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 20)))
        // Within the grace as the worker itself timed it: past the grace it would have said so
        // and ended by the signal, not with exit 0.
        #expect(exit.summary == "exit 0", "stderr: \(run.stderr)")
        #expect(!run.stderr.contains("after SIGTERM: exiting now"), "stderr: \(run.stderr)")
        #expect(run.stderr.contains("<5>jobworker: SIGTERM received: stopping"))
        #expect(run.stderr.contains("<5>stopped processed="))
        #expect(run.breadcrumbs.contains { $0.hasPrefix("job abandoned (cancelled)") })
        #expect(run.dyingStamp > 0)
    }

    @Test func sigintStopsLikeSigterm() async throws {
        let run = try WorkerRun(arguments: ["--warmup-ms", "0", "--job-ms", "400"])
        try #require(await run.waitFor("READY=1") != nil)
        run.child.signal(SIGINT)
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 20)))
        #expect(exit.summary == "exit 0")
    }

    @Test func graceTimeoutEndsAWorkerThatIgnoresTheStop() async throws {
        let run = try WorkerRun(
            arguments: ["--warmup-ms", "0", "--job-ms", "100", "--ignore-stop"],
            environment: ["BULKHEAD_STOP_TIMEOUT_USEC": "1000000"]
        )
        try #require(await run.waitFor("READY=1") != nil)
        let sent = now()
        run.child.signal(SIGTERM)
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 20)))
        let elapsed = Double(now() - sent) / 1e9
        #expect(exit.summary == "signal \(SIGTERM)", "stderr: \(run.stderr)")
        // Not before the grace (a lower bound holds however loaded the machine is); that it was
        // the grace that ended it, the worker's own line and breadcrumb say.
        #expect(elapsed > 0.85, "ended \(elapsed) s after SIGTERM; grace 0.9 s")
        #expect(run.stderr.contains("<3>jobworker: still running 900ms after SIGTERM: exiting now"))
        #expect(run.breadcrumbs.last == #"forced exit reason="stop grace over" signal=SIGTERM"#)
        #expect(run.dyingStamp > 0)
    }

    @Test func secondSigtermEndsAtOnce() async throws {
        let run = try WorkerRun(arguments: ["--warmup-ms", "0", "--job-ms", "100", "--ignore-stop"])
        try #require(await run.waitFor("READY=1") != nil)
        run.child.signal(SIGTERM)
        try #require(await run.waitFor("STOPPING=1") != nil)
        run.child.signal(SIGTERM)
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 20)))
        #expect(exit.summary == "signal \(SIGTERM)")
        // The second signal ended it, not the (9 s) grace: the worker says which.
        #expect(run.stderr.contains("second signal (SIGTERM) during stop: exiting now"))
        #expect(!run.stderr.contains("after SIGTERM: exiting now"), "stderr: \(run.stderr)")
        #expect(run.breadcrumbs.last == #"forced exit reason="second signal" signal=SIGTERM"#)
    }

    @Test func breadcrumbsOutliveATrap() async throws {
        let run = try WorkerRun(arguments: ["--warmup-ms", "0", "--lanes", "1", "--job-ms", "10", "--trap-every", "3"], notify: false)
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 30)))
        // A Swift trap is SIGILL on x86_64, SIGTRAP on arm64.
        #expect(exit.exited == 0 && (exit.code == SIGILL || exit.code == SIGTRAP), "\(exit.summary); stderr: \(run.stderr)")
        let crumbs = run.breadcrumbs
        #expect(crumbs.last == "trapping job=3 kind=fatal", "\(crumbs)")
        #expect(crumbs.contains("job start job=1 lane=1"))
        #expect(crumbs.contains("job done job=2"))
        #expect(crumbs.contains("job fetch job=3"))
        #expect(run.dyingStamp == 0, "a trap is no deliberate exit")
        #expect(run.stderr.contains("Fatal error: job 3: ledger invariant violated"))
    }

    @Test(arguments: [
        (["--corrupt-at", "2"], Int32(86), "<1>jobworker: run failed (corruption, exit 86): ", "ledger checksum mismatch"),
        (["--fail-persistent-at", "2"], Int32(78), "<2>jobworker: run failed (persistent, exit 78): ", "rejected our credentials"),
        (["--fail-transient-every", "2"], Int32(75), "<3>jobworker: run failed (transient, exit 75): ", "upstream timed out"),
        (["--jobs", "3"], Int32(0), "", ""),
        (["--no-such-flag"], Int32(78), "<2>jobworker: run failed (persistent, exit 78): ", "Unknown option '--no-such-flag'"),
    ])
    func exitCodeByClassStandalone(flags: [String], code: Int32, prefix: String, detail: String) async throws {
        // No NOTIFY_SOCKET: the same worker runs standalone, every notification a no-op.
        let run = try WorkerRun(arguments: ["--warmup-ms", "0", "--job-ms", "10", "--lanes", "1"] + flags, notify: false)
        let exit = try #require(await run.child.waitForExit(until: deadline(in: 30)))
        #expect(exit.summary == "exit \(code)", "stderr: \(run.stderr)")
        let failureLines = run.stderr.split(separator: "\n").filter { $0.contains("run failed") }
        if code == 0 {
            #expect(failureLines.isEmpty)
        } else {
            #expect(failureLines.count == 1, "stderr: \(run.stderr)")
            #expect(failureLines.first?.hasPrefix(prefix) == true, "line: \(failureLines.first ?? "")")
            #expect(failureLines.first?.contains(detail) == true)
            #expect(run.breadcrumbs.last == "exiting class=\(FailureClass.allCases.first { $0.exitCode.rawValue == code }!) code=\(code)")
        }
        #expect(run.dyingStamp > 0, "WorkerKit stamps the ring before its own exits")
    }
}
