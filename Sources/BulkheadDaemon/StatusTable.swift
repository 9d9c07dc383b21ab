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

    /// The whole reply, `{"v":1,"ok":true,"result":{"text":"…"}}`, written directly.
    /// - Parameter width: the terminal's width: longer lines are cut there (nil: never).
    static func reply(_ daemon: Daemon, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?) -> [UInt8] {
        let text = render(daemon, snapshots, now, width: width)
        var w = CompactWriter(capacity: text.utf8.count + 64)
        w.raw(ControlProtocol.resultPrefix)
        w.raw("{\"text\":")
        w.string(text)
        w.raw("}}\n")
        return w.bytes
    }

    static func render(_ daemon: Daemon, _ snapshots: [InstanceSnapshot], _ now: Instant, width: Int?) -> String {
        // Pass one: the cells that need formatting, and every column's width (all ASCII but
        // the status text, which is last and never padded).
        var uptimes: [String] = []
        var texts: [String] = []
        uptimes.reserveCapacity(snapshots.count)
        texts.reserveCapacity(snapshots.count)
        var widths = header.map(\.utf8CodeUnitCount)
        for s in snapshots {
            let uptime = s.startedAt.map { duration(now.duration(since: $0).milliseconds) } ?? "-"
            uptimes.append(uptime)
            texts.append(statusText(s, now))
            widths[0] = max(widths[0], s.id.worker.utf8.count + 1 + digitCount(Int64(s.id.index)))
            widths[1] = max(widths[1], s.state.rawValue.utf8.count)
            widths[2] = max(widths[2], s.pid.map { digitCount(Int64($0)) } ?? 1)
            widths[3] = max(widths[3], uptime.utf8.count)
            widths[4] = max(widths[4], digitCount(Int64(s.restarts)))
            widths[5] = max(widths[5], s.lastClass?.rawValue.utf8.count ?? 1)
        }
        let fixed = widths[0..<6].reduce(0) { $0 + $1 + 2 }
        let room = width.map { $0 - fixed } ?? Int.max
        var w = CompactWriter(capacity: 128 + snapshots.count * (fixed + 24))
        if snapshots.isEmpty {
            w.raw("no instances\n")
        } else {
            for (index, title) in header.enumerated() {
                if index < 6 {
                    w.raw(title)
                    w.spaces(widths[index] - title.utf8CodeUnitCount + 2)
                } else {
                    w.plain("STATUS", room: room)
                }
            }
            w.newline()
            for (row, s) in snapshots.enumerated() {
                w.plain(s.id.worker)
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
                w.plain(uptimes[row])
                w.spaces(widths[3] - uptimes[row].utf8.count + 2)
                w.int(Int64(s.restarts))
                w.spaces(widths[4] - digitCount(Int64(s.restarts)) + 2)
                let last = s.lastClass?.rawValue ?? "-"
                w.plain(last)
                if texts[row].isEmpty {
                    w.newline()   // no trailing spaces
                    continue
                }
                w.spaces(widths[5] - last.utf8.count + 2)
                w.plain(texts[row], room: room)
                w.newline()
            }
        }
        var about = "bulkhead \(BulkheadVersion.current), pid \(daemon.daemonPID)"
        if let server = daemon.controlServer { about += ", up \(duration(now.duration(since: server.startedAt).milliseconds))" }
        if daemon.supervision.shuttingDown { about += ", shutting down" }
        var counts = [Int](repeating: 0, count: StatusDocument.stateOrder.count)
        for s in snapshots { counts[StatusDocument.position(of: s.state)] += 1 }
        w.plain("\(about): \(StatusDocument.summary(counts, total: snapshots.count))")
        w.newline()
        return String(decoding: w.bytes, as: UTF8.self)
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

    static func duration(_ ms: Int64) -> String {
        DurationText.short(milliseconds: ms)
    }
}
