/// Rust's panic message (std/src/panicking.rs), on stderr. Since Rust 1.73:
///
///     thread 'main' panicked at src/main.rs:7:5:
///     index out of bounds: the len is 3 but the index is 5
///     note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
///
/// (1.9x adds the thread id: `thread 'main' (27483) panicked at …`); before 1.73 the message
/// was quoted on the header line: `thread 'main' panicked at 'index out of bounds: …',
/// src/main.rs:7:5`. With RUST_BACKTRACE=1 a `stack backtrace:` of `N: function` /
/// `at file:line:col` pairs follows. Also `thread 'main' has overflowed its stack` and
/// `fatal runtime error: …` (both abort).
enum RustPanicRecognizer: CrashBlockRecognizer {
    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        guard let anchor = lines.lastIndex(before: lines.count - 1, where: isAnchor) else { return nil }
        if let fatal = lines[anchor].after("fatal runtime error: ") {
            return fatalRuntimeError(lines, anchor: anchor, message: String(fatal))
        }
        guard var block = panic(lines, anchor: anchor) else { return nil }
        if block.message?.hasSuffix("Any { .. }") == true { addPanickedThread(lines, before: anchor, to: &block) }
        return block
    }

    static func isAnchor(_ line: String) -> Bool {
        switch line.utf8.first {
        case UInt8(ascii: "t"): return line.hasPrefix("thread '") && line.contains(" panicked at ")
        case UInt8(ascii: "f"): return line.hasPrefix("fatal runtime error: ")
        default: return false
        }
    }

    /// `thread 'main' (27483) panicked at …` → (`main`, `panicked at …`).
    static func threadHeader(_ line: String) -> (thread: String, rest: Substring)? {
        guard let afterQuote = line.after("thread '"), let close = afterQuote.firstIndex(of: "'") else { return nil }
        let thread = String(afterQuote[..<close])
        var rest = afterQuote[afterQuote.index(after: close)...].trimmed
        if rest.hasPrefix("("), let end = rest.firstIndex(of: ")") {
            rest = rest[rest.index(after: end)...].trimmed
        }
        return (thread, rest)
    }

    static func panic(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        guard let header = threadHeader(lines[anchor]), let afterAt = header.rest.after("panicked at ") else { return nil }
        var index = anchor + 1
        var message: String
        var location: SourceLocation?
        if afterAt.hasPrefix("'") {
            // Before 1.73: `panicked at 'message', file:line:col`, the message maybe over lines.
            var text = String(afterAt.dropFirst())
            while quotedLocation(text) == nil, let next = lines.line(index), index - anchor < 40 {
                text += "\n" + next
                index += 1
            }
            guard let (quoted, place) = quotedLocation(text) else { return nil }
            message = quoted
            location = place
        } else {
            location = SourceLocation.parse(afterAt.hasSuffix(":") ? afterAt.dropLast() : afterAt)
            var messageLines: [String] = []
            while let line = lines.line(index), !line.isBlank, !isEndOfMessage(line), !LogRecord.starts(line), messageLines.count < 40 {
                messageLines.append(line)
                index += 1
            }
            message = messageLines.joined(separator: "\n")
        }
        var block = CrashBlock(runtime: .rust, kind: "panic",
                               title: header.thread == "main" ? "Rust panic" : "Rust panic in thread '\(header.thread)'",
                               first: anchor, last: index - 1)
        block.thread = header.thread
        block.message = message
        let frames = readBacktrace(lines, from: index, into: &block)
        block.frames = frames.map(\.frame)
        block.site = site(location, frames)
        return block
    }

    /// `message', file:line:col` → the message and the location after the last `', `.
    static func quotedLocation(_ text: String) -> (String, SourceLocation)? {
        guard let range = text.ranges(of: "', ").last,
              let location = SourceLocation.parse(text[range.upperBound...]) else { return nil }
        return (String(text[..<range.lowerBound]), location)
    }

    static func isEndOfMessage(_ line: String) -> Bool {
        line.hasPrefix("note: ") || line.hasPrefix("stack backtrace:") || line.hasPrefix("thread '")
    }

    /// The `note:` line or the `stack backtrace:` section after the message; moves `block.last`.
    static func readBacktrace(_ lines: StreamLines, from start: Int, into block: inout CrashBlock) -> [ParsedFrame] {
        var index = start
        var frames: [ParsedFrame] = []
        if lines.line(index)?.hasPrefix("stack backtrace:") == true {
            index += 1
            while let line = lines.line(index) {
                let text = line.trimmed
                if let location = text.after("at ") {
                    if let place = SourceLocation.parse(location), let last = frames.indices.last, frames[last].file == nil {
                        frames[last].file = place.file
                        frames[last].line = place.line
                    }
                } else if let colon = text.firstIndex(of: ":"), text[..<colon].decimal != nil {
                    frames.append(ParsedFrame(function: functionName(text[text.index(after: colon)...]), origin: .own))
                } else {
                    break
                }
                index += 1
            }
        }
        while let line = lines.line(index), line.hasPrefix("note: ") { index += 1 }
        for i in frames.indices { frames[i].origin = origin(function: frames[i].function, file: frames[i].file) }
        block.last = max(block.last, index - 1)
        return frames
    }

    /// `     0x55d4c0a0b0c1 - index_oob::pick_shard::h1f0c2a3b4c5d6e7f` → `index_oob::pick_shard`,
    /// `std[e28293b1aa0f68bd]::sys::backtrace::_print_fmt` → `std::sys::backtrace::_print_fmt`:
    /// the address, the legacy symbol hash and v0 crate disambiguators change with every build.
    static func functionName(_ text: Substring) -> String {
        var name = text.trimmed
        if name.hasPrefix("0x"), let dash = name.firstRange(of: " - ") { name = name[dash.upperBound...].trimmed }
        if let hash = name.ranges(of: "::h").last, name.distance(from: hash.upperBound, to: name.endIndex) == 16,
           name[hash.upperBound...].utf8.allSatisfy(CrashTextMask.isHex) {
            name = name[..<hash.lowerBound]
        }
        var plain = ""
        var rest = name
        while let open = rest.firstIndex(of: "[") {
            let inside = rest[rest.index(after: open)...].prefix { $0 != "]" }
            let closes = rest.index(after: open) < rest.endIndex && inside.endIndex < rest.endIndex
            guard closes, !inside.isEmpty, inside.utf8.allSatisfy(CrashTextMask.isHex) else {
                plain += rest[...open]
                rest = rest[rest.index(after: open)...]
                continue
            }
            plain += rest[..<open]
            rest = rest[rest.index(after: inside.endIndex)...]
        }
        return plain + rest
    }

    static let runtimePrefixes = ["std::", "core::", "alloc::", "<std::", "<core::", "<alloc::", "__rust", "rust_begin_unwind",
                                  "rust_panic", "__libc_start", "_start", "start_thread", "clone"]

    static func origin(function: String, file: String?) -> FrameOrigin {
        if function == "main" || runtimePrefixes.contains(where: { function.hasPrefix($0) }) { return .runtime }
        if let file { return origin(file: file) }
        return .own
    }

    static func origin(file: String) -> FrameOrigin {
        if file.hasPrefix("/rustc/") || file.contains("/rustc-") || file.contains("/library/std/")
            || file.contains("/library/core/") || file.contains("/library/alloc/") {
            return .runtime
        }
        if file.contains("/.cargo/registry/") || file.contains("/.cargo/git/") { return .library }
        return .own
    }

    /// The panic's own location (std passes the caller's location for `unwrap` and indexing),
    /// named by the backtrace frame on that line when there is one. A location inside a crate
    /// from the registry gives way to the first frame of the program's own code.
    static func site(_ location: SourceLocation?, _ frames: [ParsedFrame]) -> CrashSite? {
        guard let location else { return ParsedFrame.site(in: frames) }
        if origin(file: location.file) != .own, let own = frames.first(where: { $0.origin == .own }) { return own.site }
        // The header and the backtrace print the file differently (`src/main.rs`,
        // `./src/main.rs`, `/home/me/app/src/main.rs`): the same file by its name and line.
        let name = location.file.split(separator: "/").last
        let named = frames.first { $0.origin == .own && $0.line == location.line && $0.file?.split(separator: "/").last == name }
        return CrashSite(function: named?.function, file: location.displayFile, line: location.line)
    }

    /// `main` unwrapped a joined thread's `Err(Any { .. })`: the reason is the other thread's panic.
    static func addPanickedThread(_ lines: StreamLines, before anchor: Int, to block: inout CrashBlock) {
        var from = anchor - 1
        while let earlier = lines.lastIndex(before: from, limit: 400, where: isAnchor) {
            if let other = panic(lines, anchor: earlier), other.thread != block.thread, let message = other.message {
                let firstLine = HeadlineText.clip(message)
                block.causes.append("thread '\(other.thread ?? "?")' panicked: " + firstLine)
                block.headlineTail = "; thread '\(other.thread ?? "?")' panicked first: " + firstLine
                return
            }
            from = earlier - 1
        }
    }

    /// `thread 'main' has overflowed its stack` / `fatal runtime error: stack overflow`.
    static func fatalRuntimeError(_ lines: StreamLines, anchor: Int, message: String) -> CrashBlock {
        var block: CrashBlock
        if message.hasPrefix("stack overflow") {
            block = CrashBlock(runtime: .rust, kind: "stack overflow", title: "Rust stack overflow", first: anchor, last: anchor)
            if anchor > 0, let header = threadHeader(lines[anchor - 1]), header.rest.hasPrefix("has overflowed its stack") {
                block.first = anchor - 1
                block.thread = header.thread
                block.title += " in thread '\(header.thread)'"
            }
        } else {
            block = CrashBlock(runtime: .rust, kind: "fatal error", title: "Rust fatal runtime error", first: anchor, last: anchor)
            block.message = message
        }
        return block
    }
}
