import BulkheadControl
import BulkheadPolicy
import Glibc

/// Without journald, every worker line and every event is one line on bulkhead's stderr,
/// prefixed with the instance: `api:0 | text` (stdout, or a `<5>`…`<7>` line), `api:0 ! text`
/// (stderr, or a `<0>`…`<4>` line), `api:0 * exit: …` (event). A wall-clock time leads each line unless journald already stamps
/// them (stderr connected to the journal).
final class TextSink: OutputSink {
    private let writer: OutputWriter
    private var staging: [UInt8] = []
    private var stagedLines = 0
    private var timePrefix: [UInt8] = []
    private let timestamps: Bool
    private static let flushThreshold = 256 << 10

    init(fd: Int32, timestamps: Bool) {
        writer = OutputWriter(fd: fd)
        self.timestamps = timestamps
        staging.reserveCapacity(Self.flushThreshold + 65536)
        refreshTime(WallClockText.now())
    }

    func workerLine(_ id: InstanceID, label: String, stream: OutputStream, line: UnsafeRawBufferPointer) {
        var batch = LineBatch()
        batch.add(line)
        workerLines(id, label: label, stream: stream, batch: batch)
    }

    func workerLines(_ id: InstanceID, label: String, stream: OutputStream, batch: LineBatch) {
        // The staging buffer is moved into a local for the batch: one exclusive access to the
        // property, not five per line.
        var out: [UInt8] = []
        swap(&out, &staging)
        var label = label
        label.withUTF8 { prefixBytes in
            batch.forEach { line in
                out.append(contentsOf: timePrefix)
                out.append(contentsOf: prefixBytes)
                // A `<N>` prefix (sd-daemon.h) is the line's own priority: it picks the mark and
                // is not repeated in the text. Otherwise stdout reads `|` and stderr `!`.
                let (priority, skip) = LinePriority.parse(line, stream: stream)
                let important = skip > 0 ? priority <= 4 : stream == .stderr
                out.append(contentsOf: important ? Self.stderrMark : Self.stdoutMark)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[skip...]))
                out.append(0x0A)
            }
        }
        swap(&out, &staging)
        stagedLines += batch.count
        if staging.count >= Self.flushThreshold { flush() }
    }

    func event(_ event: SupervisorEvent, extra: [SupervisorEvent.Field]) {
        // An event about a worker as a whole (an alert) names the worker.
        var text = event.instance.map { "\($0)" } ?? extra.first { $0.name == "WORKER" }?.value ?? "bulkhead"
        text += " * \(event.kind.rawValue): \(event.message)"
        for field in extra where field.name == "CRASH_ID" {
            text += " [crash \(field.value)]"
        }
        staging.append(contentsOf: timePrefix)
        text.withUTF8 { staging.append(contentsOf: $0) }
        staging.append(0x0A)
        stagedLines += 1
    }

    func beginIteration(wallNanoseconds: Int64) {
        refreshTime(wallNanoseconds)
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
        staging.withUnsafeBytes { _ = writer.submit($0, lines: stagedLines) }
        staging.removeAll(keepingCapacity: true)
        stagedLines = 0
    }

    private func refreshTime(_ wallNanoseconds: Int64) {
        // One clock formatting per loop iteration, not per line.
        timePrefix = timestamps ? Array((WallClockText.timeOfDay(wallNanoseconds) + " ").utf8) : []
    }

    private static let stdoutMark: [UInt8] = Array(" | ".utf8)
    private static let stderrMark: [UInt8] = Array(" ! ".utf8)
}
