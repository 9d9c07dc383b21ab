/// Node.js's report of an uncaught exception (src/node_errors.cc), on stderr:
///
///     /srv/app/server.js:6
///       return config.server.port;
///                            ^
///
///     TypeError: Cannot read properties of undefined (reading 'port')
///         at listenPort (/srv/app/server.js:6:24)
///         at Module._compile (node:internal/modules/cjs/loader:1521:14)
///
///     Node.js v20.20.2
///
/// An unhandled rejection of an Error looks the same (Node ≥ 15 throws it); one of a plain
/// value is wrapped in `UnhandledPromiseRejection: … The promise rejected with the reason "…".`.
/// V8's own aborts (the heap limit) print `FATAL ERROR: …` and a native stack.
enum NodeErrorRecognizer: CrashBlockRecognizer {
    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        var from = lines.count - 1
        while let anchor = lines.lastIndex(before: from, where: isAnchor) {
            if let block = lines[anchor].hasPrefix("FATAL ERROR: ") ? fatalError(lines, anchor: anchor) : uncaught(lines, caretOrError: anchor) {
                return block
            }
            from = anchor - 1
            if lines.count - from > 2000 { return nil }
        }
        return nil
    }

    /// The caret under the throwing expression, `Uncaught …`, or `FATAL ERROR: …`.
    static func isAnchor(_ line: String) -> Bool {
        switch line.utf8.first {
        case UInt8(ascii: " "), UInt8(ascii: "^"): return isCaretLine(line)
        case UInt8(ascii: "U"): return line.hasPrefix("Uncaught ")
        case UInt8(ascii: "F"): return line.hasPrefix("FATAL ERROR: ")
        default: return false
        }
    }

    static func isCaretLine(_ line: String) -> Bool {
        let text = line.trimmed
        return !text.isEmpty && text.utf8.allSatisfy { $0 == UInt8(ascii: "^") }
    }

    static func uncaught(_ lines: StreamLines, caretOrError anchor: Int) -> CrashBlock? {
        var first = anchor
        var errorIndex = anchor
        var preamble: SourceLocation?
        if isCaretLine(lines[anchor]) {
            // `file:line` and the source line above the caret, a blank line below it.
            guard anchor >= 2, let place = SourceLocation.parse(lines[anchor - 2]), !lines[anchor - 2].hasPrefix(" ")
            else { return nil }
            preamble = place
            first = anchor - 2
            guard let next = lines.nextNonBlank(from: anchor + 1), next - anchor <= 2 else { return nil }
            errorIndex = next
        }
        var errorLine = lines[errorIndex].trimmed
        if let rest = errorLine.after("Uncaught ") { errorLine = rest }
        var block = CrashBlock(runtime: .node, kind: "uncaught exception", title: "Node.js uncaught exception", first: first,
                               last: errorIndex)
        readError(errorLine, into: &block)
        var index = errorIndex + 1
        if var message = block.message {
            // A multi-line message: everything up to the first frame.
            while let line = lines.line(index), !line.isBlank, !isFrameLine(line), index - errorIndex < 20,
                  !line.hasPrefix("Node.js v"), !line.hasPrefix("(Use `node --trace-uncaught"), !LogRecord.starts(line) {
                message += "\n" + line
                index += 1
            }
            block.message = message
        }
        var frames: [ParsedFrame] = []
        while let line = lines.line(index), isFrameLine(line) {
            var text = line.trimmed.dropFirst(3)
            if text.hasSuffix(" {") { text = text.dropLast(2) }  // the error's properties follow
            if let frame = frame(text) { frames.append(frame) }
            index += 1
        }
        // The error's own properties: `    at … {` / `  code: 'ERR_…',` / `}`.
        if let last = lines.line(index - 1), last.hasSuffix("{") {
            while let line = lines.line(index), index - errorIndex < 200 {
                if let code = line.trimmed.after("code: '"), code.hasSuffix("',") || code.hasSuffix("'") {
                    block.details.append(.init("code", String(code.prefix { $0 != "'" })))
                }
                index += 1
                if line.hasPrefix("}") { break }
            }
        }
        block.last = index - 1
        if let next = lines.nextNonBlank(from: index), next - index <= 2, let line = lines.line(next) {
            if line.hasPrefix("(Use `node --trace-uncaught") {
                block.last = next
            } else if line.hasPrefix("Node.js v") {
                block.details.append(.init("runtime_version", line.trimmed.description))
                block.last = next
            }
            if line.hasPrefix("(Use "), let banner = lines.nextNonBlank(from: next + 1), lines[banner].hasPrefix("Node.js v") {
                block.details.append(.init("runtime_version", lines[banner].trimmed.description))
                block.last = banner
            }
        }
        block.frames = frames.map(\.frame)
        block.site = ParsedFrame.site(in: frames)
        if block.site == nil, let preamble, origin(preamble.file) == .own {
            block.site = CrashSite(file: preamble.displayFile, line: preamble.line)
        }
        // Without the caret preamble (an `Uncaught …` line) it takes an Error's name or a frame:
        // `Uncaught exceptions: 0` is a log line.
        if preamble == nil && block.exceptionType == nil && block.kind != "unhandled rejection" && frames.isEmpty { return nil }
        return block
    }

    static func isFrameLine(_ line: String) -> Bool {
        line.hasPrefix("    at ")
    }

    /// `TypeError: …`, `Error [ERR_X]: …`, `UnhandledPromiseRejection: … reason "…".`, a bare
    /// type, or a thrown non-Error value printed as it is.
    static func readError(_ text: Substring, into block: inout CrashBlock) {
        var line = text
        if line.hasPrefix("["), line.hasSuffix("] {") || line.hasSuffix("]") {
            line = line.dropFirst().prefix { $0 != "]" }  // `[UnhandledPromiseRejection: …] {` (Node 15–17)
        }
        if line.hasSuffix(" {") { line = line.dropLast(2) }
        guard let colon = line.firstRange(of: ": "), isErrorName(line[..<colon.lowerBound]) else {
            if isErrorName(line) {
                block.exceptionType = String(line)
                block.title = "Node.js uncaught " + line
            } else {
                block.message = String(line)  // `throw "boom"`
            }
            return
        }
        let name = line[..<colon.lowerBound]
        let type = String(name.prefix { $0 != " " })
        let message = String(line[colon.upperBound...])
        if type == "UnhandledPromiseRejection" {
            block.kind = "unhandled rejection"
            block.title = "Node.js unhandled rejection"
            block.message = rejectionReason(message) ?? message
            return
        }
        block.exceptionType = type
        block.message = message
        block.title = "Node.js uncaught " + type
        if let code = name.firstRange(of: " [") { block.details.append(.init("code", String(name[code.upperBound...].dropLast()))) }
    }

    /// `TypeError`, `Error [ERR_MODULE_NOT_FOUND]`.
    static func isErrorName<S: StringProtocol>(_ text: S) -> Bool {
        let name = text.prefix { $0 != " " }
        guard let first = name.utf8.first, first >= 0x41 && first <= 0x5A,
              name.utf8.allSatisfy({ CrashTextMask.isWordByte($0) || $0 == UInt8(ascii: "$") }) else { return false }
        let rest = text.dropFirst(name.count)
        return rest.isEmpty || (rest.hasPrefix(" [") && rest.hasSuffix("]"))
    }

    /// `… The promise rejected with the reason "connection to db-3 reset".` → the reason.
    static func rejectionReason(_ message: String) -> String? {
        guard let start = message.firstRange(of: "reason \"") , let end = message.lastIndex(of: "\""),
              end > start.upperBound else { return nil }
        return String(message[start.upperBound..<end])
    }

    /// `listenPort (/srv/app/server.js:6:24)`, `async run (file:///srv/app/main.mjs:3:9)`,
    /// `/srv/app/server.js:14:1`, `new Server (…)`.
    static func frame(_ text: Substring) -> ParsedFrame? {
        var function = "<anonymous>"
        var place = text
        if text.hasSuffix(")"), let open = text.lastIndex(of: "(") {
            function = String(text[..<open].trimmed)
            place = text[text.index(after: open)..<text.index(before: text.endIndex)]
        }
        for prefix in ["async ", "new "] where function.hasPrefix(prefix) { function = String(function.dropFirst(prefix.count)) }
        guard let location = SourceLocation.parse(place) else {
            return ParsedFrame(function: function, file: nil, line: nil, origin: .runtime)
        }
        return ParsedFrame(function: function, file: location.file, line: location.line, origin: origin(location.file))
    }

    static func origin(_ file: String) -> FrameOrigin {
        if file.hasPrefix("node:") || file.hasPrefix("internal/") { return .runtime }
        if file.contains("/node_modules/") { return .library }
        return .own
    }

    /// `FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory`, then
    /// V8's native stack (` 1: 0xb7a940 node::Abort() [node]`), all of it the runtime's.
    static func fatalError(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        let message = String(lines[anchor].dropFirst("FATAL ERROR: ".count))
        var block = CrashBlock(runtime: .node, kind: message.hasSuffix("out of memory") ? "out of memory" : "fatal error",
                               title: "Node.js fatal error", first: anchor, last: anchor)
        block.message = message
        var index = anchor + 1
        while let line = lines.line(index), line.isBlank || line.hasPrefix(" ") || line.hasPrefix("----") || line.hasPrefix("<---"),
              index - anchor < 400 {
            if !line.isBlank { block.last = index }
            index += 1
        }
        return block
    }
}
