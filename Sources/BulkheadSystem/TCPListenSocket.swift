import CLinux
import Glibc

/// A listening TCP socket on a numeric IPv4 or IPv6 address (the metrics endpoint): non-blocking,
/// close-on-exec, moved above the fds workers inherit.
public enum TCPListenSocket {
    public static func listen(host: String, port: Int, backlog: Int32 = 64) throws(SystemError) -> FileDescriptor {
        let family = host.contains(":") ? AF_INET6 : AF_INET
        let raw = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard raw >= 0 else { throw SystemError(errno, "socket") }
        let fd = FileDescriptor(rawValue: raw)
        var one: Int32 = 1
        _ = setsockopt(raw, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(truncatingIfNeeded: port).bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                fd.close()
                throw SystemError(EINVAL, "inet_pton(\(host))")
            }
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(raw, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                fd.close()
                throw SystemError(EINVAL, "inet_pton(\(host))")
            }
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(raw, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard bound == 0 else {
            let error = SystemError(errno, "bind(\(host.contains(":") ? "[\(host)]" : host):\(port))")
            fd.close()
            throw error
        }
        guard Glibc.listen(raw, backlog) == 0 else {
            let error = SystemError(errno, "listen")
            fd.close()
            throw error
        }
        return fd.movedHigh()
    }

    /// A waiting connection (non-blocking, close-on-exec), or nil when none is waiting.
    public static func accept(_ listener: FileDescriptor) throws(SystemError) -> FileDescriptor? {
        do {
            // bh_unix_accept is accept4(SOCK_CLOEXEC | SOCK_NONBLOCK): any stream socket.
            return FileDescriptor(rawValue: try retrying("accept4") { bh_unix_accept(listener.rawValue) })
        } catch {
            if error.errno == EAGAIN || error.errno == ECONNABORTED { return nil }
            throw error
        }
    }

    /// Sends what the socket takes now; 0 when it takes nothing. Throws when the peer is gone.
    public static func sendSome(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        do {
            return try retryingEINTR("send") { send(fd.rawValue, base, bytes.count, Int32(MSG_NOSIGNAL)) }
        } catch {
            if error.errno == EAGAIN { return 0 }
            throw error
        }
    }
}
