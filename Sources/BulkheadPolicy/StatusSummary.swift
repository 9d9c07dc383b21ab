/// The one-line summary for systemd's STATUS= and the status header: `5/6 running, 1 backoff`.
public enum StatusSummary {
    public static func line(_ snapshots: [InstanceSnapshot]) -> String {
        let running = snapshots.filter { $0.state == .running }.count
        var line = "\(running)/\(snapshots.count) running"
        let others: [InstanceState] = [.starting, .waiting, .stopping, .backoff, .open, .failed, .quarantined, .stopped]
        for state in others {
            let count = snapshots.filter { $0.state == state }.count
            if count > 0 { line += ", \(count) \(state.rawValue)" }
        }
        return line
    }
}
