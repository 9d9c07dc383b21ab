/// The one-line summary for systemd's STATUS= and the status header: `5/6 running, 1 backoff`.
public enum StatusSummary {
    public static func line(_ snapshots: [InstanceSnapshot]) -> String {
        var counts: [InstanceState: Int] = [:]
        for snapshot in snapshots { counts[snapshot.state, default: 0] += 1 }
        return line(total: snapshots.count) { counts[$0] ?? 0 }
    }

    /// From counts kept as instances change (`Supervision.count`): no walk over the instances.
    public static func line(total: Int, count: (InstanceState) -> Int) -> String {
        var line = "\(count(.running))/\(total) running"
        let others: [InstanceState] = [.starting, .waiting, .stopping, .backoff, .open, .failed, .quarantined, .stopped]
        for state in others {
            let n = count(state)
            if n > 0 { line += ", \(n) \(state.rawValue)" }
        }
        return line
    }
}
