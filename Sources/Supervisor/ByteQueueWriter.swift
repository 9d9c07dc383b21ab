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
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var drained = pthread_cond_t()
    private var queue: [UInt8] = []
    private var writing = false
    private var threaded = false
    private var droppedLines = 0

    /// - Parameter reserve: room past `capacity` that only `submit`'s `salvage` may use.
    init(capacity: Int, reserve: Int = 0, deliver: @escaping Deliver) {
        self.capacity = capacity
        self.reserve = reserve
        self.deliver = deliver
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&drained, nil)
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
            pthread_mutex_lock(&mutex)
            droppedLines += refused
            pthread_mutex_unlock(&mutex)
            return true
        }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if queue.count + bytes.count <= capacity {
            queue.append(contentsOf: bytes)
            pthread_cond_signal(&wake)
            return true
        }
        droppedLines += lines
        let before = queue.count
        salvage? { part in
            if queue.count + part.count <= capacity + reserve { queue.append(contentsOf: part) }
        }
        if queue.count > before { pthread_cond_signal(&wake) }
        return false
    }

    /// Lines dropped since the last call.
    func takeDroppedLines() -> Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let n = droppedLines
        droppedLines = 0
        return n
    }

    /// Waits (at most `timeoutNanoseconds`) until everything queued has been delivered.
    func drain(timeoutNanoseconds: Int64) {
        guard threaded else { return }
        var deadline = BackgroundThread.wakeDeadline(afterNanoseconds: timeoutNanoseconds)
        pthread_mutex_lock(&mutex)
        while !queue.isEmpty || writing {
            if pthread_cond_timedwait(&drained, &mutex, &deadline) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(&mutex)
    }

    private func runLoop() {
        _ = bh_set_thread_nice(10)   // the supervision loop and the workers come first
        var local: [UInt8] = []
        local.reserveCapacity(1 << 20)
        pthread_mutex_lock(&mutex)
        while true {
            while queue.isEmpty { pthread_cond_wait(&wake, &mutex) }
            swap(&local, &queue)
            writing = true
            pthread_mutex_unlock(&mutex)
            let refused = local.withUnsafeBytes { deliver($0) }
            // A flood's buffer is not kept for ever.
            local.removeAll(keepingCapacity: local.capacity <= 4 << 20)
            pthread_mutex_lock(&mutex)
            droppedLines += refused
            writing = false
            if queue.isEmpty { pthread_cond_broadcast(&drained) }
        }
    }
}
