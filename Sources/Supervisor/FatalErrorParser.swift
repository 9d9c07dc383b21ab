/// What a Swift trap said about itself, from the worker's stderr tail and the backtracer's
/// report. Debug builds print `File.swift:LINE: Fatal error: MESSAGE`; release builds keep that
/// line only for `fatalError` and a few others, and otherwise the reason is only in the
/// backtracer's `Swift runtime failure: …` headline.
enum FatalErrorParser {
    struct Result: Equatable {
        var message: String?
        var location: String?
        var headline: String?
        var topFrames: [String] = []
    }

    static let kinds = ["Fatal error", "Precondition failed", "Assertion failed"]

    static func parse(stderr: [String], backtrace: BacktraceReport?) -> Result {
        var result = Result()
        for line in stderr.reversed() {
            if result.message == nil, let (message, location) = fatalLine(line) {
                result.message = message
                result.location = location
            }
            if result.headline == nil, let headline = runtimeFailureLine(line) {
                result.headline = headline
            }
            if result.message == nil {
                // Runtime checks that print their own words, without a `Fatal error:` prefix.
                if line.hasPrefix("Simultaneous accesses to ") || line.hasPrefix("SWIFT TASK CONTINUATION MISUSE")
                    || line.hasPrefix("Incorrect actor executor assumption") {
                    result.message = line
                }
            }
        }
        if let backtrace {
            if result.headline == nil { result.headline = backtrace.runtimeFailure }
            let own = backtrace.topFrames
            if result.location == nil { result.location = own.lazy.compactMap(\.location).first }
            result.topFrames = own.prefix(5).map(\.function)
        }
        if result.headline == nil, let message = result.message { result.headline = message }
        return result
    }

    /// `Module/File.swift:42: Fatal error: text` → ("Fatal error: text", "Module/File.swift:42").
    static func fatalLine(_ line: String) -> (String, String?)? {
        for kind in kinds {
            guard let range = line.firstRange(of: kind) else { continue }
            let message = String(line[range.lowerBound...])
            let before = line[..<range.lowerBound]
            guard before.hasSuffix(": ") else {
                return before.isEmpty ? (message, nil) : nil
            }
            let location = before.dropLast(2)
            if let colon = location.lastIndex(of: ":"), Int(location[location.index(after: colon)...]) != nil,
               location[..<colon].hasSuffix(".swift") {
                return (message, String(location))
            }
            return (message, nil)
        }
        return nil
    }

    /// `*** Swift runtime failure: arithmetic overflow ***` (text backtracer) or a bare line; or
    /// the `"description"` of a JSON report that went to stderr (no usable `output-to`). Not the
    /// text backtrace's frame line (`0 [inlined] [system] 0x… Swift runtime failure: … in crashlab
    /// at …`), which comes after the headline, so a backwards scan would meet it first.
    static func runtimeFailureLine(_ line: String) -> String? {
        guard let range = line.firstRange(of: "Swift runtime failure: ") else { return nil }
        let before = line[..<range.lowerBound]
        var text = line[range.lowerBound...]
        if before.hasSuffix("\"") {
            guard let quote = text.firstIndex(of: "\"") else { return nil }
            return String(text[..<quote])
        }
        guard before.isEmpty || before == "*** " else { return nil }
        if text.hasSuffix(" ***") { text.removeLast(4) }
        return String(text)
    }
}
