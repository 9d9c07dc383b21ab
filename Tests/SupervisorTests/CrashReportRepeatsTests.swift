@testable import Supervisor
import BulkheadControl
import BulkheadJSON
import BulkheadSystem
import Testing

/// Deaths folded into a report (CrashCoalescer → `CrashReportStore.enqueueRepeat`): the report
/// file gains `repeats`, `first_at`, `last_at` and a bounded list of the latest, and no file of
/// their own is written.
@Suite struct CrashReportRepeatsTests {
    static func death(_ n: Int) -> CrashReportRepeats.Death {
        CrashReportRepeats.Death(instance: "api:\(n % 3)", pid: Int32(1000 + n), startedWall: CrashReportStoreTests.wall + Int64(n) * 1_000_000,
                                 endedWall: CrashReportStoreTests.wall + Int64(n) * 1_000_000 + 500_000, how: "killed by SIGSEGV")
    }

    @Test func repeatsAreMergedIntoTheReportAndNoFileIsAddedForThem() throws {
        try CrashReportStoreTests.withStore { store, directory in
            let id = CrashReportStoreTests.save(store)
            for n in 1...100 { store.enqueueRepeat(id: id, Self.death(n)) }
            #expect(FileSystem.list(directory).filter { $0.hasSuffix(".json") } == [id + ".json"])
            let report = try JSON(parsing: try #require(store.report(id: id)))
            #expect(report["repeats"]?.int == 100)
            #expect(report["first_at"] == report["ended_at"])
            #expect(report["last_at"]?.string == WallClockText.iso8601(Self.death(100).endedWall))
            let listed = report["repeated"]?.array ?? []
            #expect(listed.count == CrashReportRepeats.kept)
            #expect(listed.first?["pid"]?.int == 1037 && listed.last?["pid"]?.int == 1100, "the latest are kept")
            #expect(listed.last?["instance"]?.string == "api:1" && listed.last?["how"]?.string == "killed by SIGSEGV")
            // `bulkhead crashes` shows the count too.
            #expect(store.summaries(worker: nil, limit: 1).first?["repeats"]?.int == 100)
        }
    }

    @Test func aReportRemovedByRetentionTakesItsRepeatsAlong() throws {
        try CrashReportStoreTests.withStore(keep: 1) { store, directory in
            let old = CrashReportStoreTests.save(store)
            let new = CrashReportStoreTests.save(store, wall: CrashReportStoreTests.wall + 1_000_000_000)
            store.enqueueRepeat(id: old, Self.death(1))
            #expect(FileSystem.list(directory).filter { $0.hasSuffix(".json") } == [new + ".json"], "the old report is not written back")
        }
    }

    @Test func rewritesAreAtMostOneASecondPerReport() {
        var repeats = CrashReportRepeats()
        repeats.add(Self.death(1), to: "r")
        #expect(repeats.due(0) == ["r"], "never written with its repeats: due at once")
        _ = repeats.merge(into: .object([("ended_at", .string("x"))]), id: "r", 5)
        repeats.add(Self.death(2), to: "r")
        #expect(repeats.due(5 + CrashReportRepeats.flushEvery - 1).isEmpty)
        #expect(repeats.nextFlush == 5 + CrashReportRepeats.flushEvery)
        #expect(repeats.due(5 + CrashReportRepeats.flushEvery) == ["r"])
    }
}
