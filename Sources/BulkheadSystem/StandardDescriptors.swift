import Glibc

/// fds 0, 1 and 2.
public enum StandardDescriptors {
    /// Opens /dev/null on each of fds 0–2 that is closed. open(2) returns the lowest free
    /// number, so walking up from 0 fills exactly the gaps. Not CLOEXEC: they are stdio.
    public static func openMissingAsDevNull() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", O_RDWR)
            if opened >= 0 && opened != fd { close(opened) }   // not the gap: leave it, never misplace
        }
    }
}
