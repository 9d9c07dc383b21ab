import CLinux
import Glibc

/// A socket bulkhead opens for socket activation: bound (and listening, for a stream) before
/// any worker runs, kept open across their deaths, so a client that connects while no worker
/// accepts waits in the backlog instead of being refused.
///
/// The socket is left blocking: its open file is shared by every instance (and O_NONBLOCK is a
/// property of the open file), so it stays as a freshly made socket is and each worker decides
/// for itself, as under systemd.
public enum ListeningSocket {
    public enum Address: Sendable {
        case tcp(host: String, port: Int)
        case udp(host: String, port: Int)
        case unix(path: String)
    }

    /// The socket, moved above the low fds, and what it is bound to (a port 0 resolved).
    /// - Parameters:
    ///   - mode, uid, gid: a unix socket's file (nil: 0666 as systemd's SocketMode=, and
    ///     bulkhead's own user and group).
    public static func open(_ address: Address, backlog: Int32, mode: UInt32?, uid: UInt32?, gid: UInt32?) throws(SystemError) -> (descriptor: FileDescriptor, bound: String) {
        switch address {
        case .tcp(let host, let port), .udp(let host, let port):
            let datagram: Bool
            if case .udp = address { datagram = true } else { datagram = false }
            guard let inet = InetAddress(host: host, port: port) else { throw SystemError(EINVAL, "\(host) is not a numeric address") }
            let fd = try InetSocketCalls.socket(family: inet.family, datagram: datagram, nonBlocking: false)
            do throws(SystemError) {
                // A restarted bulkhead binds at once, whatever connections of the last one are
                // still in TIME_WAIT.
                try InetSocketCalls.setReuseAddress(fd)
                try InetSocketCalls.bind(fd, inet)
                if !datagram { try UnixSocketCalls.listen(fd, backlog: backlog) }
            } catch {
                fd.close()
                throw error
            }
            let bound = InetAddress(boundTo: fd)?.description ?? inet.description
            return (fd.movedHigh(), (datagram ? "udp://" : "tcp://") + bound)
        case .unix(let path):
            try removeStale(path)
            let fd = try UnixSocketCalls.stream(nonBlocking: false)
            do throws(SystemError) {
                // Private from birth (the file takes the socket inode's mode), opened up once
                // its owner is right.
                _ = fchmod(fd.rawValue, 0o600)
                try UnixSocketCalls.bind(fd, path)
                do throws(SystemError) {
                    if uid != nil || gid != nil { try FileSystem.chown(path, uid: uid, gid: gid) }
                    try FileSystem.chmod(path, mode ?? 0o666)
                    try UnixSocketCalls.listen(fd, backlog: backlog)
                } catch {
                    unlink(path)
                    throw error
                }
            } catch {
                fd.close()
                throw error
            }
            return (fd.movedHigh(), "unix:" + path)
        }
    }

    /// A socket file nobody listens on (its daemon died) is removed; a live one, or anything
    /// that is not a socket, is left and reported.
    static func removeStale(_ path: String) throws(SystemError) {
        let (st, error) = UnixSocketCalls.linkStatus(path)
        guard let st else {
            if error == ENOENT { return }
            throw SystemError(error, "stat \(path)")
        }
        guard UnixSocketCalls.fileType(st) == UInt32(S_IFSOCK) else {
            throw SystemError(EEXIST, "\(path) exists and is not a socket")
        }
        let probe = try UnixSocketCalls.stream()
        defer { probe.close() }
        let result = try UnixSocketCalls.connect(probe, path)
        guard result == ECONNREFUSED else { throw SystemError(EADDRINUSE, "\(path) is a socket something listens on") }
        if unlink(path) != 0 && errno != ENOENT { throw SystemError(errno, "unlink \(path)") }
    }

    /// The listening socket another process holds at fd `number` (pidfd_getfd), if it is the
    /// one `address` names: a socket of that kind bound there (any port for port 0). A
    /// restarted bulkhead takes its adopted workers' sockets this way: it cannot bind them
    /// again while they listen. nil when the fd is anything else, or the kernel refuses.
    public static func take(from pidfd: FileDescriptor, number: Int32, expecting address: Address) -> (descriptor: FileDescriptor, bound: String)? {
        let raw = bh_pidfd_getfd(pidfd.rawValue, number)
        guard raw >= 0 else { return nil }
        let fd = FileDescriptor(rawValue: raw)
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(raw, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else {
            fd.close()
            return nil
        }
        switch address {
        case .tcp(let host, let port), .udp(let host, let port):
            let datagram: Bool
            if case .udp = address { datagram = true } else { datagram = false }
            guard type == Int32(datagram ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue),
                  let bound = InetAddress(boundTo: fd), let wanted = InetAddress(host: host, port: port),
                  bound.family == wanted.family, port == 0 || bound.description == wanted.description else { break }
            return (fd.movedHigh(), (datagram ? "udp://" : "tcp://") + bound.description)
        case .unix(let path):
            guard type == Int32(SOCK_STREAM.rawValue), boundPath(raw) == path else { break }
            return (fd.movedHigh(), "unix:" + path)
        }
        fd.close()
        return nil
    }

    private static func boundPath(_ fd: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        return withUnsafeBytes(of: address.sun_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Removes a unix socket's file (the worker left the config, or bulkhead exits).
    public static func removeFile(of address: Address) {
        if case .unix(let path) = address { unlink(path) }
    }
}
