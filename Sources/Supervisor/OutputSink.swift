import BulkheadPolicy

/// Where worker lines and supervisor events go: bulkhead's stderr as text, or journald.
protocol OutputSink: AnyObject {
    /// One line of worker output. `label` is the instance's `worker:index`.
    func workerLine(_ id: InstanceID, label: String, stream: OutputStream, line: UnsafeRawBufferPointer)
    /// Every line of `batch` (one read's worth); the default calls `workerLine` for each.
    func workerLines(_ id: InstanceID, label: String, stream: OutputStream, batch: LineBatch)
    /// One supervisor event with the fields the daemon added (crash id, exit code, …).
    func event(_ event: SupervisorEvent, extra: [SupervisorEvent.Field])
    /// The loop woke up: what follows happened at about this time.
    func beginIteration(wallNanoseconds: Int64)
    /// The loop finished an iteration: hand buffered output over.
    func endOfIteration()
    /// Lines dropped because the output could not keep up, since the last call.
    func takeDroppedLines() -> Int
    /// Writes what is queued, waiting at most `timeoutNanoseconds`.
    func drain(timeoutNanoseconds: Int64)
}

extension OutputSink {
    func workerLines(_ id: InstanceID, label: String, stream: OutputStream, batch: LineBatch) {
        batch.forEach { workerLine(id, label: label, stream: stream, line: $0) }
    }
}

/// Syslog priority of a worker line: `<N>` prefix (sd-daemon.h) or the stream's default.
enum LinePriority {
    /// Returns the priority and how many prefix bytes to skip.
    static func parse(_ line: UnsafeRawBufferPointer, stream: OutputStream) -> (priority: Int, skip: Int) {
        if line.count >= 3, line[0] == UInt8(ascii: "<"), line[2] == UInt8(ascii: ">"),
           line[1] >= UInt8(ascii: "0"), line[1] <= UInt8(ascii: "7") {
            return (Int(line[1] - UInt8(ascii: "0")), 3)
        }
        return (stream == .stdout ? 6 : 3, 0)
    }
}
