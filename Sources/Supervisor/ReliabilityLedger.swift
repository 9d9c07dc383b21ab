import BulkheadControl
import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc

/// The history `bulkhead report` is computed from (`state_dir/reliability.jsonl`): every death
/// that was not clean, the first `ready` after it, a `failed` or `quarantined` verdict, and an
/// operator's commands while it was not ready again — read off the event stream, so it costs
/// the loop a few hundred bytes per death. It survives the daemon: loaded at start, appended by
/// a thread of its own (file I/O never delays a restart), bounded to `keep` records.
final class ReliabilityLedger {
    /// Records as stored, oldest first (the `report` reply is made from them).
    private(set) var lines: [[UInt8]] = []
    private var first = 0
    private var keep: Int
    /// Instances with a death not followed by `ready` yet.
    private var open: Set<InstanceID> = []
    private let writer: LineAppender

    init(path: String, keep: Int) {
        self.keep = keep
        writer = LineAppender(path: path, keep: keep)
        if let bytes = FileSystem.read(path, limit: 256 << 20) {
            let stored = bytes.split(separator: 0x0A).suffix(keep)
            lines = stored.map(Array.init)
        }
    }

    var count: Int { lines.count - first }

    /// The records, oldest first.
    var records: ArraySlice<[UInt8]> { lines[first...] }

    func reconfigure(keep: Int) {
        self.keep = keep
        writer.keep = keep
        trim()
    }

    /// One event. `stableAfter`: the worker's `reset_after`.
    func observe(_ record: EventRecord, stableAfter: (String) -> Duration?) {
        guard let id = record.event.instance else { return }
        let wall = record.wallNanoseconds
        var entry: ReliabilityRecord?
        switch record.event.kind {
        case .exit:
            guard let deathClass = record.field("CLASS").flatMap(DeathClass.init(rawValue:)), deathClass != .clean else { return }
            open.insert(id)
            entry = ReliabilityRecord(
                kind: .death, wallNanoseconds: wall, instance: id, deathClass: deathClass,
                fingerprint: record.field("FINGERPRINT"), headline: record.field("HEADLINE"), crashID: record.field("CRASH_ID"),
                detectMicroseconds: record.field("DETECT_LATENCY_US").flatMap(Int64.init),
                stableAfterMilliseconds: stableAfter(id.worker)?.milliseconds
            )
        case .ready:
            guard open.remove(id) != nil else { return }
            entry = ReliabilityRecord(kind: .ready, wallNanoseconds: wall, instance: id)
        case .failed, .quarantined:
            guard open.contains(id) else { return }
            entry = ReliabilityRecord(kind: record.event.kind == .failed ? .failed : .quarantined, wallNanoseconds: wall, instance: id)
        case .command:
            guard open.contains(id), let command = record.field("COMMAND") else { return }
            entry = ReliabilityRecord(kind: .command, wallNanoseconds: wall, instance: id, command: command)
        case .spawn, .restart, .backoff, .breakerOpen, .recovered, .watchdog, .reload, .stop, .startTimeout, .waiting,
             .notifyRejected, .outputDropped, .reportNotSaved, .daemon, .alert, .alertCleared, .hook, .health:
            return
        }
        guard let entry else { return }
        let line = ReliabilityRecordCoding.line(entry)
        lines.append(line)
        trim()
        writer.append(line)
    }

    private func trim() {
        if count > keep { first = lines.count - keep }
        // Drop the skipped head once it is as long as what is kept (amortised O(1) per record).
        if first > 0 && first >= keep {
            lines.removeFirst(first)
            first = 0
        }
    }

    /// Waits (at most `timeoutNanoseconds`) for what is queued to be on disk (shutdown, tests).
    func drain(timeoutNanoseconds: Int64) {
        writer.drain(timeoutNanoseconds: timeoutNanoseconds)
    }
}

/// Appends lines to a file from a thread of its own, and keeps the file at most twice `keep`
/// lines (rewritten with the newest `keep` when it grows past that). A full queue drops lines
/// and counts them: the history is worth less than the loop's time.
final class LineAppender: @unchecked Sendable {
    let path: String
    private let monitor = ThreadMonitor()
    private lazy var wake = ThreadMonitor.Condition(monitor)
    private lazy var idle = ThreadMonitor.Condition(monitor)
    private var queue: [[UInt8]] = []
    private var busy = false
    private var keepValue: Int
    private(set) var dropped = 0
    private var lineCount: Int?

    static let maxQueued = 10_000
    /// How long the writer gathers lines after the first: a storm's deaths become one append
    /// (one open, one write) every 20 ms, not one per death, and one wake-up of this thread.
    static let gatherNanoseconds: Int64 = 20_000_000

    init(path: String, keep: Int) {
        self.path = path
        keepValue = keep
        _ = BackgroundThread.start { [self] in run() }
    }

    var keep: Int {
        get { monitor.withLock { keepValue } }
        set { monitor.withLock { keepValue = newValue } }
    }

    func append(_ line: [UInt8]) {
        monitor.withLock {
            guard queue.count < Self.maxQueued else {
                dropped += 1
                return
            }
            queue.append(line)
            wake.signal()   // a futex wake only when the writer waits: not while it gathers
        }
    }

    func drain(timeoutNanoseconds: Int64) {
        let end = MonotonicDeadline(afterNanoseconds: timeoutNanoseconds)
        monitor.withLock {
            while !queue.isEmpty || busy, let left = end.remaining {
                _ = idle.wait(nanoseconds: left)
            }
        }
    }

    private func run() {
        _ = bh_set_thread_nice(10)
        monitor.lock()
        while true {
            while queue.isEmpty {
                idle.broadcast()
                wake.wait()
            }
            busy = true
            monitor.unlock()
            BulkheadSystem.MonotonicClock.sleep(nanoseconds: Self.gatherNanoseconds)
            monitor.lock()
            let batch = queue
            queue.removeAll()
            busy = true
            let keep = keepValue
            monitor.unlock()
            write(batch, keep: keep)
            monitor.lock()
            busy = false
        }
    }

    /// Off the loop: append, and compact when the file holds twice what is kept.
    private func write(_ batch: [[UInt8]], keep: Int) {
        if lineCount == nil {
            lineCount = (FileSystem.read(path, limit: 256 << 20) ?? []).reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        }
        var bytes: [UInt8] = []
        for line in batch {
            bytes += line
            bytes.append(0x0A)
        }
        if let fd = try? FileDescriptor.open(path, O_WRONLY | O_APPEND | O_CREAT) {
            try? fd.writeAll(bytes)
            fd.close()
        }
        lineCount = (lineCount ?? 0) + batch.count
        guard let count = lineCount, count > 2 * max(keep, 1) else { return }
        let all = (FileSystem.read(path, limit: 256 << 20) ?? []).split(separator: 0x0A)
        var kept: [UInt8] = []
        for line in all.suffix(keep) {
            kept += line
            kept.append(0x0A)
        }
        try? FileSystem.writeAtomically(path, kept)
        lineCount = min(all.count, keep)
    }
}
