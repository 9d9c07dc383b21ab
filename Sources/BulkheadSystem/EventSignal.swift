import CLinux
import Glibc

/// An eventfd: one thread adds to it, the loop's epoll sees it readable, the loop reads it back
/// to zero. How a writer thread tells the loop "done" without the loop ever waiting for it.
public final class EventSignal: @unchecked Sendable {
    public let descriptor: FileDescriptor

    public init() throws(SystemError) {
        descriptor = FileDescriptor(rawValue: try check("eventfd", bh_eventfd())).movedHigh()
    }

    deinit {
        descriptor.close()
    }

    /// Adds one (from any thread; never blocks short of 2^64 - 1 unread signals).
    public func signal() {
        var one: UInt64 = 1
        _ = write(descriptor.rawValue, &one, 8)
    }

    /// Reads it back to zero; how many signals there were.
    @discardableResult
    public func take() -> UInt64 {
        var count: UInt64 = 0
        return read(descriptor.rawValue, &count, 8) == 8 ? count : 0
    }
}
