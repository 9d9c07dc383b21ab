/// CPython's uncaught-exception report (Python/traceback.c), on stderr:
///
///     Traceback (most recent call last):
///       File "/srv/orders/app.py", line 14, in handle
///         return parse_order(request.get("body"))
///                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
///     TypeError: the JSON object must be str, bytes or bytearray, not NoneType
///
/// Chained exceptions print the oldest first, each separated by `During handling of the above
/// exception, another exception occurred:` or `The above exception was the direct cause of the
/// following exception:`; the last one is what killed the process. A script that does not
/// parse gets only `  File "x.py", line 6`, the line, a caret and `SyntaxError: …`. The
/// interpreter's own aborts print `Fatal Python error: …` and, with faulthandler, the stack.
enum PythonTracebackRecognizer: CrashBlockRecognizer {
    static let header = "Traceback (most recent call last):"
    static let chainMarkers = ["During handling of the above exception, another exception occurred:",
                               "The above exception was the direct cause of the following exception:"]
    static let maxChain = 10

    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        var candidates: [CrashBlock] = []
        if let anchor = lines.lastIndex(before: lines.count - 1, where: { $0.hasPrefix(header) }),
           var block = traceback(lines, anchor: anchor) {
            addChain(lines, before: anchor, to: &block)
            candidates.append(block)
        }
        let after = candidates.last.map { $0.last + 1 } ?? 0
        if let anchor = lines.lastIndex(before: lines.count - 1, where: isBareFileLine), anchor >= after,
           let block = bareSyntaxError(lines, anchor: anchor) {
            candidates.append(block)
        }
        if let anchor = lines.lastIndex(before: lines.count - 1, where: { $0.hasPrefix("Fatal Python error: ") }) {
            candidates.append(fatalError(lines, anchor: anchor))
        }
        return candidates.max { $0.first < $1.first }
    }

    // MARK: Tracebacks

    static func traceback(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        var index = anchor + 1
        var frames: [ParsedFrame] = []  // outermost first, as printed
        var syntaxLocation: SourceLocation?
        while let line = lines.line(index) {
            if let frame = fileLine(line) {
                if let function = frame.function {
                    frames.append(ParsedFrame(function: function, file: frame.file, line: frame.line, origin: origin(frame.file)))
                } else {
                    syntaxLocation = SourceLocation(file: frame.file, line: frame.line)
                }
            } else if !line.hasPrefix(" ") {
                break  // source lines, carets and `[Previous line repeated …]` are indented
            }
            index += 1
        }
        var block = CrashBlock(runtime: .python, kind: "uncaught exception", title: "Python uncaught exception",
                               first: anchor, last: index - 1)
        frames.reverse()
        block.frames = frames.map(\.frame)
        block.site = ParsedFrame.site(in: frames)
        if let exception = exceptionLines(lines, from: index) {
            apply(exception, to: &block)
            if exception.isSyntaxError, let syntaxLocation {
                block.site = CrashSite(file: syntaxLocation.displayFile, line: syntaxLocation.line)
            }
        }
        return block
    }

    /// `  File "/srv/app.py", line 14, in handle` (a frame) or `  File "/srv/app.py", line 6`
    /// (where a SyntaxError is), or in a faulthandler dump `  File "/srv/app.py", line 5 in crash`.
    static func fileLine(_ line: String) -> (file: String, line: Int?, function: String?)? {
        guard let rest = line.trimmed.after("File \""), let quote = rest.lastIndex(of: "\"") else { return nil }
        let file = String(rest[..<quote])
        var tail = rest[rest.index(after: quote)...]
        guard let afterLine = tail.after(", line ") else { return (file, nil, nil) }
        tail = afterLine
        let digits = tail.prefix { $0.isASCII && $0.isNumber }
        let function = tail.dropFirst(digits.count).after(", in ") ?? tail.dropFirst(digits.count).after(" in ")
        return (file, digits.decimal, function.map(String.init))
    }

    static func isBareFileLine(_ line: String) -> Bool {
        guard line.hasPrefix("  File \""), let frame = fileLine(line) else { return false }
        return frame.function == nil && frame.line != nil
    }

    struct ExceptionText {
        var type: String
        var message: String?
        var last: Int
        var isSyntaxError: Bool { ["SyntaxError", "IndentationError", "TabError"].contains(type) }
    }

    /// `TypeError: message` (message lines may follow until a blank line), `KeyboardInterrupt`.
    static func exceptionLines(_ lines: StreamLines, from index: Int) -> ExceptionText? {
        guard let line = lines.line(index) else { return nil }
        let typeEnd = line.firstIndex(of: ":") ?? line.endIndex
        let type = line[..<typeEnd]
        guard isExceptionType(type) else { return nil }
        var message = typeEnd < line.endIndex ? String(line[line.index(after: typeEnd)...].trimmed) : nil
        var last = index
        while let next = lines.line(last + 1), !next.isBlank, !next.hasPrefix(header), !LogRecord.starts(next), last - index < 20 {
            message = (message ?? "") + "\n" + next
            last += 1
        }
        return ExceptionText(type: String(type), message: message, last: last)
    }

    /// `ValueError`, `json.decoder.JSONDecodeError`, `mymodule.ConfigError`.
    static func isExceptionType<S: StringProtocol>(_ text: S) -> Bool {
        guard let first = text.utf8.first, first == 0x5F || (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A else { return false }
        return text.utf8.allSatisfy { CrashTextMask.isWordByte($0) || $0 == UInt8(ascii: ".") }
    }

    static func apply(_ exception: ExceptionText, to block: inout CrashBlock) {
        block.exceptionType = exception.type
        block.message = exception.message
        block.last = exception.last
        if exception.isSyntaxError {
            block.kind = "syntax error"
            block.title = "Python " + exception.type
        } else {
            if exception.type == "MemoryError" { block.kind = "out of memory" }
            block.title = "Python uncaught " + exception.type
        }
    }

    /// The exceptions printed before this one, joined to it by a chain marker.
    static func addChain(_ lines: StreamLines, before anchor: Int, to block: inout CrashBlock) {
        var current = anchor
        for _ in 0..<maxChain {
            guard let marker = lines.lastIndex(before: current - 1, limit: 3, where: { !$0.isBlank }),
                  chainMarkers.contains(lines[marker].trimmed.description),
                  let previous = lines.lastIndex(before: marker - 1, limit: 2000, where: { $0.hasPrefix(header) }),
                  let cause = traceback(lines, anchor: previous) else { break }
            block.causes.append(cause.exceptionType.map { $0 + (cause.message.map { ": " + $0 } ?? "") } ?? "exception")
            block.first = previous
            current = previous
        }
        if let root = block.causes.last { block.headlineTail = "; root cause " + HeadlineText.clip(root) }
    }

    // MARK: A script that does not parse

    static func bareSyntaxError(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        guard let place = fileLine(lines[anchor]) else { return nil }
        var index = anchor + 1
        while let line = lines.line(index), line.hasPrefix(" "), index - anchor <= 4 { index += 1 }
        guard let exception = exceptionLines(lines, from: index), exception.isSyntaxError else { return nil }
        var block = CrashBlock(runtime: .python, kind: "syntax error", title: "Python", first: anchor, last: index)
        apply(exception, to: &block)
        block.site = CrashSite(file: SourceLocation.display(place.file), line: place.line)
        return block
    }

    // MARK: The interpreter's own abort

    static func fatalError(_ lines: StreamLines, anchor: Int) -> CrashBlock {
        var block = CrashBlock(runtime: .python, kind: "fatal error", title: "Python fatal error", first: anchor, last: anchor)
        block.message = String(lines[anchor].dropFirst("Fatal Python error: ".count))
        var index = anchor + 1
        var frames: [ParsedFrame] = []  // faulthandler prints the innermost first
        while let line = lines.line(index), index - anchor < 300 {
            if let frame = fileLine(line) {
                frames.append(ParsedFrame(function: frame.function ?? "<module>", file: frame.file, line: frame.line,
                                          origin: origin(frame.file)))
            } else if !(line.isBlank || line.hasPrefix("Current thread ") || line.hasPrefix("Thread 0x")
                        || line.hasPrefix("Python runtime state:") || line.hasPrefix("  ")
                        || line.hasPrefix("Extension modules:")) {
                break
            }
            if !line.isBlank { block.last = index }
            index += 1
        }
        block.frames = frames.map(\.frame)
        block.site = ParsedFrame.site(in: frames)
        return block
    }

    static func origin(_ file: String) -> FrameOrigin {
        if file.contains("/site-packages/") || file.contains("/dist-packages/") { return .library }
        if file.hasPrefix("<frozen ") || file.contains("/lib/python") { return .runtime }
        return .own
    }
}
