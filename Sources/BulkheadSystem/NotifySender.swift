import CLinux
import Glibc

/// The sending side of the sd_notify protocol, for bulkhead's own service manager: one
/// AF_UNIX datagram socket, opened once, non-blocking, so a service manager that stops reading
/// can never block the loop that sends (a datagram that would block is kept by the caller and
/// sent later). `sd_notify(3)` cannot be used: it reads `NOTIFY_SOCKET` on every call, and
/// bulkhead removes that variable from its environment at start.
public struct NotifySender: Sendable {
    public let descriptor: FileDescriptor
    /// `/run/systemd/notify` or `@abstract` (the sd_notify address forms systemd 252 uses).
    public let address: String
    private let socketAddress: sockaddr_un
    private let addressLength: socklen_t

    /// socket(2) `AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK`, aimed at `address`.
    public init(address: String) throws(SystemError) {
        guard address.hasPrefix("@") || address.hasPrefix("/") else { throw SystemError(EAFNOSUPPORT, "NOTIFY_SOCKET \(address)") }
        var addr = sockaddr_un()
        let length = bh_unix_address(address, &addr)
        guard length > 0, address.utf8.count > 1 else { throw SystemError(ENAMETOOLONG, "NOTIFY_SOCKET \(address)") }
        socketAddress = addr
        addressLength = socklen_t(length)
        self.address = address
        let fd = try retryingEINTR("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        descriptor = FileDescriptor(rawValue: fd).movedHigh()
    }

    /// sendto(2) one datagram. Returns false when it would block (the receiver's queue is full).
    public func send(_ message: String) throws(SystemError) -> Bool {
        var addr = socketAddress
        let length = addressLength
        let fd = descriptor.rawValue
        var text = message
        let sent = text.withUTF8 { utf8 in
            withUnsafePointer(to: &addr) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    while true {
                        let n = sendto(fd, utf8.baseAddress, utf8.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sa, length)
                        if n >= 0 { return Int32(0) }
                        if errno == EINTR { continue }
                        return errno
                    }
                }
            }
        }
        if sent == 0 { return true }
        if sent == EAGAIN || sent == EWOULDBLOCK { return false }
        throw SystemError(sent, "sendto \(address)")
    }

    public func close() {
        descriptor.close()
    }
}
