import BulkheadPolicy
import BulkheadSystem
import Glibc

/// Everything one scrape reports, taken from the loop in one piece (copies of value types: no
/// lock is held while it is rendered, and the loop is not asked again until the next scrape).
struct MetricsSnapshot: Sendable {
    var counters: MetricsCounters
    var rows: [InstanceSnapshot]
    var now: Instant
    var wallNanoseconds: Int64
    var daemon: DaemonFigures
    /// Per worker: lines and bytes of each stream.
    var output: [String: OutputCounts]
    /// Configured hooks and alerts, so their series exist (at 0) before anything happens.
    var hookNames: [String]
    var alertNames: [String]
    var hooksRunning: Int
    /// Read on the thread that renders (it is the same process).
    var process: ProcessStats?

    struct DaemonFigures: Sendable {
        var version: String
        var startedWallNanoseconds: Int64
        var notifyDropped: Int
        var outputLinesDropped: Int
        var reportsUnsaved: Int
        var reportsLost: Int
        var eventFollowers: Int
        var eventsLost: UInt64
    }
}

/// Lines and bytes a worker wrote, per stream.
struct OutputCounts: Sendable, Equatable {
    var stdoutLines: UInt64 = 0
    var stderrLines: UInt64 = 0
    var stdoutBytes: UInt64 = 0
    var stderrBytes: UInt64 = 0

    mutating func add(_ other: OutputCounts) {
        stdoutLines += other.stdoutLines
        stderrLines += other.stderrLines
        stdoutBytes += other.stdoutBytes
        stderrBytes += other.stderrBytes
    }
}

/// The daemon's own figures from /proc/self: memory, fds, threads, CPU time.
struct ProcessStats: Sendable {
    var residentBytes: UInt64
    var virtualBytes: UInt64
    var openFDs: Int
    var maxFDs: UInt64
    var threads: Int
    var cpuSeconds: Double

    static func read() -> ProcessStats? {
        guard let statm = FileSystem.readText("/proc/self/statm", limit: 4096)?.split(separator: " "), statm.count >= 2,
              let pages = UInt64(statm[1]), let virtualPages = UInt64(statm[0]) else { return nil }
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        let threads = FileSystem.list("/proc/self/task").count
        // /proc/self/stat: utime and stime are fields 14 and 15, after the command in parentheses.
        var cpu = 0.0
        if let stat = FileSystem.readText("/proc/self/stat", limit: 4096), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpu = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return ProcessStats(residentBytes: pages * pageSize, virtualBytes: virtualPages * pageSize,
                            openFDs: max(FileSystem.list("/proc/self/fd").count - 1, 0), maxFDs: UInt64(limit.rlim_cur),
                            threads: threads, cpuSeconds: cpu)
    }
}
