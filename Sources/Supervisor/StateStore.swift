import BulkheadControl
import BulkheadPolicy
import BulkheadState
import BulkheadSystem
import CLinux
import Glibc

/// `state_dir/state.json` (SPEC §10), written by a thread of its own: encoding a thousand
/// instances and the fsyncs cost milliseconds, and none of it may delay the loop, least of all
/// the restarts of a crash storm. The loop hands over what changed (`update`, a few dictionary
/// writes under a lock); the writer waits `coalesce` for more, then writes the latest whole
/// document atomically and durably (temp file, fsync, rename, fsync of the directory). While
/// one write runs, changes pile up for the next: the file trails the loop by a few
/// milliseconds plus one write, and a burst costs one write, not one per death. In a long
/// storm writes start at most every `minimumIntervalNanoseconds` (the file then trails by up to
/// that: the instances' cgroups still find a process it does not name yet, `LeftoverSearch`),
/// and changes meanwhile cost no wake-up (the writer sleeps, it does not wait on the condition).
final class StateStore: @unchecked Sendable {
    let path: String
    private let monitor = ThreadMonitor()
    private lazy var wake = ThreadMonitor.Condition(monitor)
    private lazy var idle = ThreadMonitor.Condition(monitor)
    /// Changes the writer has not taken yet (nil: the instance is gone) and a new order, under
    /// the lock. The writer swaps them out whole, so the loop never copies the document: a
    /// dictionary the writer still shares would be copied on the loop's next change (10,000
    /// entries, milliseconds).
    private var pending: [InstanceID: InstanceEntry?] = [:]
    private var pendingOrder: [InstanceID]?
    /// The document, owned by whoever writes (`writing` set).
    private var documentEntries: [InstanceID: InstanceEntry] = [:]
    private var documentOrder: [InstanceID] = []
    /// Changes not yet written (bumped by each `update`), and the one the file holds.
    private var generation: UInt64 = 0
    private var writtenGeneration: UInt64 = 0
    private var writing = false
    private var threaded = false
    /// A decision waits to be written: the writer does not pause for more.
    private var urgent = false
    /// The writer pauses for more changes (a timed wait only an urgent change cuts short).
    private var gathering = false
    /// When the writer last started a write (monotonic ns) and how long it took, for the
    /// interval before the next.
    private var lastWriteStart: UInt64 = 0
    private var lastWriteNanoseconds: Int64 = 0
    private let daemonPID: Int32
    private let bootID: String
    private(set) var writes = 0
    private var failuresSinceTaken = 0
    private var lastFailure: String?

    /// How long the writer waits after a change for the ones that follow it (a crash storm's
    /// deaths come a few milliseconds apart).
    static let coalesceNanoseconds: Int64 = 5_000_000
    /// The least time between the starts of two writes: a crash storm of a thousand restarts a
    /// second costs 20 writes a second (each an fsync and the whole document), not 200.
    static let minimumIntervalNanoseconds: Int64 = 50_000_000
    /// A write of a big document (10,000 instances: megabytes of JSON, tens of milliseconds)
    /// waits this many times its last duration after it: the writer takes a fifth of a CPU at
    /// most, not the one the loop and the workers need while ten thousand start.
    static let intervalPerWriteTime: Int64 = 4

    init(path: String, daemonPID: Int32, background: Bool = true) {
        self.path = path
        self.daemonPID = daemonPID
        bootID = ProcFS.bootID()
        if background { threaded = BackgroundThread.start { [self] in runLoop() } }
    }

    /// The clocks read together, for a document written now.
    func clockReading() -> ClockReading {
        ClockReading(bootID: bootID, monotonic: MonotonicClock.now(), wallNanoseconds: WallClock.nowNanoseconds())
    }

    // MARK: - The loop's side

    /// New entries (nil: the instance is gone) and, when it changed, the config's order.
    /// `urgent`: a decision (see `DurableState.decision`), written without the writer's pause.
    func update(_ changes: [(InstanceID, InstanceEntry?)], order newOrder: [InstanceID]?, urgent: Bool = false) {
        guard !changes.isEmpty || newOrder != nil else { return }
        locked {
            for (id, entry) in changes { pending.updateValue(entry, forKey: id) }
            if let newOrder { pendingOrder = newOrder }
            generation += 1
            if urgent { self.urgent = true }
            // While the writer gathers, only a decision wakes it (other changes join the write
            // it is about to make); glibc's signal makes no system call when nobody waits.
            if threaded && (!gathering || urgent) { wake.signal() }
        }
        if !threaded { writeIfChanged() }
    }

    /// Writes what is pending now and returns once it is on disk (a re-exec, the end of a
    /// shutdown): at most `timeoutNanoseconds` of waiting for a write already running.
    func flush(timeoutNanoseconds: Int64 = 2_000_000_000) {
        guard threaded else {
            writeIfChanged()
            return
        }
        let end = MonotonicDeadline(afterNanoseconds: timeoutNanoseconds)
        monitor.lock()
        while writing, let left = end.remaining { _ = idle.wait(nanoseconds: left) }
        let pending = !writing && generation != writtenGeneration
        if pending { writing = true }
        monitor.unlock()
        if pending { writeLatest() }
    }

    /// Writes the disk refused since the last call, and why the last one failed.
    func takeFailures() -> (count: Int, reason: String?) {
        locked {
            defer { failuresSinceTaken = 0 }
            return (failuresSinceTaken, lastFailure)
        }
    }

    var writeCount: Int { locked { writes } }

    private func locked<T>(_ body: () -> T) -> T {
        monitor.withLock(body)
    }

    // MARK: - The writer

    private func runLoop() {
        _ = bh_set_thread_nice(10)   // below the loop and the workers
        monitor.lock()
        while true {
            while generation == writtenGeneration || writing { wake.wait() }
            // A moment for the changes that follow this one (the rest of a storm's turn), and
            // no sooner than the minimum interval after the last write began. Changes meanwhile
            // do not wake this thread: they are in the document it writes next.
            let sinceLast = Int64(bitPattern: MonotonicClock.nanoseconds() &- lastWriteStart)
            let interval = max(Self.minimumIntervalNanoseconds, Self.intervalPerWriteTime * lastWriteNanoseconds)
            if !urgent {
                gathering = true
                _ = wake.wait(nanoseconds: max(Self.coalesceNanoseconds, interval - sinceLast))
                gathering = false
            }
            guard !writing, generation != writtenGeneration else { continue }
            urgent = false
            writing = true
            lastWriteStart = MonotonicClock.nanoseconds()
            monitor.unlock()
            writeLatest()
            monitor.lock()
            lastWriteNanoseconds = Int64(bitPattern: MonotonicClock.nanoseconds() &- lastWriteStart)
        }
    }

    private func writeIfChanged() {
        let pending = locked { () -> Bool in
            guard generation != writtenGeneration, !writing else { return false }
            writing = true
            return true
        }
        if pending { writeLatest() }
    }

    /// Called with `writing` set and the monitor not held: one document, from the entries as
    /// they are now, written; `writing` cleared.
    private func writeLatest() {
        let (changes, newOrder, target) = locked { () -> ([InstanceID: InstanceEntry?], [InstanceID]?, UInt64) in
            defer {
                pending = [:]
                pendingOrder = nil
            }
            return (pending, pendingOrder, generation)
        }
        for (id, entry) in changes { documentEntries[id] = entry }
        if let newOrder { documentOrder = newOrder }
        let listed = documentOrder.compactMap { documentEntries[$0] }
        let document = StateDocument(clock: clockReading(), daemonPID: daemonPID, daemonVersion: BulkheadVersion.current, instances: listed)
        var failure: String?
        do {
            try FileSystem.writeDurably(path, document.encoded(.pretty))
        } catch {
            failure = error.description
        }
        locked {
            writing = false
            // A failed write is tried again with the next change (the loop reports a full
            // disk, rate-limited, from `takeFailures`).
            writtenGeneration = max(writtenGeneration, target)
            if let failure {
                failuresSinceTaken += 1
                lastFailure = failure
            } else {
                writes += 1
            }
            idle.broadcast()
        }
    }

    // MARK: - Reading it back

    enum Loaded {
        /// No state file: a first start.
        case none
        case document(StateDocument)
        /// Unreadable or not a state document: moved aside (or not, when even that failed).
        case corrupt(reason: String, movedTo: String?)
    }

    /// The state file as the last daemon left it. A corrupt one is moved aside to
    /// `state.json.corrupt-<time>` so nothing is lost and the next write starts clean.
    static func load(path: String) -> Loaded {
        guard FileSystem.exists(path) else { return .none }
        guard let bytes = FileSystem.read(path, limit: 256 << 20) else {
            return moveAside(path, reason: "it cannot be read (\(SystemError.describe(errno)))")
        }
        do {
            return .document(try StateDocument.decode(bytes))
        } catch {
            return moveAside(path, reason: bytes.isEmpty ? "it is empty" : error.reason)
        }
    }

    private static func moveAside(_ path: String, reason: String) -> Loaded {
        let aside = path + ".corrupt-" + WallClockText.compact(WallClock.nowNanoseconds())
        do {
            try FileSystem.rename(path, to: aside)
            return .corrupt(reason: reason, movedTo: aside)
        } catch {
            return .corrupt(reason: reason, movedTo: nil)
        }
    }
}
