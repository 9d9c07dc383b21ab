import CLinux
import Glibc

/// The sending end of the sd_notify protocol: one datagram per message to `NOTIFY_SOCKET`, a
/// path or an abstract `@name`. Without an address every send is a no-op, as sd_notify(3)
/// specifies.
///
/// Sends never block for long. An AF_UNIX datagram receiver queues only
/// `net.unix.max_dgram_qlen` messages (10 by default); after that a blocking sender waits until
/// the supervisor reads, so a slow or stopped supervisor would freeze every task that reports a
/// status, and the signal thread with them. (CLinux's `bh_notify_send` sends blocking, which
/// is why this type speaks the protocol itself.) Each send uses a non-blocking socket
/// connected to the receiver, which makes `poll(POLLOUT)` wait for room in the receiver's
/// queue: a message waits at most its `patience`, then it is dropped.
public struct NotifySocket: Sendable, Hashable {
    /// A path or an abstract `@name`; nil when the worker is not supervised.
    public let address: String?

    public init(address: String?) {
        self.address = address
    }

    /// True when messages go somewhere.
    public var isEnabled: Bool { address != nil }

    /// Sends one datagram, waiting at most `patience` for room in the receiver's queue.
    /// Returns true when it was sent; false when there is no socket, the receiver is gone, or
    /// its queue stayed full (a supervisor in trouble must not take the worker with it).
    @discardableResult
    public func send(_ message: NotifyMessage, patience: Duration = .zero) -> Bool {
        guard let address else { return false }
        let deadline = bh_monotonic_ns() &+ MonotonicTime.nanoseconds(patience)
        let type = SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue
        let fd = socket(AF_UNIX, Int32(bitPattern: type), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard Self.connect(fd, to: address) else { return false }
        let bytes = message.encoded
        while true {
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent >= 0 { return true }
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                let now = bh_monotonic_ns()
                guard now < deadline else { return false }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, Int32(clamping: (deadline - now + 999_999) / 1_000_000))
            default:
                return false
            }
        }
    }

    /// connect(2) to a path (`sun_path` with its NUL) or an abstract name (a leading NUL, the
    /// name's exact bytes, no terminator), as sd_notify does.
    private static func connect(_ fd: Int32, to address: String) -> Bool {
        var socketAddress = sockaddr_un()
        let length = bh_unix_address(address, &socketAddress)   // the one AF_UNIX address builder
        guard length > 0 else { return false }
        let result = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(length)) }
        }
        return result == 0
    }
}
