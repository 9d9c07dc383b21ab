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
                     OutputLine(.stderr, "Press space to interact, D to debug, or any other key to quit (30s)"), OutputLine(.stderr, "   ")]
        #expect(BacktracerNoise.meaningful(mixed) == [OutputLine(.stdout, "serving")])
    }
}
