import BulkheadForensics
import BulkheadSystem

/// The kernel's lines about unhandled faults of the workers (`cworker[29030]: segfault at 0 ip …`,
/// `traps: crashlab[29461] trap invalid opcode …`), read from `/dev/kmsg` and kept by pid until
/// the death is explained: for a program no runtime explains (C, a stripped or static binary, the
/// backtracer off) they give the fault address that makes `SIGSEGV` a null pointer or a stray one.
///
/// The kernel logs the line as it delivers the fatal signal, before the process is gone, so it
/// is there by the time the death is reaped; it is read when the fd is readable (an epoll source,
/// so the backlog stays small) and once more on each death. Reads never block (O_NONBLOCK). Absent
/// without the privilege to read the kernel's log, or inside a pid namespace (the kernel names
/// pids as the host sees them): deaths are then explained without it.
final class KernelFaultLog {
    private let messages: KernelMessages?
    private let buffer: UnsafeMutableRawBufferPointer
    /// Fault lines of live or just-reaped workers, by pid, oldest first.
    private var lines: [(pid: Int32, line: String)] = []

    /// A worker's line is taken at its death; one that never is (a fault the process survived)
    /// waits here until pushed out.
    static let kept = 64
    /// Records read per call: a chatty kernel (a firewall logging packets) cannot hold a turn.
    static let recordsPerRead = 256

    init(loop: EventLoop) {
        buffer = .allocate(byteCount: KernelMessages.bufferSize, alignment: 8)
        guard ProcFS.seesKernelPIDs(), let messages = try? KernelMessages() else {
            self.messages = nil
            return
        }
        do {
            try loop.register(messages.descriptor, .readable, .kernelLog)
            self.messages = messages
        } catch {
            messages.close()
            self.messages = nil
        }
    }

    deinit {
        buffer.deallocate()
    }

    var isReading: Bool { messages != nil }

    /// Reads what the kernel logged since the last call (up to `recordsPerRead` records) and
    /// keeps the fault lines of the pids `isWorker` accepts.
    func read(isWorker: (Int32) -> Bool) {
        guard let messages else { return }
        for _ in 0..<Self.recordsPerRead {
            switch messages.next(buffer) {
            case .none: return
            case .skipped: continue
            case .record(let record):
                // The first line is the message; ` KEY=value` lines may follow it.
                let line = String(record.prefix { $0 != "\n" })
                guard let pid = KernelFaultRecord.pid(of: line), isWorker(pid) else { continue }
                lines.removeAll { $0.pid == pid }   // a process has one fatal fault: the last
                lines.append((pid, line))
                if lines.count > Self.kept { lines.removeFirst(lines.count - Self.kept) }
            }
        }
    }

    /// The fault line of `pid`, now that it died; reads what came in first.
    func take(_ pid: Int32, isWorker: (Int32) -> Bool) -> String? {
        read { $0 == pid || isWorker($0) }
        guard let index = lines.firstIndex(where: { $0.pid == pid }) else { return nil }
        return lines.remove(at: index).line
    }
}
