import CLinux
import Glibc

/// An IPv4 or IPv6 socket address made from a numeric host (inet_pton: never a name lookup,
/// which could block) and a port.
public struct InetAddress: Sendable, CustomStringConvertible {
    private var storage = sockaddr_storage()
    public private(set) var length: socklen_t = 0

    public var family: Int32 { Int32(storage.ss_family) }

    /// nil when `host` is not an IPv4 or IPv6 literal or the port is out of range.
    public init?(host: String, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return
        }
        var v6 = sockaddr_in6()
        guard inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 else { return nil }
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: v6) { raw.copyMemory(from: $0) } }
        length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    }

    /// The address a socket is bound to (getsockname): a port 0 becomes the one the kernel chose.
    public init?(boundTo fd: FileDescriptor) {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd.rawValue, $0, &length) }
        }
        guard rc == 0, family == AF_INET || family == AF_INET6 else { return nil }
        self.length = length
    }

    public var port: Int {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET ? Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
                              : Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
        }
    }

    /// `127.0.0.1:8080`, `[::1]:8080`.
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET {
                var address = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
            } else {
                var address = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            }
        }
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// TCP and UDP calls for health probes and listening sockets: thin, `SystemError` as the
/// error, EINTR retried.
public enum InetSocketCalls {
    /// socket(family, SOCK_STREAM or SOCK_DGRAM | SOCK_CLOEXEC [| SOCK_NONBLOCK]).
    public static func socket(family: Int32, datagram: Bool = false, nonBlocking: Bool) throws(SystemError) -> FileDescriptor {
        var type = Int32((datagram ? SOCK_DGRAM : SOCK_STREAM).rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        return FileDescriptor(rawValue: try retryingEINTR("socket") { Glibc.socket(family, type, 0) })
    }

    /// connect(2) on a non-blocking socket: 0 (connected), EINPROGRESS (wait for writable, then
    /// `pendingError`), or the errno of a connect that failed at once.
    public static func connect(_ fd: FileDescriptor, to address: InetAddress) -> Int32 {
        address.withSocketAddress { pointer, length in
            while true {
                if Glibc.connect(fd.rawValue, pointer, length) == 0 { return 0 }
                if errno != EINTR { return errno }
            }
        }
    }

    /// SO_ERROR: the outcome of a non-blocking connect once the socket is writable (0: connected).
    public static func pendingError(_ fd: FileDescriptor) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd.rawValue, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    /// send(MSG_NOSIGNAL | MSG_DONTWAIT): the bytes taken, nil when the buffer is full.
    public static func send(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        while true {
            let n = Glibc.send(fd.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError(errno, "send")
        }
    }

    public static func setReuseAddress(_ fd: FileDescriptor) throws(SystemError) {
        var one: Int32 = 1
        _ = try retryingEINTR("setsockopt(SO_REUSEADDR)") {
            setsockopt(fd.rawValue, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    public static func bind(_ fd: FileDescriptor, _ address: InetAddress) throws(SystemError) {
        let rc = address.withSocketAddress { Glibc.bind(fd.rawValue, $0, $1) }
        if rc != 0 { throw SystemError(errno, "bind \(address)") }
    }
}
