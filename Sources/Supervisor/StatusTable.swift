import BulkheadControl
import BulkheadPolicy
import BulkheadSystem

/// `bulkhead status` as a person reads it, rendered by the daemon: the CLI then prints one
/// string instead of parsing a document of every instance and laying it out itself, which for
/// a thousand instances was most of the CLI's time (see docs/CONTROL.md, "format": "table").
///
///     INSTANCE   STATE    PID    UPTIME  RESTARTS  LAST   STATUS
///     api:0      running  4250   2h05m   0         -      listening on :8080
///     api:1      backoff  -      -       3         crash  restart in 1.6s
///     bulkhead 0.1.0, pid 4242, up 2h05m: 1/2 running, 1 backoff
enum StatusTable {
    static let header: [StaticString] = ["INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST", "STATUS"]

    /// The whole reply, `{"v":1,"ok":true,"result":{"text":"…"}}`, the table written straight
    /// into the JSON string (no String of it built first, then escaped in a second pass).
    /// - Parameter width: the terminal's width: longer lines are cut there (nil: never).
    static func reply(_ daemon: DaemonFacts, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?, cells: StatusTableCells) -> [UInt8] {
        var w = CompactWriter(capacity: 256 + snapshots.count * 96)
        w.raw(ControlProtocol.resultPrefix)
        w.raw("{\"text\":\"")
        render(into: &w, daemon, snapshots, now, width: width, cells: cells)
        w.raw("\"}}\n")
        return w.bytes
    }

    /// The table as the contents of a JSON string: line ends are `\n`, and the only text not
    /// bulkhead's own (worker names are checked by the config; status texts are the workers')
    /// is escaped.
    static func render(into w: inout CompactWriter, _ daemon: DaemonFacts, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?,
                       cells: StatusTableCells) {
        cells.trim(to: daemon.instanceCount)
        renderRows(into: &w, snapshots, now, width: width, cells: cells)
        if daemon.detailed { renderHealth(into: &w, snapshots, now) }
        for note in daemon.notes {
            w.stringContents("note: \(note)")
            w.escapedNewline()
        }
        var about = "bulkhead \(BulkheadVersion.current), pid \(daemon.pid)"
        about += ", up \(duration(now.milliseconds(since: daemon.startedAt)))"
        if daemon.shuttingDown { about += ", shutting down" }
        var counts = [Int](repeating: 0, count: StatusDocument.stateOrder.count)
        for s in snapshots { counts[StatusDocument.position(of: s.state)] += 1 }
        w.stringContents("\(about): \(StatusDocument.summary(counts, total: snapshots.count))")
        w.escapedNewline()
    }

    /// The header and one line per instance, from the cells `cells` keeps.
    static func renderRows(into w: inout CompactWriter, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?, cells: StatusTableCells) {
        guard !snapshots.isEmpty else {
            w.raw("no instances\\n")
            return
        }
        snapshots.withUnsafeBufferPointer { snapshots in
            let (layouts, kept) = cells.rows(for: snapshots)
            // Pass one: the cells that move with the clock, and every column's width (all
            // ASCII but the status text, which is last and never padded).
            var uptimes: [ShortDuration?] = []
            var clockTexts: [String?] = Array(repeating: nil, count: snapshots.count)
            uptimes.reserveCapacity(snapshots.count)
            var widths = header.map(\.utf8CodeUnitCount)
            for position in snapshots.indices {
                let layout = layouts[position]
                let uptime = snapshots[position].startedAt.map { ShortDuration(milliseconds: now.milliseconds(since: $0)) }
                if layout.movesWithClock { clockTexts[position] = statusText(snapshots[position], now) }
                widths[0] = max(widths[0], layout.instanceWidth)
                widths[1] = max(widths[1], snapshots[position].state.rawValue.utf8.count)
                widths[2] = max(widths[2], layout.pidWidth)
                widths[3] = max(widths[3], uptime?.count ?? 1)
                widths[4] = max(widths[4], layout.restartsWidth)
                widths[5] = max(widths[5], layout.lastWidth)
                uptimes.append(uptime)
            }
            let fixed = widths[0..<6].reduce(0) { $0 + $1 + 2 }
            let room = width.map { $0 - fixed } ?? Int.max
            for (index, title) in header.enumerated() {
                if index < 6 {
                    w.raw(title)
                    w.spaces(widths[index] - title.utf8CodeUnitCount + 2)
                } else {
                    w.escaped("STATUS", room: room)
                }
            }
            w.escapedNewline()
            for position in snapshots.indices {
                kept[position].withUnsafeBufferPointer { bytes in
                    writeRow(layouts[position], bytes, state: snapshots[position].state, uptimes[position], clockText: clockTexts[position], widths, room, into: &w) {
                        statusText(snapshots[position], now)
                    }
                }
            }
        }
    }

    /// `bulkhead status NAME`: each named instance's probes, one line each.
    ///
    ///     HEALTH
    ///     api:0  ready  http://127.0.0.1:8080/healthz  passed: HTTP 200 in 1.2ms, 8s ago
    ///     api:0  live   http://127.0.0.1:8080/healthz  failing (2 in a row): HTTP 500 in 0.9ms, 1s ago
    static func renderHealth(into w: inout CompactWriter, _ snapshots: [InstanceSnapshot], _ now: Instant) {
        let lines = snapshots.flatMap { s in s.health.map { (s.id.description, $0) } }
        guard !lines.isEmpty else { return }
        let width = lines.map(\.0.utf8.count).max() ?? 0
        let checkWidth = lines.map { $0.1.check.description.count }.max() ?? 0
        w.raw("HEALTH\\n")
        for (instance, probe) in lines {
            w.plain(instance)
            w.spaces(width - instance.utf8.count + 2)
            w.plain(probe.role.rawValue)
            w.spaces(7 - probe.role.rawValue.count)
            w.stringContents(probe.check.description)
            w.spaces(checkWidth - probe.check.description.count + 2)
            w.stringContents(healthText(probe, now))
            w.escapedNewline()
        }
    }

    static func healthText(_ probe: ProbeStatus, _ now: Instant) -> String {
        guard let last = probe.last else { return "no result yet" }
        let result = "\(last.detail) in \(Units.latency(last.latency)), \(duration(now.milliseconds(since: last.at))) ago"
        if probe.done { return "passed: \(result)" }
        if probe.consecutiveFailures > 0 { return "failing (\(probe.consecutiveFailures) in a row): \(result)" }
        return "ok: \(result)"
    }

    /// One instance's line, its cells padded to the column widths.
    private static func writeRow(
        _ row: StatusTableCells.Layout, _ bytes: UnsafeBufferPointer<UInt8>, state: InstanceState, _ uptime: ShortDuration?,
        clockText: String?, _ widths: [Int], _ room: Int, into w: inout CompactWriter, keptText: () -> String
    ) {
        w.plain(UnsafeBufferPointer(rebasing: bytes[0..<row.instanceEnd]))
        w.spaces(widths[0] - row.instanceWidth + 2)
        w.plain(state.rawValue)
        w.spaces(widths[1] - state.rawValue.utf8.count + 2)
        w.plain(UnsafeBufferPointer(rebasing: bytes[row.instanceEnd..<row.pidEnd]))
        w.spaces(widths[2] - row.pidWidth + 2)
        if let uptime {
            uptime.withUTF8 { w.plain($0) }
            w.spaces(widths[3] - uptime.count + 2)
        } else {
            w.raw("-")
            w.spaces(widths[3] + 1)
        }
        w.plain(UnsafeBufferPointer(rebasing: bytes[row.pidEnd..<row.restartsEnd]))
        w.spaces(widths[4] - row.restartsWidth + 2)
        w.plain(UnsafeBufferPointer(rebasing: bytes[row.restartsEnd..<row.lastEnd]))
        if let clockText, !clockText.isEmpty {
            w.spaces(widths[5] - row.lastWidth + 2)
            w.escaped(clockText, room: room)
        } else if !row.movesWithClock && row.hasText {
            w.spaces(widths[5] - row.lastWidth + 2)
            if row.textScalars <= max(room, 1) {
                w.plain(UnsafeBufferPointer(rebasing: bytes[row.lastEnd..<row.textEnd]))
            } else {
                w.escaped(keptText(), room: room)   // cut for a narrow terminal
            }
        }
        // A row without status text has no trailing spaces.
        w.escapedNewline()
    }

    /// An instance whose STATUS cell counts down ("restart in 1.6s").
    static func movesWithClock(_ state: InstanceState) -> Bool {
        state == .backoff || state == .open
    }

    static func digitCount(_ value: Int64) -> Int {
        var count = value < 0 ? 2 : 1
        var rest = value.magnitude
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }

    /// The worker's own STATUS= text, or what bulkhead is waiting for.
    static func statusText(_ s: InstanceSnapshot, _ now: Instant) -> String {
        let next = s.nextAttemptAt.map { duration($0.milliseconds(since: now)) }
        switch s.state {
        case .backoff:
            return "restart in \(next ?? "a moment")" + (s.statusText.map { " (\($0))" } ?? "")
        case .open:
            return "crash loop: breaker open, one try in \(next ?? "a while")"
        case .failed:
            return s.statusText ?? "not restarted; `bulkhead reset \(s.id)` to try again"
        case .quarantined:
            return "corruption suspected; `bulkhead reset \(s.id)` once fixed"
        case .waiting:
            return s.statusText ?? "waiting for its dependencies"
        case .starting, .running, .stopping, .stopped:
            return s.statusText ?? ""
        }
    }

    static func duration(_ ms: Int64) -> String {
        DurationText.short(milliseconds: ms)
    }
}
