import BulkheadSystem
import CLinux
import Glibc

/// A bounded byte queue emptied by a thread of its own at nice 10: the loop hands bytes over and
/// never waits for whoever consumes them (a pipe, a terminal, journald). What does not fit is
/// dropped and its lines counted. `OutputWriter` and `JournalWriter` are this with their own
/// `deliver`.
final class ByteQueueWriter: @unchecked Sendable {
    /// Consumes one batch on the writer thread; returns how many of its lines were refused
    /// (counted as dropped).
    typealias Deliver = (UnsafeRawBufferPointer) -> Int

    private let capacity: Int
    private let reserve: Int
    private let deliver: Deliver
    private let monitor = ThreadMonitor()
    private lazy var wake = ThreadMonitor.Condition(monitor)
    private lazy var drained = ThreadMonitor.Condition(monitor)
    private var queue: [UInt8] = []
    private var writing = false
    private var threaded = false
    private var droppedLines = 0

    /// - Parameter reserve: room past `capacity` that only `submit`'s `salvage` may use.
    init(capacity: Int, reserve: Int = 0, deliver: @escaping Deliver) {
        self.capacity = capacity
        self.reserve = reserve
        self.deliver = deliver
        queue.reserveCapacity(1 << 20)
        threaded = BackgroundThread.start { [self] in runLoop() }
    }

    /// Queues `bytes`, which hold `lines` lines; false when they were dropped. When they do not
    /// fit, `salvage` may still keep parts of them (it calls `keep` with each), within the
    /// reserve. Without a thread (it could not be created) they are delivered inline.
    @discardableResult
    func submit(_ bytes: UnsafeRawBufferPointer, lines: Int,
                salvage: ((_ keep: (UnsafeRawBufferPointer) -> Void) -> Void)? = nil) -> Bool {
        guard threaded else {
            let refused = deliver(bytes)
            monitor.withLock { droppedLines += refused }
            return true
        }
        monitor.lock()
        defer { monitor.unlock() }
        if queue.count + bytes.count <= capacity {
            queue.append(contentsOf: bytes)
            wake.signal()   // no syscall unless the writer waits for bytes
            return true
        }
        droppedLines += lines
        let before = queue.count
        salvage? { part in
            if queue.count + part.count <= capacity + reserve { queue.append(contentsOf: part) }
        }
        if queue.count > before { wake.signal() }
        return false
    }

    /// Lines dropped since the last call.
    func takeDroppedLines() -> Int {
        monitor.withLock {
            let n = droppedLines
            droppedLines = 0
            return n
        }
    }

    /// Waits (at most `timeoutNanoseconds`) until everything queued has been delivered.
    func drain(timeoutNanoseconds: Int64) {
        guard threaded else { return }
        let end = MonotonicDeadline(afterNanoseconds: timeoutNanoseconds)
        monitor.lock()
        while !queue.isEmpty || writing {
            guard let left = end.remaining else { break }
            _ = drained.wait(nanoseconds: left)
        }
        monitor.unlock()
    }

    private func runLoop() {
        _ = bh_set_thread_nice(10)   // the supervision loop and the workers come first
        var local: [UInt8] = []
        local.reserveCapacity(1 << 20)
        monitor.lock()
        while true {
            while queue.isEmpty { wake.wait() }
            swap(&local, &queue)
            writing = true
            monitor.unlock()
            let refused = local.withUnsafeBytes { deliver($0) }
            // A flood's buffer is not kept for ever.
            local.removeAll(keepingCapacity: local.capacity <= 4 << 20)
            monitor.lock()
            droppedLines += refused
            writing = false
            if queue.isEmpty { drained.broadcast() }
        }
    }
}
