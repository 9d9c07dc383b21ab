@testable import Supervisor
import BulkheadSystem
import Testing

/// SPEC §7: retention per worker, and never a report a current verdict points to.
@Suite struct CrashRetentionTests {
    typealias Store = CrashReportStoreTests

    static func second(_ n: Int) -> Int64 { Store.wall + Int64(n) * 1_000_000_000 }

    @Test func eachWorkerKeepsItsNewestReports() throws {
        try Store.withStore(keep: 100, perWorker: 3) { store, directory in
            let quiet = Store.save(store, worker: "api", wall: Self.second(0))
            var chatty: [String] = []
            for n in 1...10 { chatty.append(Store.save(store, worker: "chatty", wall: Self.second(n))) }
            #expect(Store.ids(store, worker: "chatty") == chatty.suffix(3).reversed())
            #expect(Store.ids(store, worker: "api") == [quiet], "a chatty worker does not push out another's report")
            for id in chatty.prefix(7) { #expect(!FileSystem.exists(directory + "/" + id + ".json")) }
        }
    }

    @Test func aPinnedReportOutlivesEveryBound() throws {
        try Store.withStore(keep: 4, perWorker: 2) { store, directory in
            let verdict = Store.save(store, worker: "api", wall: Self.second(0))
            store.pinned = [verdict]
            var later: [String] = []
            for n in 1...6 { later.append(Store.save(store, worker: n % 2 == 0 ? "api" : "db", wall: Self.second(n))) }
            #expect(FileSystem.exists(directory + "/" + verdict + ".json"))
            #expect(Store.ids(store).contains(verdict))
            #expect(Store.ids(store).count == 4)
            // Unpinned (the instance was reset), it goes with its worker's next report.
            store.pinned = []
            Store.save(store, worker: "api", wall: Self.second(7))
            #expect(!FileSystem.exists(directory + "/" + verdict + ".json"))
        }
    }
}
