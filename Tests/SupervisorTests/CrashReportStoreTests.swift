@testable import Supervisor
import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc
import Testing

/// `CrashReportStore`: `state_dir/crashes`, one file per report plus an index, bounded.
@Suite struct CrashReportStoreTests {
    static let wall: Int64 = 1_795_000_000_123_000_000   // some millisecond in 2026

    /// A fresh store in a fresh directory; `body` gets both. Writes are synchronous here (no
    /// writer thread), so every assertion sees the files.
    static func withStore(keep: Int = 100, maxBytes: UInt64 = 1 << 30, perWorker: Int = 100_000,
                          _ body: (CrashReportStore, String) throws -> Void) throws {
        let directory = try temporaryDirectory("crashes")
        defer { FileSystem.removeTree(directory) }
        let retention = CrashReportRetention(keep: keep, maxBytes: maxBytes, perWorker: perWorker)
        try body(CrashReportStore(directory: directory, retention: retention, background: false), directory)
    }

    /// Saves one report for `worker:index` at `wall`; returns its id. `padding` bytes of stderr
    /// make the file bigger.
    @discardableResult
    static func save(_ store: CrashReportStore, worker: String = "api", index: Int = 0, wall: Int64 = wall, padding: Int = 0) -> String {
        let instance = InstanceID(worker: worker, index: index)
        let id = store.newID(for: instance, wall: wall)
        let facts = DeathFacts(termination: .signaled(signal: 4, coreDumped: false), stderrTail: [String(repeating: "p", count: padding)])
        let record = DeathRecord(
            instance: instance, pid: 42, startedAt: Instant(nanoseconds: 1), endedAt: Instant(nanoseconds: 2), facts: facts,
            classification: Classification(.crash, rule: "default: signal ILL"), fingerprint: "0123456789abcdef",
            restarts: 0, action: "restart in 100ms", note: nil, originalClass: nil
        )
        #expect(store.enqueue(id: id, record: record, evidence: nil, wall: wall))
        return id
    }

    static func ids(_ store: CrashReportStore, worker: String? = nil, limit: Int = 1000) -> [String] {
        store.summaries(worker: worker, limit: limit).compactMap { $0["id"]?.string }
    }

    @Test func savedReportsAreListedNewestFirstAndReadBack() throws {
        try Self.withStore { store, directory in
            let a = Self.save(store, wall: Self.wall)
            let b = Self.save(store, worker: "db", wall: Self.wall + 1_000_000_000)
            let c = Self.save(store, wall: Self.wall + 2_000_000_000)
            #expect(a == WallClockText.compact(Self.wall) + "-api-0")
            #expect(b.hasSuffix("-db-0"))
            #expect(Self.ids(store) == [c, b, a])
            #expect(Self.ids(store, limit: 2) == [c, b])
            #expect(Self.ids(store, worker: "api") == [c, a])
            #expect(Self.ids(store, worker: "db:0") == [b])
            #expect(Self.ids(store, worker: "nobody").isEmpty)

            let bytes = try #require(store.report(id: b))
            let json = try JSON(parsing: bytes)
            #expect(json["id"]?.string == b)
            #expect(bytes.last == 0x0A)
            #expect(FileSystem.exists(directory + "/" + b + ".json"))
            #expect(store.report(id: "no-such-report") == nil)
        }
    }

    @Test func idsAreUniqueWithinOneMillisecond() throws {
        try Self.withStore { store, _ in
            var ids: [String] = []
            for _ in 0..<12 { ids.append(Self.save(store, wall: Self.wall)) }
            #expect(Set(ids).count == 12)
            #expect(ids[1] == ids[0] + "-2")
            #expect(Set(Self.ids(store)) == Set(ids))
        }
    }

    @Test func retentionByCountRemovesTheOldest() throws {
        try Self.withStore(keep: 3) { store, directory in
            var ids: [String] = []
            for i in 0..<7 { ids.append(Self.save(store, wall: Self.wall + Int64(i) * 1_000_000_000)) }
            #expect(Self.ids(store) == Array(ids.suffix(3).reversed()))
            for id in ids.prefix(4) {
                #expect(!FileSystem.exists(directory + "/" + id + ".json"))
                #expect(store.report(id: id) == nil)
            }
            #expect(FileSystem.list(directory).filter { $0.hasSuffix(".json") }.count == 3)
        }
    }

    @Test func retentionByBytesRemovesTheOldestButKeepsTheNewest() throws {
        try Self.withStore(maxBytes: 10_000) { store, directory in
            var ids: [String] = []
            for i in 0..<6 { ids.append(Self.save(store, wall: Self.wall + Int64(i) * 1_000_000_000, padding: 3000)) }
            let kept = Self.ids(store)
            #expect(kept == Array(ids.suffix(kept.count).reversed()))
            // As many of the newest as fit in the budget: one more would not have.
            #expect(kept.count >= 2 && kept.count < ids.count)
            let sizes = kept.compactMap { FileSystem.info(directory + "/" + $0 + ".json")?.size }
            let bytes = sizes.reduce(0, +)
            #expect(bytes <= 10_000)
            #expect(bytes + (sizes.min() ?? 0) > 10_000)

            // One report larger than the whole budget is still kept: the newest always is.
            let huge = Self.save(store, wall: Self.wall + 100_000_000_000, padding: 50_000)
            #expect(Self.ids(store) == [huge])
        }
    }

    @Test func theIndexSurvivesARestart() throws {
        try Self.withStore(keep: 4) { store, directory in
            var ids: [String] = []
            for i in 0..<40 { ids.append(Self.save(store, index: i % 2, wall: Self.wall + Int64(i) * 1_000_000_000)) }
            let before = Self.ids(store)
            #expect(before == Array(ids.suffix(4).reversed()))

            let reopened = CrashReportStore(directory: directory, retention: CrashReportRetention(keep: 4, maxBytes: 1 << 30), background: false)
            #expect(Self.ids(reopened) == before)
            #expect(reopened.summaries(worker: nil, limit: 10).first?["instance"]?.string == "api:1")
            // The append-only index was compacted on the way: it does not grow without bound.
            let lines = (FileSystem.readText(directory + "/index.jsonl") ?? "").split(separator: "\n")
            #expect(lines.count <= 2 * 16 + 1)
            // And the reopened store keeps enforcing retention from where it was.
            let next = Self.save(reopened, wall: Self.wall + 1000 * 1_000_000_000)
            #expect(Self.ids(reopened) == [next] + before.prefix(3))
        }
    }

    @Test func aDamagedIndexLosesOnlyTheDamagedLines() throws {
        try Self.withStore { store, directory in
            let a = Self.save(store, wall: Self.wall)
            let b = Self.save(store, wall: Self.wall + 1_000_000_000)
            let index = directory + "/index.jsonl"
            var text = FileSystem.readText(index) ?? ""
            text += "{not json\n\u{FFFD}\n{\"id\": \"../../etc/passwd\"}\n{\"id\": \"gone\"}\n"
            text += text   // duplicates too
            try FileSystem.writeAtomically(index, Array(text.utf8))
            let reopened = CrashReportStore(directory: directory, retention: CrashReportRetention(), background: false)
            #expect(Self.ids(reopened) == [b, a])
        }
    }

    @Test func reportRefusesPathTraversal() throws {
        try Self.withStore { store, directory in
            // A file just outside the store, and one inside a subdirectory.
            let parent = String(directory[..<directory.lastIndex(of: "/")!])
            let outsideName = "bulkhead-systests-outside-\(getpid())"
            try FileSystem.writeAtomically(parent + "/" + outsideName + ".json", Array("{\"secret\": 1}".utf8))
            defer { FileSystem.remove(parent + "/" + outsideName + ".json") }
            try FileSystem.makeDirectories(directory + "/sub")
            try FileSystem.writeAtomically(directory + "/sub/x.json", Array("{}".utf8))
            try FileSystem.writeAtomically(directory + "/.hidden.json", Array("{}".utf8))

            for id in ["../" + outsideName, "../x", "sub/x", "/etc/passwd", "..", ".", ".hidden", "", "a/../../" + outsideName] {
                #expect(store.report(id: id) == nil, "\(id)")
            }
            // The index is not a report either.
            #expect(store.report(id: "index") == nil)
        }
    }
}
