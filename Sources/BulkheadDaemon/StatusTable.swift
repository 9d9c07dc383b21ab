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
    static let header = ["INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST", "STATUS"]

    /// - Parameter width: the terminal's width: longer lines are cut there (nil: never).
    static func render(_ daemon: Daemon, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?) -> String {
        var rows: [[String]] = []
        rows.reserveCapacity(snapshots.count)
        for s in snapshots {
            rows.append([
                s.id.description,
                s.state.rawValue,
                s.pid.map { String($0) } ?? "-",
                s.startedAt.map { duration(now.duration(since: $0).milliseconds) } ?? "-",
                String(s.restarts),
                s.lastClass?.rawValue ?? "-",
                statusText(s, now),
            ])
        }
        var widths = header.map(\.utf8.count)
        for row in rows {
            for index in 0..<(row.count - 1) { widths[index] = max(widths[index], displayWidth(row[index])) }
        }
        var out = ""
        out.reserveCapacity((rows.count + 2) * 80)
        if !rows.isEmpty {
            for row in [header] + rows {
                var line = ""
                for index in 0..<(row.count - 1) {
                    line += row[index]
                    line += String(repeating: " ", count: widths[index] - displayWidth(row[index]) + 2)
                }
                line += row[row.count - 1]
                while line.utf8.last == 0x20 { line.removeLast() }
                if let width, width > 1, displayWidth(line) > width {
                    line = String(line.unicodeScalars.prefix(width - 1)) + "…"
                }
                out += line
                out += "\n"
            }
        } else {
            out += "no instances\n"
        }
        var about = "bulkhead \(BulkheadVersion.current), pid \(daemon.daemonPID)"
        if let server = daemon.controlServer { about += ", up \(duration(now.duration(since: server.startedAt).milliseconds))" }
        if daemon.supervision.shuttingDown { about += ", shutting down" }
        var counts = [Int](repeating: 0, count: StatusDocument.stateOrder.count)
        for s in snapshots { counts[StatusDocument.position(of: s.state)] += 1 }
        out += "\(about): \(StatusDocument.summary(counts, total: snapshots.count))\n"
        return out
    }

    /// The worker's own STATUS= text, or what bulkhead is waiting for.
    static func statusText(_ s: InstanceSnapshot, _ now: Instant) -> String {
        let next = s.nextAttemptAt.map { duration($0.duration(since: now).milliseconds) }
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

    /// `850ms`, `3.5s`, `37s`, `4m12s`, `2h05m`, `3d04h`.
    static func duration(_ ms: Int64) -> String {
        if ms < 1000 { return "\(max(ms, 0))ms" }
        let s = ms / 1000
        if s < 60 { return ms < 10_000 ? "\(s).\((ms % 1000) / 100)s" : "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(pad(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(pad((s / 60) % 60))m" }
        return "\(s / 86400)d\(pad((s / 3600) % 24))h"
    }

    static func pad(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// Columns are counted in Unicode scalars: exact for the ASCII that fills most cells, near
    /// enough for a status text in another script.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.count
    }
}
