/// What the C library says before it aborts the process: glibc's heap checks (`free(): double
/// free detected in tcache 2`, `malloc(): corrupted top size`, `double free or corruption
/// (out)`), its fortify and stack-protector messages (`*** stack smashing detected ***:
/// terminated`), `Fatal glibc error: …`, older glibc's `*** Error in `./prog': …`, and failed
/// assertions — glibc's `prog: file.c:12: main: Assertion `x' failed.` and musl's
/// `Assertion failed: x (file.c: main: 12)`.
///
/// The abort's SIGABRT already classes the death a crash, and a child process's message can
/// reach the worker's stderr, so these explain the death without being counted as the crash
/// (`isFatal` false).
enum CLibraryAbortRecognizer: CrashBlockRecognizer {
    /// Lines glibc's malloc and friends print (malloc/malloc.c `malloc_printerr`), by prefix,
    /// filed under their first byte: every line of the window is checked.
    static let heapMessages: [UInt8: [String]] = [
        UInt8(ascii: "f"): ["free(): "],
        UInt8(ascii: "m"): ["malloc(): ", "munmap_chunk(): ", "malloc_consolidate(): "],
        UInt8(ascii: "r"): ["realloc(): "],
        UInt8(ascii: "c"): ["calloc(): ", "corrupted size vs. prev_size", "corrupted double-linked list"],
        UInt8(ascii: "d"): ["double free or corruption"],
        UInt8(ascii: "_"): ["_int_free(): ", "_int_malloc(): "],
        UInt8(ascii: "t"): ["tcache_thread_shutdown(): "],
        UInt8(ascii: "F"): ["Fatal glibc error: "],
    ]

    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        guard let anchor = lines.lastIndex(before: lines.count - 1, where: isAnchor) else { return nil }
        let line = lines[anchor].trimmed
        if let block = assertion(line, anchor: anchor) { return block }
        var block = CrashBlock(runtime: .c, kind: "abort", title: "C abort (glibc)", first: anchor, last: anchor, isFatal: false)
        if let inner = line.after("*** Error in `"), let close = inner.firstIndex(of: "'") {
            // glibc < 2.26: `*** Error in `./prog': double free or corruption (fasttop): 0x… ***`
            var message = inner[inner.index(after: close)...].trimmed
            if let rest = message.after(":") { message = rest.trimmed }
            if message.hasSuffix("***") { message = message.dropLast(3).trimmed }
            block.message = String(message)
        } else {
            block.message = String(line)
        }
        if line.hasPrefix("*** stack smashing") { block.kind = "stack smashing" }
        return block
    }

    static func isAnchor(_ line: String) -> Bool {
        guard let first = line.utf8.first else { return false }
        switch first {
        case UInt8(ascii: "*"):
            if line.hasPrefix("*** ") && (line.hasSuffix("***: terminated") || line.hasPrefix("*** Error in `")) { return true }
        case UInt8(ascii: "A"):
            if line.hasPrefix("Assertion failed: ") { return true }
        default:
            if let prefixes = heapMessages[first], prefixes.contains(where: { line.hasPrefix($0) }) { return true }
        }
        return line.utf8.last == UInt8(ascii: ".") && line.hasSuffix("' failed.") && line.contains(": Assertion `")
    }

    /// glibc: `prog: file.c:12: func: Assertion `expr' failed.`; musl: `Assertion failed: expr
    /// (file.c: func: 12)`.
    static func assertion(_ line: Substring, anchor: Int) -> CrashBlock? {
        var expression: Substring
        var site: CrashSite
        if let musl = line.after("Assertion failed: "), musl.hasSuffix(")"), let open = musl.lastIndex(of: "(") {
            expression = musl[..<open].trimmed
            let parts = musl[musl.index(after: open)..<musl.index(before: musl.endIndex)].split(separator: ":").map { $0.trimmed }
            guard parts.count == 3 else { return nil }
            site = CrashSite(function: String(parts[1]), file: SourceLocation.display(String(parts[0])), line: parts[2].decimal)
        } else if let marker = line.firstRange(of: ": Assertion `"), line.hasSuffix("' failed.") {
            expression = line[marker.upperBound..<line.index(line.endIndex, offsetBy: -"' failed.".count)]
            // `prog: file.c:12: func` — the program name may itself hold `: `, so read from the end.
            let head = line[..<marker.lowerBound]
            guard let functionStart = head.ranges(of: ": ").last else { return nil }
            let function = head[functionStart.upperBound...]
            let before = head[..<functionStart.lowerBound]
            let placeStart = before.ranges(of: ": ").last.map(\.upperBound) ?? before.startIndex
            guard let place = SourceLocation.parse(before[placeStart...]) else { return nil }
            site = CrashSite(function: String(function), file: place.displayFile, line: place.line)
        } else {
            return nil
        }
        let isCxx = site.file.map { file in [".cc", ".cpp", ".cxx", ".hpp", ".hh", ".C"].contains { file.hasSuffix($0) } } ?? false
        var block = CrashBlock(runtime: isCxx ? .cpp : .c, kind: "assertion failure", title: isCxx ? "C++ assertion failed" : "C assertion failed",
                               first: anchor, last: anchor, isFatal: false)
        block.message = String(expression)
        block.site = site
        return block
    }
}
