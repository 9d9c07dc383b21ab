import CLinux
import Glibc

/// The AF_UNIX stream calls the control socket needs beyond `UnixStream`: each step on its own
/// (the listener is made private before it is bound, a probe must not block), so they are here,
/// thin, with `SystemError` as the error and EINTR retried.
package enum UnixSocketCalls {
    /// A new AF_UNIX stream socket, CLOEXEC; non-blocking unless told otherwise.
    package static func stream(nonBlocking: Bool = true) throws(SystemError) -> FileDescriptor {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        return FileDescriptor(rawValue: try retryingEINTR("socket(AF_UNIX)") { socket(AF_UNIX, type, 0) })
    }

    /// Calls `body` with a `sockaddr_un` for `path` (or an `@abstract` name); ENAMETOOLONG when
    /// it does not fit.
    package static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(SystemError) -> R {
        var address = sockaddr_un()
        let length = bh_unix_address(path, &address)
        guard length > 0, !path.utf8.contains(0) else {
            throw SystemError(ENAMETOOLONG, "socket path \(path) (at most \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes)")
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }

    package static func bind(_ fd: FileDescriptor, _ path: String) throws(SystemError) {
        let rc = try withAddress(path) { Glibc.bind(fd.rawValue, $0, $1) }
        if rc != 0 { throw SystemError(errno, "bind \(path)") }
    }

    package static func listen(_ fd: FileDescriptor, backlog: Int32) throws(SystemError) {
        _ = try retryingEINTR("listen") { Glibc.listen(fd.rawValue, backlog) }
    }

    /// connect(2). Returns 0 or the errno (EINPROGRESS/EAGAIN for a non-blocking socket whose
    /// listener's backlog is full).
    package static func connect(_ fd: FileDescriptor, _ path: String) throws(SystemError) -> Int32 {
        try withAddress(path) { address, length in
            while true {
                if Glibc.connect(fd.rawValue, address, length) == 0 { return 0 }
                if errno != EINTR { return errno }
            }
        }
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO (connect to a Unix socket waits by the send timeout).
    package static func setTimeouts(_ fd: FileDescriptor, receive: Duration?, send: Duration?) {
        func set(_ option: Int32, _ duration: Duration?) {
            let (seconds, attoseconds) = duration?.components ?? (0, 0)
            var value = timeval(tv_sec: Int(clamping: seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            _ = setsockopt(fd.rawValue, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
        set(SO_RCVTIMEO, receive)
        set(SO_SNDTIMEO, send)
    }

    /// SO_SNDBUF (the kernel caps it at twice net.core.wmem_max, 416 KiB by default).
    package static func setSendBuffer(_ fd: FileDescriptor, bytes: Int32) {
        var value = bytes
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// lstat(2): never follows a symbolic link.
    package static func linkStatus(_ path: String) -> (stat: stat?, errno: Int32) {
        var st = stat()
        if lstat(path, &st) == 0 { return (st, 0) }
        return (nil, errno)
    }

    package static func fileType(_ st: stat) -> UInt32 { UInt32(st.st_mode) & UInt32(S_IFMT) }
}
