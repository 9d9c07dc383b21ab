@testable import Supervisor
import BulkheadJSON
@testable import BulkheadPolicy
import Testing

/// The status table is laid out from cells the daemon keeps between requests
/// (`StatusTableCells`). Whatever was kept, the table must be the one fresh cells give, and
/// only the clock's columns may differ between two requests when nothing changed.
@Suite("Status table")
struct StatusTableTests {
    static let now = Instant(nanoseconds: 36_000_000_000_000)   // ten hours in

    static func row(
        _ worker: String, _ index: Int, _ state: InstanceState, pid: Int32? = nil, upFor seconds: UInt64? = nil,
        restarts: Int = 0, last: DeathClass? = nil, text: String? = nil, retryIn ms: UInt64? = nil, revision: UInt64
    ) -> InstanceSnapshot {
        InstanceSnapshot(
            id: InstanceID(worker: worker, index: index), state: state, pid: pid,
            startedAt: seconds.map { Instant(nanoseconds: now.nanoseconds - $0 * 1_000_000_000) },
            restarts: restarts, lastClass: last, statusText: text,
            nextAttemptAt: ms.map { Instant(nanoseconds: now.nanoseconds + $0 * 1_000_000) }, wanted: true, revision: revision
        )
    }

    static func render(_ rows: [InstanceSnapshot], _ cells: StatusTableCells, width: Int? = nil, at now: Instant = now) -> String {
        var w = CompactWriter(capacity: 256)
        StatusTable.renderRows(into: &w, rows, now, width: width, cells: cells)
        // The table travels as the contents of a JSON string.
        let quoted = [0x22] + w.bytes + [0x22]
        return (try? JSON(parsing: quoted[...], limits: .largeDocument))?.string ?? "not a JSON string: \(String(decoding: w.bytes, as: UTF8.self))"
    }

    static let sample = [
        row("api", 0, .running, pid: 4250, upFor: 7500, text: "listening on :8080", revision: 1),
        row("api", 1, .backoff, restarts: 3, last: .crash, retryIn: 1600, revision: 2),
        row("job", 0, .running, pid: 77, upFor: 3, restarts: 12, last: .transient, revision: 3),
        row("job", 1, .failed, restarts: 5, last: .persistent, revision: 4),
        row("say", 0, .running, pid: 9, upFor: 40, text: #"say "hi" \ to C:\temp — ünïcode ✓"#, revision: 5),
    ]

    @Test("the layout, exactly")
    func layout() {
        #expect(Self.render(Self.sample, StatusTableCells()) == """
        INSTANCE  STATE    PID   UPTIME  RESTARTS  LAST        STATUS
        api:0     running  4250  2h05m   0         -           listening on :8080
        api:1     backoff  -     -       3         crash       restart in 1.6s
        job:0     running  77    3.0s    12        transient
        job:1     failed   -     -       5         persistent  not restarted; `bulkhead reset job:1` to try again
        say:0     running  9     40s     0         -           say "hi" \\ to C:\\temp — ünïcode ✓

        """)
    }

    @Test("kept cells give the table fresh ones give, as instances change and the clock moves")
    func keptEqualsFresh() {
        let cells = StatusTableCells()
        var rows = Self.sample
        #expect(Self.render(rows, cells) == Self.render(rows, StatusTableCells()))
        #expect(Self.render(rows, cells) == Self.render(rows, StatusTableCells()), "second request, every cell kept")
        // Wider pid and restarts columns, a new status text, an instance gone to backoff.
        rows[0] = Self.row("api", 0, .running, pid: 1_234_567, upFor: 7600, restarts: 100, text: "draining", revision: 6)
        rows[2] = Self.row("job", 0, .backoff, restarts: 13, last: .crash, retryIn: 250, revision: 7)
        let later = Instant(nanoseconds: Self.now.nanoseconds + 61_000_000_000)
        #expect(Self.render(rows, cells, at: later) == Self.render(rows, StatusTableCells(), at: later))
        // A filtered request (other instances at the same positions), then everything again.
        let filtered = [rows[3], rows[4]]
        #expect(Self.render(filtered, cells) == Self.render(filtered, StatusTableCells()))
        #expect(Self.render(rows, cells) == Self.render(rows, StatusTableCells()))
    }

    @Test("a narrow terminal cuts status texts the same way from kept cells", arguments: [30, 56, 60, 70, 104, 105, 200])
    func narrow(width: Int) {
        let cells = StatusTableCells()
        _ = Self.render(Self.sample, cells)
        let kept = Self.render(Self.sample, cells, width: width)
        #expect(kept == Self.render(Self.sample, StatusTableCells(), width: width))
        // The columns before STATUS take 55 (see `layout`); the longest status text has 50.
        let fixed = 55
        let room = max(width - fixed, 1)
        var cut = 0
        for line in kept.split(separator: "\n").map({ Array($0.unicodeScalars) }) where line.count > fixed {
            #expect(line.count - fixed <= room, "\(String(String.UnicodeScalarView(line)))")
            if line.last == "…" { cut += 1 }
        }
        #expect((cut > 0) == (room < 50), "room \(room): \(cut) cut")
    }
}
