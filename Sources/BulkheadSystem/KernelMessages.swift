import Glibc

/// The kernel's log, `/dev/kmsg`, read from where it ended when it was opened: one record per
/// read(2) (`6,693,1721854555,-;text`, then ` KEY=value` lines), never blocking. Reading it
/// needs CAP_SYSLOG unless `kernel.dmesg_restrict` is 0; without either, opening fails and the
/// caller does without.
public struct KernelMessages: Sendable {
    public let descriptor: FileDescriptor

    /// open(2) `/dev/kmsg` non-blocking, then lseek(2) to its end: what the kernel logged before
    /// is not ours to read again.
    public init(path: String = "/dev/kmsg") throws(SystemError) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_NONBLOCK)
        guard lseek(fd.rawValue, 0, SEEK_END) >= 0 else {
            let error = SystemError(errno, "lseek \(path)")
            fd.close()
            throw error
        }
        descriptor = fd.movedHigh()
    }

    /// A record is at most a line of text (1 KiB in the kernel) and its key/value lines; a
    /// read(2) with a smaller buffer fails with EINVAL.
    public static let bufferSize = 8192

    public enum Next: Equatable, Sendable {
        case record(String)
        /// Nothing more for now.
        case none
        /// Records were overwritten before they were read (EPIPE); the next read goes on after
        /// the gap.
        case skipped
    }

    /// The next record, as the kernel gave it. `buffer` must hold `bufferSize` bytes.
    public func next(_ buffer: UnsafeMutableRawBufferPointer) -> Next {
        while true {
            let n = read(descriptor.rawValue, buffer.baseAddress, buffer.count)
            if n > 0 { return .record(String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)) }
            if n == 0 { return .none }
            switch errno {
            case EINTR: continue
            case EPIPE: return .skipped
            default: return .none   // EAGAIN: no record; anything else: nothing to be done now
            }
        }
    }

    public func close() {
        descriptor.close()
    }
}
