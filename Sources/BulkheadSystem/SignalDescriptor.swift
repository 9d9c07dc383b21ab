import CLinux
import Glibc

/// Signals taken as events: blocked in the calling thread (and so in every thread it starts
/// later), then read from a signalfd in the event loop.
public struct SignalDescriptor: ~Copyable {
    public let descriptor: FileDescriptor

    /// Blocks `signals` in the calling thread. Call first thing in `main`, before any thread
    /// exists: a thread with SIGCHLD unblocked silently eats it.
    public static func block(_ signals: [Int32]) throws(SystemError) {
        let rc = signals.withUnsafeBufferPointer { bh_block_signals($0.baseAddress, Int32($0.count)) }
        _ = try check("pthread_sigmask", rc)
    }

    public init(_ signals: [Int32]) throws(SystemError) {
        let rc = signals.withUnsafeBufferPointer { bh_signalfd_open($0.baseAddress, Int32($0.count)) }
        descriptor = FileDescriptor(rawValue: try check("signalfd", rc)).movedHigh()
    }

    deinit {
        descriptor.close()
    }

    public struct Delivery: Sendable {
        public var signal: Int32
        public var senderPID: Int32
        public var senderUID: UInt32
    }

    /// Everything pending (signals of one kind coalesce in the kernel: one SIGCHLD may stand
    /// for many deaths, so the reaper loops until nothing is left).
    public func drain() throws(SystemError) -> [Delivery] {
        var out: [Delivery] = []
        var info = bh_signal_info()
        while try retrying("read(signalfd)", { bh_signalfd_read(descriptor.rawValue, &info) }) == 1 {
            out.append(Delivery(signal: info.signo, senderPID: info.sender_pid, senderUID: info.sender_uid))
        }
        return out
    }

    /// Waits at most `milliseconds` for a signal to be pending (shutdown's last reaping only:
    /// the loop itself waits in epoll).
    public func waitReadable(milliseconds: Int32) -> Bool {
        descriptor.waitReadable(milliseconds: milliseconds)
    }

    public static func ignore(_ signal: Int32) {
        _ = bh_ignore_signal(signal)
    }
}
