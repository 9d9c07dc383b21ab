import BulkheadSystem
import Glibc

/// `state_dir/lock`, flock'ed for the daemon's life (SPEC §10: one daemon per state dir). Two
/// daemons on one state dir would each take the other's workers for leftovers; the second one
/// refuses to start instead. The lock is on the open file, so it survives a re-exec (the fd is
/// handed over) and goes when the daemon's process does, however it ends.
final class StateDirectoryLock {
    let descriptor: FileDescriptor
    let path: String

    private init(descriptor: FileDescriptor, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Takes the lock, and writes our pid into the file for the message a second daemon gives.
    static func take(stateDirectory: String) throws(SystemError) -> StateDirectoryLock {
        let path = stateDirectory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 { throw SystemError(errno, "cannot open the state directory's lock file \(path)") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let e = errno
            let holder = FileSystem.readText(path, limit: 64).flatMap { Int32($0.filter(\.isNumber)) }
            Glibc.close(fd)
            if e == EWOULDBLOCK {
                let who = holder.map { "another bulkhead daemon (pid \($0))" } ?? "another bulkhead daemon"
                throw SystemError(EADDRINUSE, "\(who) is already running with the state directory \(stateDirectory) (stop it first, or give this one its own state_dir)")
            }
            throw SystemError(e, "cannot lock \(path)")
        }
        let descriptor = FileDescriptor(rawValue: fd).movedHigh()
        _ = ftruncate(descriptor.rawValue, 0)
        _ = try? descriptor.writeAll(Array("\(getpid())\n".utf8))
        return StateDirectoryLock(descriptor: descriptor, path: path)
    }

    /// The lock a previous image of this process held (a re-exec): already ours.
    static func inherited(_ descriptor: FileDescriptor, stateDirectory: String) -> StateDirectoryLock {
        StateDirectoryLock(descriptor: descriptor, path: stateDirectory + "/lock")
    }
}
