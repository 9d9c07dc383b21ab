import Foundation
import Testing

/// SPEC §3's crash-loop breaker with real processes: more than `max_restarts` restarts inside
/// `window` opens it (`open`, no process) for `cooldown`; then one half-open try, which closes
/// it when it stays up `reset_after` (`recovered`) and opens it again when it dies.
@Suite("Crash-loop breaker with real processes")
struct BreakerProcessTests {
    static let cooldown = 2.0
    static let resetAfter = 1.0

    /// `flaky`: its first `failing` runs exit 3 (transient) 50 ms after they start, every later
    /// run stays up. The worker counts its own runs in a file, so what a run does never depends
    /// on when the test looks. `stuck` always fails and opens its breaker for an hour: its
    /// `open` state can be looked at without racing the end of a cooldown.
    static func config(failing: Int) -> String {
        """
        defaults:
          backoff: { initial: 50ms, max: 50ms, jitter: 0, reset_after: \(Int(resetAfter * 1000))ms }
          backtrace: false
        workers:
          - name: flaky
            command: [/bin/sh, -c, "n=$(( $(cat {{dir}}/runs 2>/dev/null || echo 0) + 1 )); echo $n > {{dir}}/runs; if [ $n -gt \(failing) ]; then exec {{crashlab}} --print run-$n-up; fi; exec {{crashlab}} --print run-$n-failing --exit 3 --after 50ms"]
            crash_loop: { max_restarts: 2, window: 10m, cooldown: \(Int(cooldown * 1000))ms, same_crash: 0 }
          - name: stuck
            command: [{{crashlab}}, --exit, "3", --after, 50ms]
            crash_loop: { max_restarts: 1, window: 10m, cooldown: 1h, same_crash: 0 }
        """
    }

    @Test("more than max_restarts in the window opens the breaker; a half-open try that stays up closes it (recovered)")
    func opensAndRecovers() async throws {
        try await withDaemon(Self.config(failing: 3)) { daemon in
            // Three deaths: the third restart would be one more than max_restarts (2).
            let open = try await daemon.next("flaky:0", "breaker-open")
            let exits = try Self.exits(of: "flaky:0", in: daemon, before: open.index)
            #expect(exits.count == 3, "deaths before the breaker opened: \(exits.map(\.line))")
            #expect(daemon.output[..<open.index].filter { $0.hasPrefix("flaky:0 * spawn: ") }.count == 3)
            let tripping = try #require(exits.last)
            let trippingReport = try daemon.report(for: tripping)
            #expect((trippingReport["action"] as? String)?.hasPrefix("breaker open") == true, "\(trippingReport["action"] ?? "nil")")
            // The death that opened it is not followed by a backoff: nothing is scheduled but
            // the half-open try.
            #expect(!daemon.output[tripping.index..<open.index].contains { $0.hasPrefix("flaky:0 * backoff: ") })

            try await Self.expectOpenState(daemon)

            // The cooldown ends: one restart, the half-open try, which stays up.
            let retry = try await daemon.next("flaky:0", "restart", after: open.index, containing: ["half-open"])
            let spawn = try await daemon.next("flaky:0", "spawn", after: retry.index)
            let pid = try #require(DaemonHarness.spawnedPID(spawn.line))
            try await daemon.nextLine(after: spawn.index, what: "run 4 up") { $0 == "flaky:0 | run-4-up" }
            let recovered = try await daemon.next("flaky:0", "recovered", after: spawn.index)
            #expect(!daemon.output[open.index..<recovered.index].contains { $0.hasPrefix("flaky:0 * exit: ") },
                    "the half-open try died: \(daemon.output[open.index..<recovered.index])")
            #expect(daemon.output[open.index..<recovered.index].filter { $0.hasPrefix("flaky:0 * spawn: ") }.count == 1,
                    "one half-open try, not more")

            let states = try await daemon.instances()
            let flaky = try #require(states["flaky:0"])
            #expect(flaky["state"] as? String == "running")
            #expect(flaky["pid"] as? Int == Int(pid), "the half-open try is the running process")
            // As the daemon measured it: the try had been up reset_after when it recovered.
            #expect((flaky["uptime_ms"] as? Int ?? 0) >= Int(Self.resetAfter * 1000), "\(flaky)")
            // The breaker held the restart for the whole cooldown (the daemon's own clock: the
            // tripping death's end → the try's start).
            let ended = try #require(reportInstant(trippingReport["ended_at"]))
            let started = try #require(reportInstant(flaky["started_at"]))
            #expect(started.timeIntervalSince(ended) >= Self.cooldown - 0.01, "half-open try \(started.timeIntervalSince(ended)) s after the death that opened the breaker")
            #expect(!Processes.isGone(pid))
        }
    }

    @Test("a half-open try that dies opens the breaker again at once; the next try recovers")
    func halfOpenTryDiesAndReopens() async throws {
        try await withDaemon(Self.config(failing: 4)) { daemon in
            let firstOpen = try await daemon.next("flaky:0", "breaker-open")
            let retry = try await daemon.next("flaky:0", "restart", after: firstOpen.index, containing: ["half-open"])
            let trySpawn = try await daemon.next("flaky:0", "spawn", after: retry.index)
            let tryExit = try await daemon.next("flaky:0", "exit", after: trySpawn.index)
            let reopen = try await daemon.next("flaky:0", "breaker-open", after: tryExit.index)
            // Straight back to open: no backoff, no spawn between the try's death and the breaker.
            let between = daemon.output[tryExit.index..<reopen.index].filter { $0.hasPrefix("flaky:0 * ") }
            #expect(between.count == 1, "between the try's death and the reopened breaker: \(between)")
            let tryReport = try daemon.report(for: tryExit)
            #expect((tryReport["action"] as? String)?.hasPrefix("breaker open") == true, "\(tryReport["action"] ?? "nil")")
            #expect(tryReport["class"] as? String == "transient")

            // A second cooldown, then the second try (run 5) stays up.
            let secondRetry = try await daemon.next("flaky:0", "restart", after: reopen.index, containing: ["half-open"])
            let secondSpawn = try await daemon.next("flaky:0", "spawn", after: secondRetry.index)
            try await daemon.nextLine(after: secondSpawn.index, what: "run 5 up") { $0 == "flaky:0 | run-5-up" }
            try await daemon.next("flaky:0", "recovered", after: secondSpawn.index)
            #expect(daemon.events("spawn", of: "flaky:0").count == 5)
            #expect(daemon.events("breaker-open", of: "flaky:0").count == 2)

            // Both cooldowns were waited out in full (the daemon's clock).
            let exits = try Self.exits(of: "flaky:0", in: daemon, before: reopen.index)
            #expect(exits.count == 4)
            let thirdEnded = try #require(reportInstant(try daemon.report(for: exits[2])["ended_at"]))
            let tryStarted = try #require(reportInstant(tryReport["started_at"]))
            let tryEnded = try #require(reportInstant(tryReport["ended_at"]))
            let states = try await daemon.instances()
            #expect(states["flaky:0"]?["state"] as? String == "running")
            let secondStarted = try #require(reportInstant(states["flaky:0"]?["started_at"]))
            #expect(tryStarted.timeIntervalSince(thirdEnded) >= Self.cooldown - 0.01, "first try after \(tryStarted.timeIntervalSince(thirdEnded)) s")
            #expect(secondStarted.timeIntervalSince(tryEnded) >= Self.cooldown - 0.01, "second try after \(secondStarted.timeIntervalSince(tryEnded)) s")
        }
    }

    /// `stuck` opened its breaker for an hour: `open`, no process, the try about an hour away.
    static func expectOpenState(_ daemon: DaemonHarness) async throws {
        try await daemon.next("stuck:0", "breaker-open")
        let states = try await daemon.status(what: "stuck open") { $0["stuck:0"]?["state"] as? String == "open" }
        let stuck = try #require(states["stuck:0"])
        #expect(stuck["pid"] is NSNull, "\(stuck)")
        let next = stuck["next_attempt_in_ms"] as? Int ?? -1
        #expect(next > 3_000_000 && next <= 3_600_000, "next_attempt_in_ms \(next)")
        #expect(daemon.events("spawn", of: "stuck:0").count == 2, "max_restarts 1: one restart, then open")
    }

    /// The `exit` events of `instance` before index `end`, in order.
    static func exits(of instance: String, in daemon: DaemonHarness, before end: Int) throws -> [Seen] {
        daemon.output[..<end].enumerated()
            .filter { $0.element.hasPrefix("\(instance) * exit: ") }
            .map { Seen(line: $0.element, index: $0.offset) }
    }
}
