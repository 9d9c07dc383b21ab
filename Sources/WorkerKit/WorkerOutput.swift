import Glibc
import Synchronization

/// Where WorkerKit writes lines (log records and its own notices).
public enum WorkerOutput: Sendable, Hashable {
    case standardError
    case standardOutput
    /// Any fd the caller keeps open (tests, a journald stream fd, …).
    case fileDescriptor(Int32)

    var fileDescriptor: Int32 {
        switch self {
        case .standardError: STDERR_FILENO
        case .standardOutput: STDOUT_FILENO
        case .fileDescriptor(let fd): fd
        }
    }

    /// Writes one complete line with one write(2).
    ///
    /// A pipe keeps a write of at most `PIPE_BUF` bytes whole, but a longer one may be split
    /// between other writers' data; the process-wide lock keeps WorkerKit's own lines from
    /// interleaving at any length. A short write (a signal, a full pipe at the boundary) is
    /// finished under the same lock. Errors are dropped: a lost reader must not stop the worker.
    func writeLine(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let fd = fileDescriptor
        lineLock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    func writeLine(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeLine($0) }
    }
}

private let lineLock = Mutex(())

/// WorkerKit's own lines (signals, forced exits, the error that ended `run`), in the same
/// `<N>` format as the log handler and independent of how logging was bootstrapped.
enum WorkerNotice {
    static func write(_ priority: SyslogPriority, _ name: String, _ text: String, to stream: WorkerOutput = .standardError) {
        var line = GrowingLine(reservingCapacity: 64 + text.utf8.count)
        _ = LineText.appendText(priority.prefix + name + ": ", to: &line)
        _ = LineText.appendText(text, to: &line)
        _ = line.append(byte: UInt8(ascii: "\n"))
        stream.writeLine(line.bytes)
    }
}
