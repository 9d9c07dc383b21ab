import CLinux
import Glibc

/// Kernel exit events (netlink proc connector) with the CLOCK_MONOTONIC time of each exit:
/// the start of `detect_latency_us`. Optional: needs CAP_NET_ADMIN in the initial namespaces.
public final class ExitTimestamps {
    public let descriptor: FileDescriptor
    private var buffer: [bh_exit_event]

    public init() throws(SystemError) {
        descriptor = FileDescriptor(rawValue: try check("proc connector", bh_exit_events_open(4 << 20, getpid()))).movedHigh()
        buffer = Array(repeating: bh_exit_event(), count: 512)
    }

    deinit {
        descriptor.close()
    }

    /// Everything pending: (pid, exit time in monotonic nanoseconds). `lost` is set when the
    /// kernel dropped events (a burst of unrelated exits overflowed the queue).
    public func drain(lost: inout Bool) -> [(pid: Int32, nanoseconds: UInt64)] {
        var out: [(pid: Int32, nanoseconds: UInt64)] = []
        let fd = descriptor.rawValue
        while true {
            let capacity = Int32(buffer.count)
            let n = buffer.withUnsafeMutableBufferPointer { bh_exit_events_read(fd, $0.baseAddress, capacity) }
            if n == -ENOBUFS {
                lost = true
                continue
            }
            if n == -EINTR { continue }
            if n <= 0 { break }
            for i in 0..<Int(n) { out.append((buffer[i].pid, buffer[i].timestamp_ns)) }
            if n < capacity { break }
        }
        return out
    }
}

