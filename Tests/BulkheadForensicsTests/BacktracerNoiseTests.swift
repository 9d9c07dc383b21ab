import Testing
@testable import BulkheadForensics

/// The backtracer's banner, progress and complaints are never what a program said.
@Suite struct BacktracerNoiseTests {
    @Test func bannersInEveryShapeAreCutOut() {
        #expect(BacktracerNoise.withoutBanner("*** Signal 4: Backtracing from 0x55d1c3a2b1f4... done ***") == "")
        #expect(BacktracerNoise.withoutBanner("*** Signal 11: Backtracing from 0x7f... done ***") == "")
        #expect(BacktracerNoise.withoutBanner("*** Signal 3: Backtracing from 0x7fc255f6412b...") == "")
        #expect(BacktracerNoise.withoutBanner(" done ***") == "")
        #expect(BacktracerNoise.withoutBanner("*** Signal 4: Backtracing from 0x5619...swift-backtrace: unable to open /x for writing")
            == "swift-backtrace: unable to open /x for writing")
        // A program's line that happens to hold the words is left alone.
        #expect(BacktracerNoise.withoutBanner("*** Signal handling: ready ***") == "*** Signal handling: ready ***")
        #expect(BacktracerNoise.withoutBanner("all done ***") == "all done ***")
        #expect(BacktracerNoise.withoutBanner("listening on :8080") == "listening on :8080")
    }

    @Test func helperLinesReportsAndBlankLinesAreNotMeaningful() throws {
        let text = try #require(CrashFixtures.text(CrashFixtures.backtraces + "/release-trap-in-taskgroup.text.stderr"))
        let lines = CrashFixtures.lines(text).map { OutputLine(.stderr, $0) }
        // The whole text report goes; the runtime's own message stays.
        #expect(BacktracerNoise.meaningful(lines).map(\.text)
            == ["CrashLab/RuntimeTraps.swift:7: Fatal error: crashlab: deliberate fatalError in a TaskGroup child"])
        let json = try #require(CrashFixtures.text(CrashFixtures.backtraces + "/release-overflow-add.json-on-stderr.stderr"))
        #expect(BacktracerNoise.meaningful(CrashFixtures.lines(json).map { OutputLine(.stderr, $0) }).isEmpty)
        let mixed = [OutputLine(.stdout, "serving"), OutputLine(.stderr, "swift-runtime: failed to suspend thread 18300 while processing a crash; backtraces will be missing information"),
                     OutputLine(.stderr, "Press space to interact, D to debug, or any other key to quit (30s)"), OutputLine(.stderr, "   "),
                     // A --static-swift-stdlib program with no backtracer to run says so at start.
                     OutputLine(.stderr, "swift runtime: unable to locate swift-backtrace; disabling backtracing.")]
        #expect(BacktracerNoise.meaningful(mixed) == [OutputLine(.stdout, "serving")])
    }
}

/// What is left of the backtracer's output when the daemon's tail or line limit cut it.
@Suite struct BacktracerNoiseInCutOutputTests {
    @Test func theEndOfATextReportWithoutItsStartIsStillNoise() throws {
        for name in ["release-stack-overflow.text.stderr", "release-trap-in-taskgroup.text.stderr", "debug-fatal-error.text.stderr",
                     "release-overflow-add.text.stderr", "release-abort.text.stderr", "debug-exclusivity.text.stderr"] {
            let lines = CrashFixtures.lines(try #require(CrashFixtures.text(CrashFixtures.backtraces + "/" + name)))
            let headline = try #require(lines.firstIndex { $0.hasPrefix("*** Program crashed: ") || $0.hasPrefix("*** Swift runtime failure: ") })
            for start in (headline + 1)..<lines.count {
                let kept = BacktracerNoise.meaningful(lines[start...].map { OutputLine(.stderr, $0) })
                #expect(kept.isEmpty, "\(name) from line \(start + 1): \(kept.map(\.text))")
            }
        }
    }

    @Test func piecesOfACutJSONReportAreNoise() throws {
        let report = String(decoding: try #require(CrashFixtures.read(CrashFixtures.backtraces + "/release-overflow-add.json")), as: UTF8.self)
            .trimmingCharacters(in: "\n")
        let third = report.count / 3
        let a = report.index(report.startIndex, offsetBy: third), b = report.index(a, offsetBy: third)
        let lines = [OutputLine(.stderr, "before"), OutputLine(.stderr, String(report[..<a])), OutputLine(.stdout, "between"),
                     OutputLine(.stderr, String(report[a..<b])), OutputLine(.stderr, String(report[b...])), OutputLine(.stderr, "after")]
        #expect(BacktracerNoise.meaningful(lines).map(\.text) == ["before", "between", "after"])
    }

    @Test func aProgramsOwnLinesThatLookALittleLikeAReportStay() {
        let own = ["Thread pool ready:", "3 jobs in queue", "cache 0x10 entries", "request 12 0x7f in flight",
                   "deadbeef 0x1234-0x5678", "retrying..."]
        #expect(BacktracerNoise.meaningful(own.map { OutputLine(.stderr, $0) }).map(\.text) == own)
    }
}
