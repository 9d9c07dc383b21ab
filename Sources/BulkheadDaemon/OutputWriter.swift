import CLinux
import Glibc

/// Writes bulkhead's text output (worker lines and events) to a descriptor from its own thread,
/// so a slow reader of that descriptor (a full pipe, a stalled terminal) can never block the
/// supervision loop. The queue is bounded: past it, whole chunks are dropped and counted.
final class OutputWriter: @unchecked Sendable {
    private let fd: Int32
    private let capacity: Int
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var drained = pthread_cond_t()
    private var queue: [UInt8] = []
    private var writing = false
    private var stopping = false
    private var thread: pthread_t?
    /// Lines dropped because the queue was full (read and reset by the loop).
    private var droppedLines = 0

    init(fd: Int32, capacity: Int = 16 << 20) {
        self.fd = fd
        self.capacity = capacity
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&drained, nil)
        queue.reserveCapacity(1 << 20)
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let writer = Unmanaged<OutputWriter>.fromOpaque(raw!).takeRetainedValue()
            writer.runLoop()
            return nil
        }, context)
        if rc == 0 { thread = handle } else { Unmanaged<OutputWriter>.fromOpaque(context).release() }
    }

    /// Queues `bytes` (holding `lines` lines). Returns false when they were dropped.
    @discardableResult
    func submit(_ bytes: UnsafeRawBufferPointer, lines: Int) -> Bool {
        guard thread != nil else {
            _ = Glibc.write(fd, bytes.baseAddress, bytes.count)
            return true
        }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard queue.count + bytes.count <= capacity else {
            droppedLines += lines
            return false
        }
        queue.append(contentsOf: bytes)
        pthread_cond_signal(&wake)
        return true
    }

    /// Lines dropped since the last call.
    func takeDroppedLines() -> Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let n = droppedLines
        droppedLines = 0
        return n
    }

    /// Waits (at most `timeoutNanoseconds`) until everything queued has been written.
    func drain(timeoutNanoseconds: Int64) {
        guard thread != nil else { return }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let total = Int64(deadline.tv_nsec) + timeoutNanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
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
            while queue.isEmpty && !stopping {
                pthread_cond_wait(&wake, &mutex)
            }
            if queue.isEmpty && stopping { break }
            swap(&local, &queue)
            writing = true
            pthread_mutex_unlock(&mutex)
            local.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        if errno == EAGAIN {
                            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                            _ = poll(&p, 1, 1000)
                            continue
                        }
                        break   // EPIPE, EBADF: the output is gone; keep draining the queue
                    }
                    offset += n
                }
            }
            local.removeAll(keepingCapacity: true)
            pthread_mutex_lock(&mutex)
            writing = false
            if queue.isEmpty { pthread_cond_broadcast(&drained) }
        }
        pthread_mutex_unlock(&mutex)
    }
}
