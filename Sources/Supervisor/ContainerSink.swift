import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// How bulkhead writes its own output when it is a container's init (`bulkhead init`), where
/// no journald listens and a log collector reads the container's stdout and stderr.
public enum LogFormat: String, Sendable, CaseIterable {
    /// Every line `HH:MM:SS.mmm api:0 | text` on stderr (what `bulkhead daemon` writes).
    case text
    /// Worker lines as the worker wrote them, stdout to stdout and stderr to stderr (a `<N>`
    /// priority prefix removed); bulkhead's events as `bulkhead: api:0 exit: …` on stderr.
    case plain
    /// One JSON object per line on stdout, worker lines and events alike.
    case json
}

/// `plain` and `json` (LogFormat). Writes go through OutputWriter threads, so a container
/// runtime that reads its logs slowly never blocks the loop; what it cannot take is dropped and
/// counted, as for the other sinks.
final class ContainerSink: OutputSink {
    private let format: LogFormat
    private let stdout = OutputWriter(fd: 1)
    private let stderr = OutputWriter(fd: 2)
    private var staged: [UInt8] = []
    private var stagedErr: [UInt8] = []
    private var stagedLines = 0
    private var stagedErrLines = 0
    private var time = ""

    init(format: LogFormat) {
        self.format = format
        beginIteration(wallNanoseconds: WallClock.nowNanoseconds())
    }

    func workerLine(_ id: InstanceID, label: String, stream: OutputStream, line: UnsafeRawBufferPointer) {
        let (priority, skip) = LinePriority.parse(line, stream: stream)
        let text = UnsafeRawBufferPointer(rebasing: line[skip...])
        switch format {
        case .json:
            let object: [(String, JSON)] = [
                ("time", .string(time)), ("instance", .string(label)), ("stream", .string(stream == .stdout ? "stdout" : "stderr")),
                ("priority", .int(Int64(priority))), ("message", .string(String(decoding: text, as: UTF8.self))),
            ]
            append(.object(JSONObject(object)))
        case .plain, .text:
            if stream == .stdout {
                staged.append(contentsOf: text)
                staged.append(0x0A)
                stagedLines += 1
            } else {
                stagedErr.append(contentsOf: text)
                stagedErr.append(0x0A)
                stagedErrLines += 1
            }
        }
    }

    func event(_ event: SupervisorEvent, extra: [SupervisorEvent.Field]) {
        let subject = event.instance.map { "\($0)" } ?? "bulkhead"
        switch format {
        case .json:
            var object: [(String, JSON)] = [
                ("time", .string(time)), ("event", .string(event.kind.rawValue)),
                ("instance", event.instance.map { .string("\($0)") } ?? .null),
                ("priority", .int(Int64(event.priority))), ("message", .string("\(subject) \(event.kind.rawValue): \(event.message)")),
            ]
            if let pid = event.pid { object.append(("pid", .int(Int64(pid)))) }
            var seen = Set(object.map(\.0))
            for field in event.fields + extra {
                let name = field.name.lowercased()
                guard seen.insert(name).inserted else { continue }
                object.append((name, .string(field.value)))
            }
            append(.object(JSONObject(object)))
        case .plain, .text:
            // `bulkhead: api:0 exit: …`; the daemon's own events need no second `bulkhead`.
            var line = event.instance.map { "bulkhead: \($0) \(event.kind.rawValue): " } ?? "bulkhead: "
            line += event.message
            if let crash = extra.first(where: { $0.name == "CRASH_ID" }) { line += " [crash \(crash.value)]" }
            stagedErr.append(contentsOf: line.utf8)
            stagedErr.append(0x0A)
            stagedErrLines += 1
        }
    }

    private func append(_ value: JSON) {
        value.encode(into: &staged)
        staged.append(0x0A)
        stagedLines += 1
    }

    func beginIteration(wallNanoseconds: Int64) {
        if format == .json { time = WallClockText.iso8601(wallNanoseconds) }
    }

    func endOfIteration() {
        flush()
    }

    func takeDroppedLines() -> Int {
        stdout.takeDroppedLines() + stderr.takeDroppedLines()
    }

    func drain(timeoutNanoseconds: Int64) {
        flush()
        stdout.drain(timeoutNanoseconds: timeoutNanoseconds)
        stderr.drain(timeoutNanoseconds: timeoutNanoseconds)
    }

    private func flush() {
        if !staged.isEmpty {
            staged.withUnsafeBytes { _ = stdout.submit($0, lines: stagedLines) }
            staged.removeAll(keepingCapacity: true)
            stagedLines = 0
        }
        if !stagedErr.isEmpty {
            stagedErr.withUnsafeBytes { _ = stderr.submit($0, lines: stagedErrLines) }
            stagedErr.removeAll(keepingCapacity: true)
            stagedErrLines = 0
        }
    }
}
