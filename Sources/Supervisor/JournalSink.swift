import BulkheadPolicy
import Glibc

/// SPEC §6 with journald: every worker line and every supervisor event is its own structured
/// journal entry, sent by `JournalWriter`'s thread.
///
/// Worker lines: `MESSAGE` (the line without its `<N>` prefix), `PRIORITY` (stdout 6,
/// stderr 3, or the prefix), `SYSLOG_IDENTIFIER=<worker>`, `BULKHEAD_WORKER`,
/// `BULKHEAD_INSTANCE`, `BULKHEAD_STREAM`. The bytes go to journald as they came: a line that
/// is not valid UTF-8 or holds control characters is stored as binary data (journald's native
/// protocol carries any bytes; `journalctl` prints it as `[N blob data]` unless `--all`, and
/// `-o json` as an array of numbers) rather than altered, because a worker's output is
/// evidence. Lines are at most 32 KiB (`WorkerLauncher.maxLine`): a longer one arrives as
/// several entries, cut where bulkhead cut it.
///
/// The loop's share of a line is a few appends into a staging buffer (see `JournalRecord`);
/// the buffer goes to the writer at the end of each loop iteration, or sooner when it is big.
final class JournalSink: OutputSink {
    private let writer: JournalWriter
    private var staging: [UInt8] = []
    private var stagedLines = 0
    private var stagedEvents = 0
    private static let flushThreshold = 256 << 10

    init(writer: JournalWriter = JournalWriter()) {
        self.writer = writer
        staging.reserveCapacity(Self.flushThreshold + 65536)
    }

    func workerLine(_ id: InstanceID, label: String, stream: OutputStream, line: UnsafeRawBufferPointer) {
        var batch = LineBatch()
        batch.add(line)
        workerLines(id, label: label, stream: stream, batch: batch)
    }

    func workerLines(_ id: InstanceID, label: String, stream: OutputStream, batch: LineBatch) {
        var out: [UInt8] = []
        swap(&out, &staging)   // one exclusive access to the property per batch, not per line
        batch.forEach { line in
            let (priority, skip) = LinePriority.parse(line, stream: stream)
            let text = skip == 0 ? line : UnsafeRawBufferPointer(rebasing: line[skip...])
            JournalRecord.appendLine(&out, label: label, stream: stream, priority: priority, text: text)
        }
        swap(&out, &staging)
        stagedLines += batch.count
        if staging.count >= Self.flushThreshold { flush() }
    }

    func event(_ event: SupervisorEvent, extra: [SupervisorEvent.Field]) {
        JournalRecord.appendEvent(&staging, fields: JournalEventFields.make(event, extra: extra))
        stagedEvents += 1
    }

    func beginIteration(wallNanoseconds: Int64) {
        // journald stamps every entry itself when it receives it.
    }

    func endOfIteration() {
        flush()
    }

    func takeDroppedLines() -> Int {
        writer.takeDroppedLines()
    }

    func drain(timeoutNanoseconds: Int64) {
        flush()
        writer.drain(timeoutNanoseconds: timeoutNanoseconds)
    }

    private func flush() {
        guard !staging.isEmpty else { return }
        staging.withUnsafeBytes { writer.submit($0, lines: stagedLines, events: stagedEvents) }
        staging.removeAll(keepingCapacity: true)
        stagedLines = 0
        stagedEvents = 0
    }
}

/// Which sink the daemon writes to (`output.journal`, read at start; a reload does not
/// switch sinks).
enum OutputSinks {
    /// `on`: journald. `off`: text on stderr. `auto`: journald when bulkhead's stderr already is
    /// a journal stream (`JOURNAL_STREAM` names fd 2's device and inode: systemd's documented
    /// test, so a `bulkhead daemon 2>file` under systemd still writes text to the file), else text.
    static func make(_ mode: OutputConfig.Journal, timestamps: Bool) -> OutputSink {
        switch mode {
        case .on:
            if !FileStatus.exists(journalSocket) {
                let note = "bulkhead: output.journal is on but \(journalSocket) does not exist: output is lost until journald runs\n"
                _ = note.withCString { Glibc.write(2, $0, strlen($0)) }
            }
            return JournalSink()
        case .off:
            return TextSink(fd: 2, timestamps: timestamps)
        case .auto:
            return stderrIsJournal() ? JournalSink() : TextSink(fd: 2, timestamps: timestamps)
        }
    }

    static let journalSocket = "/run/systemd/journal/socket"

    /// `JOURNAL_STREAM=<device>:<inode>` matches fd 2 (sd_journal_stream_fd(3), systemd.exec(5)).
    static func stderrIsJournal() -> Bool {
        guard let raw = getenv("JOURNAL_STREAM") else { return false }
        return streamMatches(String(cString: raw), fd: 2)
    }

    static func streamMatches(_ value: String, fd: Int32) -> Bool {
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}

private enum FileStatus {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
