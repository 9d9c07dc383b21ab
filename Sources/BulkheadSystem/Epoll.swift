import CLinux

/// epoll: the one place the daemon waits. Every registration carries a 64-bit token.
public struct Epoll: ~Copyable {
    public let descriptor: FileDescriptor
    private var buffer: [bh_event]

    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Interest(rawValue: UInt32(BH_EPOLLIN))
        public static let writable = Interest(rawValue: UInt32(BH_EPOLLOUT))
        public static let peerClosed = Interest(rawValue: UInt32(BH_EPOLLRDHUP))
    }

    public struct Event: Sendable {
        public var token: UInt64
        public var events: UInt32
        public var isReadable: Bool { events & UInt32(BH_EPOLLIN) != 0 }
        public var isWritable: Bool { events & UInt32(BH_EPOLLOUT) != 0 }
        public var isHangup: Bool { events & UInt32(BH_EPOLLHUP | BH_EPOLLERR | BH_EPOLLRDHUP) != 0 }
    }

    public init(capacity: Int = 256) throws(SystemError) {
        descriptor = FileDescriptor(rawValue: try check("epoll_create1", bh_epoll_create())).movedHigh()
        buffer = Array(repeating: bh_event(events: 0, token: 0), count: capacity)
    }

    deinit {
        descriptor.close()
    }

    public func add(_ fd: FileDescriptor, _ interest: Interest, token: UInt64) throws(SystemError) {
        _ = try check("epoll_ctl(ADD)", bh_epoll_add(descriptor.rawValue, fd.rawValue, interest.rawValue, token))
    }

    public func modify(_ fd: FileDescriptor, _ interest: Interest, token: UInt64) throws(SystemError) {
        _ = try check("epoll_ctl(MOD)", bh_epoll_modify(descriptor.rawValue, fd.rawValue, interest.rawValue, token))
    }

    /// Removing an fd that is already closed is harmless; errors are ignored on purpose.
    public func remove(_ fd: FileDescriptor) {
        _ = bh_epoll_remove(descriptor.rawValue, fd.rawValue)
    }

    /// Waits until an fd is ready or the timeout passes (nil: forever).
    public mutating func wait(timeoutNanoseconds: Int64?) throws(SystemError) -> [Event] {
        let capacity = Int32(buffer.count)
        let fd = descriptor.rawValue
        // An interruption restarts the whole wait: the loop computes its timeout from a
        // deadline each turn, so a restarted wait at worst wakes a turn late by the signal's time.
        let n = try retrying("epoll_pwait2") {
            buffer.withUnsafeMutableBufferPointer { bh_epoll_wait(fd, $0.baseAddress, capacity, timeoutNanoseconds ?? -1) }
        }
        var events: [Event] = []
        events.reserveCapacity(Int(n))
        for i in 0..<Int(n) {
            events.append(Event(token: buffer[i].token, events: buffer[i].events))
        }
        return events
    }
}
