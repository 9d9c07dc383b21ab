import BulkheadControl
import CLinux
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// `state_dir/crashes`: one pretty JSON file per report, plus `index.jsonl` (one summary per
/// line) so listing never parses every report. Bounded (SPEC §7, `crash_reports`): the newest
/// `per_worker` of each worker and `total` in all, the oldest going first — except the reports
/// a current verdict points to (`pinned`: the death behind a `failed`, `quarantined` or `open`
/// instance), which stay whatever else comes.
///
/// Reports are written by a thread of their own: encoding a report and creating, renaming and
/// deleting files cost hundreds of microseconds (more on a filesystem churning through inodes),
/// and none of it may delay the restart that follows a death. The loop reserves the id and
/// lists the summary at once; the file follows a few milliseconds later.
final class CrashReportStore: @unchecked Sendable {
    let directory: String
    private let monitor = ThreadMonitor()
    private lazy var wake = ThreadMonitor.Condition(monitor)
    private lazy var written = ThreadMonitor.Condition(monitor)
    /// Readable when reports were written (an eventfd the writer thread adds to): the loop
    /// answers `crash ID` requests that waited for one, and never waits itself.
    private let writtenSignal: EventSignal?
    private var retentionValue: CrashReportRetention
    private var entries: [(id: String, worker: String, bytes: Int, summary: JSON)] = []
    /// Reports kept per worker (counted as `entries` changes).
    private var perWorker: [String: Int] = [:]
    /// Reports retention never removes (set by the loop from the current verdicts).
    private var pinnedIDs = Set<String>()
    private var known = Set<String>()
    private var queue: [Job] = []
    private var inFlight: String?
    private var totalBytes = 0
    private var indexLines = 0
    private var droppedReports = 0
    private var threaded = false
    /// Reports the disk refused (full, read-only, gone), oldest first: kept in memory so
    /// `bulkhead crash ID` still answers, and written as soon as the disk takes them again.
    private var unsaved: [(id: String, bytes: [UInt8])] = []
    /// The writer sleeps with no deadline: only a signal wakes it (see `enqueueRepeat`).
    private var writerWaitsUntimed = false
    private var unsavedBytes = 0
    /// Unsaved reports pushed out of memory by newer ones: lost for good (counted).
    private var lostReports = 0
    /// Write failures since the loop last asked, and the last one's reason.
    private var failuresSinceTaken = 0
    private var lastFailure: String?
    /// Deaths folded into earlier reports (CrashCoalescer), waiting for the writer, and what
    /// it keeps of them per report until the report is rewritten.
    private var repeatQueue: [(id: String, death: CrashReportRepeats.Death)] = []
    private var repeats = CrashReportRepeats()
    /// The latest reports as built, so a repeat is merged without reading the file back.
    private var built: [String: JSON] = [:]
    private var builtOrder: [String] = []
    static let builtKept = 64

    static let maxUnsaved = 256
    static let maxUnsavedBytes = 32 << 20
    /// How often the writer tries the disk again while reports wait in memory.
    static let retryNanoseconds: Int64 = 2_000_000_000

    /// Reports waiting to be written; past this, new ones are dropped (and counted).
    static let maxQueued = 4096

    struct Job {
        var id: String
        var record: DeathRecord
        var evidence: DeathEvidence?
        var wall: Int64
        /// Hooks want the report: its bytes are kept for the loop (`takeReportCopies`).
        var keepCopy = false
    }

    /// Reports hooks wait for, as written, until the loop takes them (bounded: a hook that is
    /// too late runs without its report).
    private var copies: [(id: String, bytes: [UInt8])] = []
    static let maxCopies = 256

    var indexPath: String { directory + "/index.jsonl" }

    var retention: CrashReportRetention {
        get { locked { retentionValue } }
        set { locked { retentionValue = newValue } }
    }

    /// The reports current verdicts point to: retention keeps them.
    var pinned: Set<String> {
        get { locked { pinnedIDs } }
        set { locked { pinnedIDs = newValue } }
    }

    init(directory: String, retention: CrashReportRetention, background: Bool = true) {
        self.directory = directory
        self.retentionValue = retention
        writtenSignal = try? EventSignal()
        load()
        if background { threaded = BackgroundThread.start { [self] in runLoop() } }
    }

    private func locked<T>(_ body: () -> T) -> T {
        monitor.withLock(body)
    }

    /// Reads the index, keeping entries whose file still exists, in the files' (time) order.
    private func load() {
        let files = Set(FileSystem.list(directory).filter { $0.hasSuffix(".json") })
        var seen = Set<String>()
        for line in (FileSystem.read(indexPath) ?? []).split(separator: 0x0A) {
            guard let summary = try? JSON(parsing: line), let id = summary["id"]?.string,
                  files.contains(id + ".json"), seen.insert(id).inserted else { continue }
            let bytes = Int(FileSystem.info(directory + "/" + id + ".json")?.size ?? 0)
            entries.append((id, summary["worker"]?.string ?? "", bytes, summary))
            totalBytes += bytes
        }
        for entry in entries { perWorker[entry.worker, default: 0] += 1 }
        entries.sort { $0.id < $1.id }
        known = Set(files.map { String($0.dropLast(5)) })
        indexLines = entries.count
    }

    /// A fresh id: `20261129-140327-412-api-0` (UTC time, worker, index), unique in the store.
    func newID(for instance: InstanceID, wall: Int64) -> String {
        locked {
            let base = "\(WallClockText.compact(wall))-\(instance.worker)-\(instance.index)"
            var id = base
            var n = 2
            while known.contains(id) {
                id = "\(base)-\(n)"
                n += 1
            }
            known.insert(id)
            return id
        }
    }

    /// Queues a report; its summary is listed at once. False when the queue was full.
    @discardableResult
    func enqueue(id: String, record: DeathRecord, evidence: DeathEvidence?, wall: Int64, keepCopy: Bool = false) -> Bool {
        let summary = CrashReport.summary(id: id, record: record, wall: wall)
        return locked {
            guard queue.count < Self.maxQueued else {
                droppedReports += 1
                known.remove(id)
                return false
            }
            entries.append((id, record.instance.worker, 0, summary))
            perWorker[record.instance.worker, default: 0] += 1
            queue.append(Job(id: id, record: record, evidence: evidence, wall: wall, keepCopy: keepCopy))
            if !threaded {
                writeQueued()
            } else {
                wake.signal()
            }
            return true
        }
    }

    /// A death folded into report `id` (it gets no file of its own): the report is rewritten
    /// with its repeats, at most once a second.
    func enqueueRepeat(id: String, _ death: CrashReportRepeats.Death) {
        locked {
            guard repeatQueue.count < Self.maxQueued else {
                droppedReports += 1
                return
            }
            repeatQueue.append((id, death))
            if !threaded {
                writeRepeats(force: true)
            } else if writerWaitsUntimed {
                // Otherwise the writer wakes by itself for the next flush of repeats (within a
                // second) and takes these then: a storm's folded deaths cost no wake-up each.
                wake.signal()
            }
        }
    }

    /// The reports written for hooks since the last call (the loop takes them when told through
    /// `writtenDescriptor`).
    func takeReportCopies() -> [(id: String, bytes: [UInt8])] {
        locked {
            defer { copies = [] }
            return copies
        }
    }

    /// Reports dropped because the writer could not keep up, since the last call.
    func takeDroppedReports() -> Int {
        locked {
            defer { droppedReports = 0 }
            return droppedReports
        }
    }

    /// Writes the disk refused since the last call, and why the last one failed.
    func takeWriteFailures() -> (count: Int, reason: String?) {
        locked {
            defer { failuresSinceTaken = 0 }
            return (failuresSinceTaken, lastFailure)
        }
    }

    /// Reports held in memory for want of disk, and reports lost for good since the start.
    var unsavedCounts: (unsaved: Int, lost: Int) {
        locked { (unsaved.count, lostReports) }
    }

    /// A report the disk refused, from memory (nil when it is not one of those).
    func unsavedReport(id: String) -> [UInt8]? {
        locked { unsaved.first { $0.id == id }?.bytes }
    }

    /// Report `id` is queued or being written (the loop defers a `crash ID` for it rather than
    /// wait, see `writtenSignal`).
    func isPending(_ id: String) -> Bool {
        locked { pendingUnlocked(id) }
    }

    private func pendingUnlocked(_ id: String) -> Bool {
        inFlight == id || queue.contains { $0.id == id }
    }

    /// What the loop watches to learn that reports were written.
    var writtenDescriptor: FileDescriptor? { writtenSignal?.descriptor }

    /// The loop saw `writtenDescriptor` readable.
    func takeWrittenSignal() {
        writtenSignal?.take()
    }

    /// Waits (at most `timeoutNanoseconds`) until report `id` is on disk, if it is queued. Off
    /// the loop only: shutdown, and tests.
    func waitUntilWritten(_ id: String, timeoutNanoseconds: Int64 = 2_000_000_000) {
        let end = MonotonicDeadline(afterNanoseconds: timeoutNanoseconds)
        monitor.lock()
        while pendingUnlocked(id) {
            guard let left = end.remaining else { break }
            _ = written.wait(nanoseconds: left)
        }
        monitor.unlock()
    }

    /// Waits until every queued report is written (shutdown).
    func drain(timeoutNanoseconds: Int64) {
        if let last = locked({ queue.last?.id ?? inFlight }) {
            waitUntilWritten(last, timeoutNanoseconds: timeoutNanoseconds)
        }
        // Repeats not yet written go now, not a second later.
        locked { writeRepeats(force: true) }
    }

    /// Newest first.
    func summaries(worker: String?, limit: Int) -> [JSON] {
        locked {
            var out: [JSON] = []
            for entry in entries.reversed() where out.count < limit {
                if let worker, entry.summary["worker"]?.string != worker && entry.summary["instance"]?.string != worker { continue }
                out.append(entry.summary)
            }
            return out
        }
    }

    func report(id: String) -> [UInt8]? {
        guard !id.contains("/"), !id.hasPrefix(".") else { return nil }
        waitUntilWritten(id)
        return FileSystem.read(directory + "/" + id + ".json", limit: 64 << 20)
    }

    // MARK: - The writer

    private func runLoop() {
        _ = bh_set_thread_nice(10)   // the supervision loop and the workers come first
        monitor.lock()
        while true {
            while queue.isEmpty && repeatQueue.isEmpty {
                let now = Int64(clamping: MonotonicClock.now().nanoseconds)
                let flush = repeats.nextFlush.map { $0 <= now ? 0 : $0 - now }
                if unsaved.isEmpty && flush == nil {
                    writerWaitsUntimed = true
                    wake.wait()
                    writerWaitsUntimed = false
                } else if !wake.wait(nanoseconds: min(flush ?? Self.retryNanoseconds, Self.retryNanoseconds)) {
                    if !unsaved.isEmpty { writeUnsaved() }
                    writeRepeats(force: false)
                }
            }
            writeQueued()
            writeRepeats(force: false)
        }
    }

    /// Called with the mutex held; drops it around the file work.
    private func writeQueued() {
        while !queue.isEmpty {
            let job = queue.removeFirst()
            inFlight = job.id
            monitor.unlock()
            let report = CrashReport.build(id: job.id, record: job.record, evidence: job.evidence)
            let bytes = report.encodedBytes(.pretty) + [0x0A]
            let failure = save(job.id, bytes)
            monitor.lock()
            inFlight = nil
            keepBuilt(job.id, report)
            if job.keepCopy {
                copies.append((job.id, bytes))
                if copies.count > Self.maxCopies { copies.removeFirst() }
            }
            if let failure {
                keepUnsaved(job.id, bytes, failure)
            } else {
                saved(job.id, bytes: bytes.count)
                writeUnsaved()   // the disk takes writes again: the ones that waited go too
            }
            written.broadcast()
            writtenSignal?.signal()
        }
    }

    /// With the mutex held: the latest reports as built (for merging repeats into them).
    private func keepBuilt(_ id: String, _ report: JSON) {
        built[id] = report
        builtOrder.append(id)
        if builtOrder.count > Self.builtKept { built[builtOrder.removeFirst()] = nil }
    }

    /// With the mutex held (dropped around each file): folded deaths are counted, and each
    /// report whose turn has come (or every one, `force`) is rewritten with its repeats.
    private func writeRepeats(force: Bool) {
        for (id, death) in repeatQueue { repeats.add(death, to: id) }
        repeatQueue = []
        let now = Int64(clamping: MonotonicClock.now().nanoseconds)
        for id in force ? repeats.dirtyIDs : repeats.due(now) {
            let base = built[id] ?? FileSystem.read(directory + "/" + id + ".json", limit: 64 << 20).flatMap { try? JSON(parsing: $0[...]) }
            guard let base, entries.contains(where: { $0.id == id }) else {
                repeats.forget(id)   // gone already (retention): the count lives on in the journal
                continue
            }
            let merged = repeats.merge(into: base, id: id, now)
            let count = repeats.count(of: id)
            if let index = entries.lastIndex(where: { $0.id == id }) { entries[index].summary.set("repeats", .int(Int64(count))) }
            monitor.unlock()
            let failure = save(id, merged.encodedBytes(.pretty) + [0x0A])
            monitor.lock()
            if let failure {
                failuresSinceTaken += 1
                lastFailure = failure
            }
            written.broadcast()
        }
    }

    /// Called without the mutex: file work. The reason when the disk refused.
    private func save(_ id: String, _ bytes: [UInt8]) -> String? {
        do {
            try FileSystem.writeAtomically(directory + "/" + id + ".json", bytes)
            return nil
        } catch where error.errno == ENOENT {
            // The directory was removed under the daemon (state_dir deleted): made again, the
            // report goes where `bulkhead crash` and the operator look for it.
            do {
                try FileSystem.makeDirectories(directory, mode: 0o755)
                try FileSystem.writeAtomically(directory + "/" + id + ".json", bytes)
                return nil
            } catch {
                return error.description
            }
        } catch {
            return error.description
        }
    }

    /// With the mutex held: the report is on disk.
    private func saved(_ id: String, bytes: Int) {
        guard let index = entries.lastIndex(where: { $0.id == id }) else { return }
        entries[index].bytes = bytes
        totalBytes += bytes
        appendIndex(entries[index].summary)
        enforceRetention(worker: entries[index].worker)
    }

    /// With the mutex held: the disk refused `id`; it waits in memory (bounded: the oldest
    /// waiting report goes first, and is counted lost).
    private func keepUnsaved(_ id: String, _ bytes: [UInt8], _ reason: String) {
        failuresSinceTaken += 1
        lastFailure = reason
        unsaved.append((id, bytes))
        unsavedBytes += bytes.count
        while unsaved.count > Self.maxUnsaved || (unsavedBytes > Self.maxUnsavedBytes && unsaved.count > 1) {
            let oldest = unsaved.removeFirst()
            unsavedBytes -= oldest.bytes.count
            lostReports += 1
            if let index = entries.firstIndex(where: { $0.id == oldest.id }) { forgetEntry(at: index) }
            known.remove(oldest.id)
        }
    }

    /// With the mutex held (dropped around each file): the reports waiting in memory, oldest
    /// first, until one is refused again.
    private func writeUnsaved() {
        while let next = unsaved.first {
            monitor.unlock()
            let failure = save(next.id, next.bytes)
            monitor.lock()
            if let failure {
                lastFailure = failure
                return
            }
            if let index = unsaved.firstIndex(where: { $0.id == next.id }) {
                unsaved.remove(at: index)
                unsavedBytes -= next.bytes.count
                saved(next.id, bytes: next.bytes.count)
            }
        }
    }

    /// With the mutex held: report `entries[index]` goes, file and all.
    private func removeReport(at index: Int) {
        let id = entries[index].id
        if let waiting = unsaved.firstIndex(where: { $0.id == id }) {
            unsavedBytes -= unsaved[waiting].bytes.count
            unsaved.remove(at: waiting)
        }
        forgetEntry(at: index)
        known.remove(id)
        repeats.forget(id)
        FileSystem.remove(directory + "/" + id + ".json")
    }

    private func appendIndex(_ summary: JSON) {
        if let fd = try? FileDescriptor.open(indexPath, O_WRONLY | O_APPEND | O_CREAT) {
            try? fd.writeAll(summary.encodedBytes(.compact) + [0x0A])
            fd.close()
        }
        indexLines += 1
    }

    /// With the mutex held: drops `entries[index]` from the counts (not its file).
    private func forgetEntry(at index: Int) {
        let entry = entries.remove(at: index)
        totalBytes -= entry.bytes
        perWorker[entry.worker, default: 1] -= 1
        if perWorker[entry.worker] == 0 { perWorker[entry.worker] = nil }
    }

    /// A report that retention may remove: on disk, not pinned by a verdict.
    private func removable(_ index: Int, worker: String?) -> Bool {
        let entry = entries[index]
        if let worker, entry.worker != worker { return false }
        return !pinnedIDs.contains(entry.id) && !queue.contains(where: { $0.id == entry.id })
    }

    /// With the mutex held, after a report of `worker` was saved: its worker's oldest over
    /// `per_worker`, then the oldest of all over `total` or `max_bytes`; pinned reports stay
    /// (they may leave a worker or the store over its bound until their verdict is cleared).
    private func enforceRetention(worker: String) {
        var removed = 0
        let perWorkerLimit = max(1, retentionValue.perWorker)
        let keep = max(1, retentionValue.keep)
        let maxBytes = Int(clamping: retentionValue.maxBytes)
        var scanFrom = 0
        while perWorker[worker, default: 0] > perWorkerLimit,
              let index = entries[scanFrom...].indices.first(where: { removable($0, worker: worker) }) {
            removeReport(at: index)
            scanFrom = index
            removed += 1
        }
        scanFrom = 0
        while entries.count > keep || (totalBytes > maxBytes && entries.count > 1),
              let index = entries[scanFrom...].indices.first(where: { removable($0, worker: nil) }) {
            removeReport(at: index)
            scanFrom = index
            removed += 1
        }
        // The index is append-only; rewrite it once it holds twice what is kept.
        if removed > 0 && indexLines > 2 * max(entries.count, 16) {
            var bytes: [UInt8] = []
            for entry in entries where !queue.contains(where: { $0.id == entry.id }) {
                bytes += entry.summary.encodedBytes(.compact) + [0x0A]
            }
            try? FileSystem.writeAtomically(indexPath, bytes)
            indexLines = entries.count
        }
    }
}
