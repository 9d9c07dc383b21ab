import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// `state_dir/crashes`: one pretty JSON file per report, plus `index.jsonl` (one summary per
/// line) so listing never parses every report. Bounded: the oldest reports go first.
final class CrashReportStore {
    let directory: String
    var retention: CrashReportRetention
    private(set) var entries: [(id: String, bytes: Int, summary: JSON)] = []
    private var totalBytes = 0
    private var indexLines = 0

    var indexPath: String { directory + "/index.jsonl" }

    init(directory: String, retention: CrashReportRetention) {
        self.directory = directory
        self.retention = retention
        load()
    }

    /// Reads the index, keeping entries whose file still exists, in the files' (time) order.
    private func load() {
        let files = Set(FileSystem.list(directory).filter { $0.hasSuffix(".json") })
        var seen = Set<String>()
        for line in (FileSystem.read(indexPath) ?? []).split(separator: 0x0A) {
            guard let summary = try? JSON(parsing: line), let id = summary["id"]?.string,
                  files.contains(id + ".json"), seen.insert(id).inserted else { continue }
            let bytes = Int(FileSystem.info(directory + "/" + id + ".json")?.size ?? 0)
            entries.append((id, bytes, summary))
            totalBytes += bytes
        }
        entries.sort { $0.id < $1.id }
        indexLines = entries.count
    }

    /// A fresh id: `20261129-140327-412-api-0` (UTC time, worker, index), unique in the store.
    func newID(for instance: InstanceID, wall: Int64) -> String {
        let base = "\(WallClockText.compact(wall))-\(instance.worker)-\(instance.index)"
        var id = base
        var n = 2
        while FileSystem.exists(directory + "/" + id + ".json") {
            id = "\(base)-\(n)"
            n += 1
        }
        return id
    }

    func save(id: String, report: JSON, summary: JSON) throws(SystemError) {
        let bytes = report.encodedBytes(.pretty) + [0x0A]
        try FileSystem.writeAtomically(directory + "/" + id + ".json", bytes)
        entries.append((id, bytes.count, summary))
        totalBytes += bytes.count
        appendIndex(summary)
        enforceRetention()
    }

    func report(id: String) -> [UInt8]? {
        guard !id.contains("/"), !id.hasPrefix(".") else { return nil }
        return FileSystem.read(directory + "/" + id + ".json", limit: 64 << 20)
    }

    /// Newest first.
    func summaries(worker: String?, limit: Int) -> [JSON] {
        var out: [JSON] = []
        for entry in entries.reversed() where out.count < limit {
            if let worker, entry.summary["worker"]?.string != worker && entry.summary["instance"]?.string != worker { continue }
            out.append(entry.summary)
        }
        return out
    }

    private func appendIndex(_ summary: JSON) {
        let fd = try? FileDescriptor.open(indexPath, O_WRONLY_APPEND_CREATE)
        if let fd {
            try? fd.writeAll(summary.encodedBytes(.compact) + [0x0A])
            fd.close()
        }
        indexLines += 1
    }

    private func enforceRetention() {
        var removed = 0
        while entries.count > max(1, retention.keep) || (totalBytes > Int(clamping: retention.maxBytes) && entries.count > 1) {
            let oldest = entries.removeFirst()
            totalBytes -= oldest.bytes
            FileSystem.remove(directory + "/" + oldest.id + ".json")
            removed += 1
        }
        // The index is append-only; rewrite it once it holds twice what is kept.
        if removed > 0 && indexLines > 2 * max(entries.count, 16) {
            var bytes: [UInt8] = []
            for entry in entries { bytes += entry.summary.encodedBytes(.compact) + [0x0A] }
            try? FileSystem.writeAtomically(indexPath, bytes)
            indexLines = entries.count
        }
    }
}

import Glibc
let O_WRONLY_APPEND_CREATE: Int32 = O_WRONLY | O_APPEND | O_CREAT
