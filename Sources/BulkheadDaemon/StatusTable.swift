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
    static func reply(_ daemon: Daemon, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?) -> [UInt8] {
        var w = CompactWriter(capacity: 256 + snapshots.count * 96)
        w.raw(ControlProtocol.resultPrefix)
        w.raw("{\"text\":\"")
        render(into: &w, daemon, snapshots, now, width: width)
        w.raw("\"}}\n")
        return w.bytes
    }

    /// The table as the contents of a JSON string: line ends are `\n`, and the only text not
    /// bulkhead's own (worker names are checked by the config; status texts are the workers')
    /// is escaped.
    static func render(into w: inout CompactWriter, _ daemon: Daemon, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?) {
        // Pass one: the cells that need formatting, and every column's width (all ASCII but
        // the status text, which is last and never padded).
        var uptimes: [ShortDuration?] = []
        var texts: [String] = []
        uptimes.reserveCapacity(snapshots.count)
        texts.reserveCapacity(snapshots.count)
        var widths = header.map(\.utf8CodeUnitCount)
        snapshots.withUnsafeBufferPointer { rows in
            for s in rows {
                let uptime = s.startedAt.map { ShortDuration(milliseconds: now.milliseconds(since: $0)) }
                uptimes.append(uptime)
                texts.append(statusText(s, now))
                widths[0] = max(widths[0], s.id.worker.utf8.count + 1 + digitCount(Int64(s.id.index)))
                widths[1] = max(widths[1], s.state.rawValue.utf8.count)
                widths[2] = max(widths[2], s.pid.map { digitCount(Int64($0)) } ?? 1)
                widths[3] = max(widths[3], uptime?.count ?? 1)
                widths[4] = max(widths[4], digitCount(Int64(s.restarts)))
                widths[5] = max(widths[5], s.lastClass?.rawValue.utf8.count ?? 1)
            }
        }
        let fixed = widths[0..<6].reduce(0) { $0 + $1 + 2 }
        let room = width.map { $0 - fixed } ?? Int.max
        if snapshots.isEmpty {
            w.raw("no instances\\n")
        } else {
            for (index, title) in header.enumerated() {
                if index < 6 {
                    w.raw(title)
                    w.spaces(widths[index] - title.utf8CodeUnitCount + 2)
                } else {
                    w.escaped("STATUS", room: room)
                }
            }
            w.escapedNewline()
            snapshots.withUnsafeBufferPointer { rows in
                for row in rows.indices {
                    writeRow(rows[row], uptimes[row], texts[row], widths, room, into: &w)
                }
            }
        }
        var about = "bulkhead \(BulkheadVersion.current), pid \(daemon.daemonPID)"
        if let server = daemon.controlServer { about += ", up \(duration(now.milliseconds(since: server.startedAt)))" }
        if daemon.supervision.shuttingDown { about += ", shutting down" }
        var counts = [Int](repeating: 0, count: StatusDocument.stateOrder.count)
        for s in snapshots { counts[StatusDocument.position(of: s.state)] += 1 }
        w.stringContents("\(about): \(StatusDocument.summary(counts, total: snapshots.count))")
        w.escapedNewline()
    }

    /// One instance's line, its cells padded to the column widths.
    private static func writeRow(_ s: borrowing InstanceSnapshot, _ uptime: ShortDuration?, _ text: String, _ widths: [Int], _ room: Int, into w: inout CompactWriter) {
        w.stringContents(s.id.worker)
        w.raw(":")
        w.int(Int64(s.id.index))
        w.spaces(widths[0] - (s.id.worker.utf8.count + 1 + digitCount(Int64(s.id.index))) + 2)
        w.plain(s.state.rawValue)
        w.spaces(widths[1] - s.state.rawValue.utf8.count + 2)
        if let pid = s.pid {
            w.int(Int64(pid))
            w.spaces(widths[2] - digitCount(Int64(pid)) + 2)
        } else {
            w.raw("-")
            w.spaces(widths[2] + 1)
        }
        if let uptime {
            uptime.withUTF8 { w.plain($0) }
            w.spaces(widths[3] - uptime.count + 2)
        } else {
            w.raw("-")
            w.spaces(widths[3] + 1)
        }
        w.int(Int64(s.restarts))
        w.spaces(widths[4] - digitCount(Int64(s.restarts)) + 2)
        let last = s.lastClass?.rawValue ?? "-"
        w.plain(last)
        if text.isEmpty {
            w.escapedNewline()   // no trailing spaces
            return
        }
        w.spaces(widths[5] - last.utf8.count + 2)
        w.escaped(text, room: room)
        w.escapedNewline()
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
