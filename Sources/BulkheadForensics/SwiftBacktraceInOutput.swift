/// Finds a backtracer report the worker printed on stderr instead of into bulkhead's directory:
/// the JSON report when `output-to=` was missing or unusable (it then goes to stderr, one line),
/// or the text report of a worker that set its own `SWIFT_BACKTRACE`.
enum SwiftBacktraceInOutput {
    /// Pieces of one JSON report the daemon may have cut at its line limit, at most: 64 × 32 KiB.
    static let maxJSONPieces = 64

    /// The last report in `lines` (stderr only: the backtracer never writes to stdout), nil when
    /// there is none. A JSON report that does not parse (cut short by the daemon's buffers) still
    /// gives its headline: enough to say which check failed.
    static func last(in lines: [OutputLine]) -> SwiftBacktrace? {
        let stderr = lines.filter { $0.stream == .stderr }.map(\.text)
        for index in stderr.indices.reversed() {
            let text = stderr[index]
            if SwiftBacktraceJSON.startsReport(text) {
                return json(startingAt: index, in: stderr) ?? fragment(text)
            }
            if SwiftBacktraceText.headline(text) != nil, let report = SwiftBacktraceText.parse(stderr[index...]) {
                return report
            }
        }
        return nil
    }

    /// The report from `start` on, joined with the lines after it while it does not parse (a line
    /// longer than the daemon's limit arrives in pieces).
    private static func json(startingAt start: Int, in lines: [String]) -> SwiftBacktrace? {
        var bytes: [UInt8] = []
        for piece in lines[start...].prefix(maxJSONPieces) {
            bytes.append(contentsOf: piece.utf8)
            if piece.hasSuffix("}"), let report = SwiftBacktraceJSON.parse(bytes) { return report }
        }
        return nil
    }

    /// What can be read from the start of a report that does not parse: its `description`, and
    /// a crashed thread with no frames (there was one: the report exists because of a crash).
    private static func fragment(_ text: String) -> SwiftBacktrace? {
        guard let description = stringField("description", in: text) else { return nil }
        let thread = SwiftBacktrace.Thread(name: nil, crashed: true, frames: [], omittedFrames: 0, stackPointer: nil)
        return SwiftBacktrace(description: description,
                              faultAddress: stringField("faultAddress", in: text).flatMap(SwiftBacktraceJSON.hexAddress),
                              threads: [thread])
    }

    /// `"name": "value"` in the report's first line (its top-level fields come first, and their
    /// values hold no quotes or escapes).
    private static func stringField(_ name: String, in text: String) -> String? {
        guard let key = text.firstRange(of: "\"\(name)\": \"") else { return nil }
        let value = text[key.upperBound...].prefix { $0 != "\"" && $0 != "\\" }
        guard value.endIndex < text.endIndex, text[value.endIndex] == "\"" else { return nil }
        return String(value)
    }
}
