import BulkheadPolicy

/// Each instance's cells of the status table, kept between requests like `StatusFragments`:
/// of a row only the uptime (and an instance's "restart in 1.6s") moves with the clock, so
/// the other cells are formatted and escaped once per change of the instance, not once per
/// `bulkhead status`. Kept by position in the request's list; a revision is never reused.
final class StatusTableCells {
    /// Where each cell is in the row's bytes, and the widths the layout needs: plain values,
    /// so reading them per row costs no reference counting.
    struct Layout {
        var instanceEnd: Int
        var pidEnd: Int
        var restartsEnd: Int
        var lastEnd: Int
        var textEnd: Int
        /// The instance cell's width in columns (worker names are ASCII: the config checks them).
        var instanceWidth: Int
        /// The STATUS text counts down ("restart in 1.6s"): not kept, written per request.
        var movesWithClock: Bool
        /// The kept STATUS text's length in Unicode scalars (a narrow terminal cuts it).
        var textScalars: Int

        var pidWidth: Int { pidEnd - instanceEnd }
        var restartsWidth: Int { restartsEnd - pidEnd }
        var lastWidth: Int { lastEnd - restartsEnd }
        var hasText: Bool { textEnd > lastEnd }
    }

    /// Per position: the revision the entry was built from (0: none), its layout, and its
    /// cells back to back: instance (`api:1`, escaped for the JSON string the table travels
    /// in) · pid or `-` · restarts · last death's class or `-` · STATUS text, escaped.
    private var revisions: [UInt64] = []
    private var layouts: [Layout] = []
    private var cells: [[UInt8]] = []

    /// Every row of `snapshots` (a request's list, by position), each rebuilt if the entry at
    /// its position is not that instance as it is now. The arrays are handed out whole, so the
    /// renderer indexes plain values (no exclusivity check per access of a class's property).
    func rows(for snapshots: UnsafeBufferPointer<InstanceSnapshot>) -> (layouts: [Layout], cells: [[UInt8]]) {
        var revisions: [UInt64] = []
        var layouts: [Layout] = []
        var cells: [[UInt8]] = []
        swap(&revisions, &self.revisions)
        swap(&layouts, &self.layouts)
        swap(&cells, &self.cells)
        defer {
            swap(&revisions, &self.revisions)
            swap(&layouts, &self.layouts)
            swap(&cells, &self.cells)
        }
        for position in snapshots.indices where position >= revisions.count || revisions[position] != snapshots[position].revision {
            let (layout, bytes) = Self.build(snapshots[position])
            if position >= revisions.count {
                revisions.append(snapshots[position].revision)
                layouts.append(layout)
                cells.append(bytes)
            } else {
                revisions[position] = snapshots[position].revision
                layouts[position] = layout
                cells[position] = bytes
            }
        }
        return (layouts, cells)
    }

    func trim(to count: Int) {
        guard revisions.count > count else { return }
        revisions.removeLast(revisions.count - count)
        layouts.removeLast(layouts.count - count)
        cells.removeLast(cells.count - count)
    }

    static func build(_ s: borrowing InstanceSnapshot) -> (Layout, [UInt8]) {
        var w = CompactWriter(capacity: 64 + (s.statusText?.utf8.count ?? 0))
        w.stringContents(s.id.worker)
        w.raw(":")
        w.int(Int64(s.id.index))
        let instanceEnd = w.count
        if let pid = s.pid { w.int(Int64(pid)) } else { w.raw("-") }
        let pidEnd = w.count
        w.int(Int64(s.restarts))
        let restartsEnd = w.count
        w.plain(s.lastClass?.rawValue ?? "-")
        let lastEnd = w.count
        let movesWithClock = StatusTable.movesWithClock(s.state)
        let text = movesWithClock ? "" : StatusTable.statusText(s, .zero)
        w.stringContents(text)
        let layout = Layout(
            instanceEnd: instanceEnd, pidEnd: pidEnd, restartsEnd: restartsEnd, lastEnd: lastEnd, textEnd: w.count,
            instanceWidth: s.id.worker.utf8.count + 1 + StatusTable.digitCount(Int64(s.id.index)),
            movesWithClock: movesWithClock, textScalars: text.unicodeScalars.count
        )
        return (layout, w.take())
    }
}
