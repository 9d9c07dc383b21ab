import BulkheadControl
import BulkheadJSON
import BulkheadPolicy

/// Deaths folded into an earlier report (`CrashCoalescer`), kept by the report writer: per
/// report, how many, the first and last times, and the latest `kept` of them. A report with
/// repeats is rewritten with these fields at most once per `flushEvery` — one file rewrite a
/// second for a storm of a thousand deaths a second, instead of a thousand new files and a
/// thousand evictions.
struct CrashReportRepeats {
    /// One folded death, as the report lists it.
    struct Death: Sendable {
        var instance: String
        var pid: Int32?
        var startedWall: Int64?
        var endedWall: Int64
        /// `exit 3`, `SIGSEGV`, `spawn failed`.
        var how: String

        var json: JSON {
            .object([
                ("instance", .string(instance)),
                ("pid", pid.map { .int(Int64($0)) } ?? .null),
                ("started_at", startedWall.map { .string(WallClockText.iso8601($0)) } ?? .null),
                ("ended_at", .string(WallClockText.iso8601(endedWall))),
                ("how", .string(how)),
            ])
        }
    }

    private struct Entry {
        var count = 0
        var lastWall: Int64 = 0
        var recent: [Death] = []
        var dirty = false
        /// nil: never written with its repeats (the first rewrite is due at once).
        var flushedAt: Int64?
    }

    /// Folded deaths listed per report (the latest); the count covers them all.
    static let kept = 64
    /// At most one rewrite of a report per this many nanoseconds.
    static let flushEvery: Int64 = 1_000_000_000
    /// Reports tracked at once (the storms in progress); the oldest goes first.
    static let maxReports = 256

    private var entries: [String: Entry] = [:]
    private var order: [String] = []

    var isEmpty: Bool { entries.isEmpty }

    /// A death folded into report `id` at `now` (monotonic ns, for the flush timing).
    mutating func add(_ death: Death, to id: String) {
        if entries[id] == nil {
            order.append(id)
            if order.count > Self.maxReports { entries[order.removeFirst()] = nil }
        }
        var entry = entries[id] ?? Entry()
        entry.count += 1
        entry.lastWall = death.endedWall
        entry.recent.append(death)
        if entry.recent.count > Self.kept { entry.recent.removeFirst(entry.recent.count - Self.kept) }
        entry.dirty = true
        entries[id] = entry
    }

    /// Reports with repeats not yet written whose turn has come at `now` (monotonic ns).
    func due(_ now: Int64) -> [String] {
        entries.compactMap { id, entry in entry.dirty && now >= Self.flushable(entry) ? id : nil }
    }

    /// Every report with repeats not yet written (shutdown, tests).
    var dirtyIDs: [String] {
        entries.compactMap { $0.value.dirty ? $0.key : nil }
    }

    /// When the next dirty report may be written (monotonic ns), if any is waiting.
    var nextFlush: Int64? {
        entries.values.filter(\.dirty).map(Self.flushable).min()
    }

    private static func flushable(_ entry: Entry) -> Int64 {
        entry.flushedAt.map { $0 + flushEvery } ?? .min
    }

    /// `report` with the repeats' fields, marked written at `now`.
    mutating func merge(into report: JSON, id: String, _ now: Int64) -> JSON {
        guard var entry = entries[id] else { return report }
        var merged = report
        let first = report["ended_at"] ?? .null
        merged.set("repeats", .int(Int64(entry.count)))
        merged.set("first_at", first)
        merged.set("last_at", .string(WallClockText.iso8601(entry.lastWall)))
        merged.set("repeated", .array(entry.recent.map(\.json)))
        entry.dirty = false
        entry.flushedAt = now
        entries[id] = entry
        return merged
    }

    /// How many deaths report `id` stands for besides its own.
    func count(of id: String) -> Int {
        entries[id]?.count ?? 0
    }

    /// The report is gone (retention).
    mutating func forget(_ id: String) {
        guard entries.removeValue(forKey: id) != nil else { return }
        order.removeAll { $0 == id }
    }
}
