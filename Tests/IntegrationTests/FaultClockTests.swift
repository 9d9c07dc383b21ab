import Foundation
import Glibc
import Testing

/// Fault suite (issue 19): the wall clock jumps an hour forward, then an hour back, under a
/// running daemon. The closest real thing on a shared machine: CLOCK_REALTIME is one for the
/// whole machine (a time namespace moves only CLOCK_MONOTONIC and CLOCK_BOOTTIME, and `date -s`
/// in a container sets the host's clock), so the daemon alone is given a moving wall clock by
/// libfaketime (LD_PRELOAD; its monotonic clock left real). Backoff and the crash-loop breaker
/// must not notice (they run on CLOCK_MONOTONIC); crash reports must keep the wall time.
@Suite("Faults: wall clock")
struct FaultClockTests {
    static let library = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"]
        .first { FileManager.default.fileExists(atPath: $0) }

    @Test("the wall clock jumps +1 h, then -1 h: every backoff still takes its 1 s, the breaker opens after max_restarts and half-opens after its cooldown, reports carry the jumped wall time",
          .enabled(if: library != nil, "libfaketime is not installed (Debian: faketime)"))
    func jumps() async throws {
        let daemon = try DaemonHarness("""
        output: { journal: off }
        defaults:
          crash_loop: { same_crash: 0, max_restarts: 4, window: 10m, cooldown: 4s }
        workers:
          - name: crasher
            command: [{{crashlab}}, --exit, "1", --after, 100ms]
            backoff: { initial: 1s, max: 1s, jitter: 0 }
            backtrace: false
        """)
        let offsetFile = daemon.directory + "/faketime"
        func setOffset(_ offset: String) throws {
            try offset.write(toFile: offsetFile, atomically: true, encoding: .utf8)
        }
        try setOffset("+0")
        // Through a shell: a Swift program started with libfaketime preloaded straight from
        // posix_spawn (Foundation's Process, Python) was seen to get no arguments; one exec'd
        // by a C program that already has it loaded gets them (libfaketime 0.9.10).
        try await offThread {
            try daemon.start(environment: [
                "LD_PRELOAD": Self.library!,
                "FAKETIME_TIMESTAMP_FILE": offsetFile,
                "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                // Under `scripts/test --sanitize address`: the preload comes before ASan's runtime.
                "ASAN_OPTIONS": (ProcessInfo.processInfo.environment["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "verify_asan_link_order=0",
            ], launcher: ["/bin/sh", "-c", #"exec "$0" "$@""#])
        }
        do {
            // exit, 1 s backoff, spawn: five times, the clock jumped before the 2nd and the 4th.
            var after = 0
            var intervals: [Double] = []
            var reportTimes: [(offsets: [Double], id: String)] = []
            var firstExitSeen: Date?
            var lastExitSeen = Date()
            for death in 1...5 {
                if death == 2 { try setOffset("+1h") }
                if death == 4 { try setOffset("-1h") }
                let exit = try await daemon.next("crasher:0", "exit", after: after)
                let died = Date()
                if firstExitSeen == nil { firstExitSeen = died }
                lastExitSeen = died
                if death < 5 { #expect(exit.line.contains("restart in 1s"), "\(exit.line)") }
                // Lines reach the test late on a busy machine: the death may have come before the
                // jump the test made just now, so the offset before it is as good.
                func offset(_ n: Int) -> Double { n >= 4 ? -3600 : (n >= 2 ? 3600 : 0) }
                if let id = DaemonHarness.crashID(in: exit.line) {
                    reportTimes.append(([offset(death), offset(death - 1)].map { died.timeIntervalSince1970 + $0 }, id))
                }
                if death == 5 { after = exit.index; break }
                let spawn = try await daemon.next("crasher:0", "spawn", after: exit.index + 1)
                intervals.append(Date().timeIntervalSince(died))
                after = spawn.index + 1
            }
            for (index, interval) in intervals.enumerated() {
                #expect(interval < 30, "backoff \(index + 1) took \(interval) s (configured 1 s)")
            }
            // Four backoffs of 1 s lie between the first death and the fifth. A line seen late
            // shortens one gap and lengthens the next, so the sum holds where a single gap would
            // not; a backoff the jump had cut to nothing would bring it near 0.5 s.
            let storm = lastExitSeen.timeIntervalSince(firstExitSeen ?? lastExitSeen)
            #expect(storm > 2.5, "five deaths within \(storm) s: the backoffs did not hold their 1 s")
            // Four restarts in the window, then the fifth death opens the breaker (a wall-clock
            // window would have been emptied by the +1 h jump).
            let opened = try await daemon.next("crasher:0", "breaker-open", after: after)
            let early = daemon.output[after..<opened.index].filter { $0.hasPrefix("crasher:0 * spawn: ") }
            #expect(early.isEmpty, "restarted after the fifth death instead of opening the breaker: \(early)")
            let openedAt = Date()
            try await daemon.next("crasher:0", "spawn", after: opened.index + 1)
            let cooldown = Date().timeIntervalSince(openedAt)
            #expect(cooldown > 1.5 && cooldown < 60, "the half-open try came \(cooldown) s after the breaker opened (cooldown 4 s)")

            // Reports keep the wall time the daemon saw, jumps and all.
            for (expected, id) in reportTimes {
                let report = try #require(daemon.crashReport(id: id), "report \(id)")
                let ended = try #require(reportInstant(report["ended_at"]), "ended_at of \(id): \(report["ended_at"] ?? "none")")
                #expect(expected.contains { abs(ended.timeIntervalSince1970 - $0) < 300 },
                        "report \(id) ended_at \(ended), expected near \(expected.map { Date(timeIntervalSince1970: $0) })")
            }
            try await daemon.shutdown()
        } catch {
            _ = try? await daemon.shutdown()
            throw error
        }
    }
}
