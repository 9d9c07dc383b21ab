import Glibc

/// Writes bulkhead's text output (worker lines and events) to a descriptor from its own thread,
/// so a slow reader of that descriptor (a full pipe, a stalled terminal) can never block the
/// supervision loop. The queue is bounded: past it, whole chunks are dropped and counted.
final class OutputWriter: Sendable {
    private let queue: ByteQueueWriter

    init(fd: Int32, capacity: Int = 16 << 20) {
        queue = ByteQueueWriter(capacity: capacity) { Self.writeAll(fd, $0) }
    }

    /// Queues `bytes` (holding `lines` lines). Returns false when they were dropped.
    @discardableResult
    func submit(_ bytes: UnsafeRawBufferPointer, lines: Int) -> Bool {
        queue.submit(bytes, lines: lines)
    }

    /// Lines dropped since the last call.
    func takeDroppedLines() -> Int {
        queue.takeDroppedLines()
    }

    /// Waits (at most `timeoutNanoseconds`) until everything queued has been written.
    func drain(timeoutNanoseconds: Int64) {
        queue.drain(timeoutNanoseconds: timeoutNanoseconds)
    }

    /// Every byte, waiting out a non-blocking descriptor's EAGAIN; a descriptor that is gone
    /// (EPIPE, EBADF) ends it: the queue keeps draining.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, 1000)
                    continue
                }
                break
            }
            offset += n
        }
        return 0
    }
}
