import BulkheadPolicy

/// `status` as bytes: the JSON document and the table the CLI prints. It keeps every instance's
/// row (policy's snapshot, stamped with a revision that changes exactly when the row does), and
/// per row the bytes derived from it (StatusFragments, StatusTableCells) until its revision
/// moves: a request formats the clock's fields and copies the rest. Rows are refreshed from
/// what policy reports changed (`Supervision.takeChanges`), never rebuilt per request.
final class StatusView {
    private(set) var rows: [InstanceSnapshot] = []
    private var positions: [InstanceID: Int] = [:]
    private var lastRevision: UInt64 = 0
    private let fragments = StatusFragments()
    private let cells = StatusTableCells()

    /// Brings the rows up to date with policy.
    func refresh(_ supervision: inout Supervision) {
        let changes = supervision.takeChanges()
        if changes.orderChanged {
            let previous = positions
            let old = rows
            rows = supervision.snapshot()
            positions = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1.id, $0) })
            for position in rows.indices {
                // A row that did not change keeps its revision (and whatever was kept for it).
                if let before = previous[rows[position].id] {
                    rows[position].revision = old[before].revision
                    if rows[position] == old[before] { continue }
                }
                rows[position].revision = nextRevision()
            }
            return
        }
        for id in changes.instances {
            guard let position = positions[id], var row = supervision.snapshot(of: id) else { continue }
            row.revision = rows[position].revision
            if row != rows[position] {
                row.revision = nextRevision()
                rows[position] = row
            }
        }
    }

    func row(of id: InstanceID) -> InstanceSnapshot? {
        positions[id].map { rows[$0] }
    }

    private func nextRevision() -> UInt64 {
        lastRevision += 1
        return lastRevision
    }

    func document(_ daemon: DaemonFacts, _ rows: [InstanceSnapshot], _ now: Instant) -> [UInt8] {
        StatusDocument.encode(daemon, rows, now, fragments: fragments)
    }

    func table(_ daemon: DaemonFacts, _ rows: [InstanceSnapshot], _ now: Instant, width: Int?) -> [UInt8] {
        StatusTable.reply(daemon, rows, now, width: width, cells: cells)
    }
}
