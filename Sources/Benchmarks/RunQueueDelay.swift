import Glibc

/// Time a thread spent runnable but waiting for a CPU (/proc/…/schedstat, second field). Read
/// around each round trip it tells a slow reply that was the daemon's doing from one where the
/// client or the daemon simply had no CPU (two cores shared with fifty crash-looping workers).
struct RunQueueDelay {
    private let descriptor: Int32

    /// `path`: /proc/thread-self/schedstat, or /proc/PID/task/TID/schedstat.
    init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    /// Nanoseconds waited so far (0 if unreadable).
    func nanoseconds() -> UInt64 {
        field(1)
    }

    /// Nanoseconds run on a CPU so far.
    func running() -> UInt64 {
        field(0)
    }

    private func field(_ index: Int) -> UInt64 {
        var buffer = [UInt8](repeating: 0, count: 96)
        let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return 0 }
        let fields = buffer[0..<n].split(separator: 0x20)
        guard fields.count > index else { return 0 }
        return UInt64(String(decoding: fields[index], as: UTF8.self)) ?? 0
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
