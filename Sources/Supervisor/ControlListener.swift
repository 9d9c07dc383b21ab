import BulkheadControl
import BulkheadSystem
import Glibc

/// The control socket on disk: its directory checked (or created) so nobody else can swap the
/// socket, a lock so two daemons cannot share it, a stale socket from a dead daemon replaced,
/// and the socket made private before it is bound, then given `control.mode` and `control.group`.
final class ControlListener {
    let path: String
    let descriptor: FileDescriptor
    /// `path.lock`, flock'ed for the daemon's life: a second daemon fails at once, even when
    /// both start together (a connect probe alone races between unlink and bind).
    private let lock: FileDescriptor
    /// The socket's identity, so stopping removes our socket and never a successor's.
    private let device: UInt64
    private let inode: UInt64

    /// Backlog: clients that connect faster than one loop turn accepts them wait here.
    static let backlog: Int32 = 1024

    /// - Parameters:
    ///   - mode: the socket's permission bits (`control.mode`).
    ///   - group: the gid its group is set to (`control.group`), or nil.
    init(path: String, mode: UInt32, group: UInt32?) throws(SystemError) {
        self.path = path
        try Self.prepare(directory: Self.directory(of: path))
        let lock = try Self.takeLock(path: path)
        let fd: FileDescriptor
        do {
            try Self.removeStale(path)
            fd = try Self.bindPrivately(path: path, mode: mode, group: group)
        } catch {
            lock.close()
            throw error
        }
        let (st, _) = UnixSocketCalls.linkStatus(path)
        self.lock = lock
        descriptor = fd
        device = UInt64(st?.st_dev ?? 0)
        inode = UInt64(st?.st_ino ?? 0)
    }

    /// The listener a previous image of this process bound (a re-exec): same socket, same lock,
    /// so clients that connect during the exec wait in its backlog and are served after it.
    init(inheriting descriptor: FileDescriptor, lock: FileDescriptor, path: String) {
        self.path = path
        self.descriptor = descriptor
        self.lock = lock
        let (st, _) = UnixSocketCalls.linkStatus(path)
        device = UInt64(st?.st_dev ?? 0)
        inode = UInt64(st?.st_ino ?? 0)
    }

    /// What a re-exec must keep open: the socket and its lock.
    var lockDescriptor: FileDescriptor { lock }

    /// Private from birth: Linux gives a bound socket file the socket inode's mode (less the
    /// umask), so fchmod before bind leaves no moment in which the file is open to everyone;
    /// chmod to `control.mode` comes after the group is set.
    static func bindPrivately(path: String, mode: UInt32, group: UInt32?) throws(SystemError) -> FileDescriptor {
        let fd = try UnixSocketCalls.stream()
        do throws(SystemError) {
            _ = fchmod(fd.rawValue, 0o600)
            do {
                try UnixSocketCalls.bind(fd, path)
            } catch {
                if error.errno == EADDRINUSE { throw alreadyRunning(path, pid: probe(path).pid) }
                throw SystemError(error.errno, "cannot bind the control socket \(path)")
            }
            do throws(SystemError) {
                if let group, chown(path, uid_t.max, group) != 0 {
                    throw SystemError(errno, "cannot give the control socket \(path) group \(group) (control.group)")
                }
                if chmod(path, mode_t(mode & 0o777)) != 0 {
                    throw SystemError(errno, "cannot set mode \(String(mode, radix: 8)) on the control socket \(path) (control.mode)")
                }
                try UnixSocketCalls.listen(fd, backlog: backlog)
            } catch {
                unlink(path)
                throw error
            }
            return fd
        } catch {
            fd.close()
            throw error
        }
    }

    /// `control.mode` / `control.group` changed on reload.
    func apply(mode: UInt32, group: UInt32?) throws(SystemError) {
        if let group, chown(path, uid_t.max, group) != 0 {
            throw SystemError(errno, "chgrp \(path) to gid \(group)")
        }
        if chmod(path, mode_t(mode & 0o777)) != 0 { throw SystemError(errno, "chmod \(path)") }
    }

    /// Closes the listener and removes the socket file if it is still ours.
    func close() {
        descriptor.close()
        let (st, _) = UnixSocketCalls.linkStatus(path)
        if let st, UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode {
            unlink(path)
        }
        lock.close()
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// The socket's directory exists, is a real directory (a planted symlink is refused, never
    /// followed), belongs to us or root, and nobody else may write in it (unless sticky, like
    /// /tmp, where only an entry's owner can replace it). Created when missing: 0755 for root
    /// (members of control.group must reach the socket), 0700 for a user daemon.
    static func prepare(directory: String) throws(SystemError) {
        let me = geteuid()
        var (st, error) = UnixSocketCalls.linkStatus(directory)
        if st == nil && error == ENOENT {
            let mode: mode_t = me == 0 ? 0o755 : 0o700
            do {
                try FileSystem.makeDirectories(directory, mode: mode)
            } catch {
                throw SystemError(error.errno, "cannot create the control socket directory \(directory)")
            }
            (st, error) = UnixSocketCalls.linkStatus(directory)
            if let created = st, UnixSocketCalls.fileType(created) == UInt32(S_IFDIR), created.st_uid == me {
                _ = chmod(directory, mode)   // the umask may have taken bits away
                (st, error) = UnixSocketCalls.linkStatus(directory)
            }
        }
        guard let st else {
            throw SystemError(error, "cannot use the control socket directory \(directory)")
        }
        let type = UnixSocketCalls.fileType(st)
        if type == UInt32(S_IFLNK) {
            throw SystemError(ELOOP, "the control socket directory \(directory) is a symbolic link, which bulkhead never follows (remove it, or set control.socket elsewhere)")
        }
        guard type == UInt32(S_IFDIR) else {
            throw SystemError(ENOTDIR, "the control socket directory \(directory) is not a directory (remove it, or set control.socket elsewhere)")
        }
        guard st.st_uid == me || st.st_uid == 0 else {
            throw SystemError(EPERM, "the control socket directory \(directory) belongs to uid \(st.st_uid), who could replace the socket (use a directory owned by uid \(me) or root)")
        }
        let mode = UInt32(st.st_mode)
        if mode & 0o022 != 0 && mode & UInt32(S_ISVTX) == 0 {
            throw SystemError(EPERM, "the control socket directory \(directory) is writable by others, who could replace the socket (chmod go-w \(directory))")
        }
    }

    static func takeLock(path: String) throws(SystemError) -> FileDescriptor {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        if fd < 0 { throw SystemError(errno, "cannot open the control socket's lock file \(lockPath)") }
        var st = stat()
        if fstat(fd, &st) != 0 || UnixSocketCalls.fileType(st) != UInt32(S_IFREG) || st.st_uid != geteuid() {
            Glibc.close(fd)
            throw SystemError(EPERM, "the lock file \(lockPath) is not a regular file of uid \(geteuid()) (remove it)")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let e = errno
            Glibc.close(fd)
            if e == EWOULDBLOCK { throw alreadyRunning(path, pid: probe(path).pid) }
            throw SystemError(e, "cannot lock \(lockPath)")
        }
        return FileDescriptor(rawValue: fd)
    }

    static func alreadyRunning(_ path: String, pid: Int32?) -> SystemError {
        let who = pid.map { "another bulkhead daemon (pid \($0))" } ?? "another bulkhead daemon"
        return SystemError(EADDRINUSE, "\(who) is already running with the control socket \(path) (stop it first, or give this one its own --socket or control.socket)")
    }

    /// Connects to `path` without blocking: is something listening there, and who (the
    /// listener's pid, from SO_PEERCRED)?
    static func probe(_ path: String) -> (live: Bool, errno: Int32, pid: Int32?) {
        guard let fd = try? UnixSocketCalls.stream() else { return (false, 0, nil) }
        defer { fd.close() }
        guard let result = try? UnixSocketCalls.connect(fd, path) else { return (false, ENAMETOOLONG, nil) }
        switch result {
        case 0:
            return (true, 0, try? UnixStream.peerCredentials(fd).pid)
        case EAGAIN, EINPROGRESS:
            // A full backlog: alive but busy.
            return (true, result, nil)
        default:
            return (false, result, nil)
        }
    }

    /// A socket left by a daemon that died is removed; anything else at the path is an error.
    static func removeStale(_ path: String) throws(SystemError) {
        let (st, error) = UnixSocketCalls.linkStatus(path)
        guard let st else {
            if error == ENOENT { return }
            throw SystemError(error, "cannot inspect \(path)")
        }
        guard UnixSocketCalls.fileType(st) == UInt32(S_IFSOCK) else {
            throw SystemError(EEXIST, "\(path) exists and is not a socket (remove it, or set control.socket elsewhere)")
        }
        let probe = probe(path)
        if probe.live { throw alreadyRunning(path, pid: probe.pid) }
        // ECONNREFUSED: nobody listens, the daemon that made it is gone.
        if unlink(path) != 0 && errno != ENOENT {
            throw SystemError(errno, "cannot remove the stale control socket \(path)")
        }
    }
}
