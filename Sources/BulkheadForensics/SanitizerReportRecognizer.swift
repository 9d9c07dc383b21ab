/// Compiler-rt sanitizer reports, on stderr. AddressSanitizer (and LeakSanitizer):
///
///     =================================================================
///     ==28959==ERROR: AddressSanitizer: heap-use-after-free on address 0x6060… at pc 0x7fea… bp … sp …
///     READ of size 2 at 0x606000000020 thread T0
///         #0 0x7fea71e4a730 in __interceptor_strlen ../../../../src/libsanitizer/…:389
///         #1 0x562d8d358250 in greeting_length /src/greeter/use_after_free.c:17
///     …
///     ==28959==ABORTING
///
/// ASan then exits 1 (not a signal), so its report is what makes the death a crash. The first
/// stack is the faulting access; the `freed by` / `previously allocated by` stacks are not.
/// UndefinedBehaviorSanitizer prints one `file.c:9:17: runtime error: …` line and, in its
/// default mode, lets the program go on: a warning, not the crash.
enum SanitizerReportRecognizer: CrashBlockRecognizer {
    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        let report = lines.lastIndex(before: lines.count - 1, where: isReportHeader)
        let ubsan = lines.lastIndex(before: lines.count - 1, where: isUBSanLine)
        switch (report, ubsan) {
        case let (report?, ubsan?): return ubsan > report ? undefinedBehavior(lines, anchor: ubsan) : addressReport(lines, anchor: report)
        case let (report?, nil): return addressReport(lines, anchor: report)
        case let (nil, ubsan?): return undefinedBehavior(lines, anchor: ubsan)
        case (nil, nil): return nil
        }
    }

    /// `==28959==ERROR: AddressSanitizer: …`
    static func isReportHeader(_ line: String) -> Bool {
        guard line.utf8.first == UInt8(ascii: "="), line.hasPrefix("=="), let error = line.firstRange(of: "==ERROR: ") else { return false }
        return line[error.upperBound...].contains("Sanitizer: ")
    }

    /// `file.c:9:17: runtime error: …`: the text before the marker must be a location with a
    /// line and a column (a log line quoting Go's `panic: runtime error: …` is not UBSan).
    static func isUBSanLine(_ line: String) -> Bool {
        guard let marker = ByteSearch.range(of: ": runtime error: ", in: line) else { return false }
        let place = line[..<marker.lowerBound]
        guard !place.contains(" "), let last = place.split(separator: ":").last, last.decimal != nil else { return false }
        return SourceLocation.parse(place.dropLast(last.count + 1))?.line != nil
    }

    static func addressReport(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        let header = lines[anchor]
        guard let error = header.firstRange(of: "==ERROR: ") else { return nil }
        let body = header[error.upperBound...]
        guard let toolEnd = body.firstRange(of: ": ") else { return nil }
        let tool = String(body[..<toolEnd.lowerBound])
        var text = body[toolEnd.upperBound...]
        for tail in [" at pc ", " (pc "] {
            if let cut = text.firstRange(of: tail) { text = text[..<cut.lowerBound] }
        }
        let bug = String(text.prefix { $0 != ":" }.split(separator: " on ").first ?? text).trimmed
        var block = CrashBlock(runtime: .c, kind: "sanitizer: " + bug, title: "C " + tool, first: anchor, last: anchor,
                               isFatal: tool != "LeakSanitizer")
        if anchor > 0, lines[anchor - 1].hasPrefix("=====") { block.first = anchor - 1 }
        var message = String(text.trimmed)
        var index = anchor + 1
        // `READ of size 2 at 0x… thread T0`, or for a signal `==1==The signal is caused by a READ memory access.`
        while let line = lines.line(index), !line.hasPrefix("    #"), index - anchor < 6 {
            if let access = accessLine(line) {
                message += " (" + access.access + ")"
                block.thread = access.thread
            } else if let hint = line.firstRange(of: "==The signal is caused by a ") {
                let access = line[hint.upperBound...].prefix { $0 != "." }
                message += " (" + access + ")"
            }
            index += 1
        }
        block.message = message
        var frames: [ParsedFrame] = []
        while let line = lines.line(index), let frame = frame(line) {
            frames.append(frame)
            index += 1
        }
        block.frames = frames.map(\.frame)
        block.site = ParsedFrame.site(in: frames)
        if let file = block.site?.file, isCxx(file) {
            block.runtime = .cpp
            block.title = "C++ " + tool
        }
        block.last = max(block.last, index - 1)
        // The rest (other stacks, SUMMARY, shadow bytes) runs to `==PID==ABORTING`.
        var scan = index
        while let line = lines.line(scan), scan - anchor < 400 {
            if line.hasPrefix("SUMMARY: ") { block.last = scan }
            if line.hasPrefix("=="), line.hasSuffix("==ABORTING") {
                block.last = scan
                break
            }
            if isReportHeader(line) { break }
            scan += 1
        }
        return block
    }

    /// `READ of size 2 at 0x606000000020 thread T0` → (`READ of size 2`, `T0`).
    static func accessLine(_ line: String) -> (access: String, thread: String?)? {
        guard line.hasPrefix("READ of size ") || line.hasPrefix("WRITE of size "), let at = line.firstRange(of: " at ") else { return nil }
        let thread = line.firstRange(of: " thread ").map { String(line[$0.upperBound...].prefix { $0 != " " }) }
        return (String(line[..<at.lowerBound]), thread)
    }

    /// `    #1 0x562d8d358250 in greeting_length /src/greeter/use_after_free.c:17` (the function
    /// may have spaces: C++ signatures), `    #5 0x562d8d358120 in _start (/tmp/uaf+0x1120)`,
    /// `    #3 0x7f… (/lib/x86_64-linux-gnu/libc.so.6+0x2724a)`.
    static func frame(_ line: String) -> ParsedFrame? {
        guard let rest = line.trimmed.after("#"), let space = rest.firstIndex(of: " "), rest[..<space].decimal != nil else { return nil }
        let afterNumber = rest[rest.index(after: space)...].trimmed
        let afterAddress = afterNumber.drop { $0 != " " }.trimmed
        var function: Substring = "??"
        var place = afterAddress
        if let named = afterAddress.after("in ") {
            function = named
            place = ""
            if let lastSpace = named.lastIndex(of: " ") {
                let last = named[named.index(after: lastSpace)...]
                if last.hasPrefix("(") || SourceLocation.parse(last) != nil {
                    function = named[..<lastSpace]
                    place = last
                }
            }
        }
        var file: String?
        var number: Int?
        var module: Substring?
        if place.hasPrefix("(") {
            module = place.dropFirst().prefix { $0 != "+" && $0 != ")" }
        } else if let location = SourceLocation.parse(place) {
            file = location.file
            number = location.line
        }
        let name = String(function)
        return ParsedFrame(function: name, file: file, line: number, origin: origin(name, file: file, module: module))
    }

    static let runtimeFunctions = ["__interceptor_", "___interceptor_", "__asan", "__lsan", "__ubsan", "__sanitizer", "__libc_",
                                   "_start", "__GI_", "operator new", "operator delete", "malloc", "free", "calloc", "realloc"]

    static func origin(_ function: String, file: String?, module: Substring?) -> FrameOrigin {
        if runtimeFunctions.contains(where: { function.hasPrefix($0) }) { return .runtime }
        if let file, file.contains("libsanitizer") || file.contains("compiler-rt") || file.hasPrefix("../sysdeps/")
            || file.hasPrefix("../csu/") || file.hasPrefix("/usr/include/") {
            return .runtime
        }
        if let module, module.contains("/libc.so") || module.contains("libasan") || module.contains("libstdc++") || module.contains("ld-linux") {
            return .runtime
        }
        if file == nil && function == "??" { return .runtime }
        return .own
    }

    /// `src/ticket.c:9:17: runtime error: signed integer overflow: 2147483647 + 1 cannot be
    /// represented in type 'int'`, maybe followed by `    #0 0x… in next_ticket …` frames.
    static func undefinedBehavior(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        let line = lines[anchor]
        guard let marker = ByteSearch.range(of: ": runtime error: ", in: line) else { return nil }
        let location = SourceLocation.parse(line[..<marker.lowerBound])
        let cxx = location.map { isCxx($0.file) } ?? false
        var block = CrashBlock(runtime: cxx ? .cpp : .c, kind: "sanitizer: undefined behavior",
                               title: (cxx ? "C++" : "C") + " UndefinedBehaviorSanitizer", first: anchor, last: anchor, isFatal: false)
        block.message = String(line[marker.upperBound...])
        var index = anchor + 1
        var frames: [ParsedFrame] = []
        while let next = lines.line(index), let frame = frame(next) {
            frames.append(frame)
            index += 1
        }
        if let next = lines.line(index), next.hasPrefix("SUMMARY: UndefinedBehaviorSanitizer") { index += 1 }
        block.last = index - 1
        block.frames = frames.map(\.frame)
        let named = frames.first { $0.origin == .own }
        block.site = location.map { CrashSite(function: named?.function, file: $0.displayFile, line: $0.line) } ?? named?.site
        return block
    }

    static func isCxx(_ file: String) -> Bool {
        [".cc", ".cpp", ".cxx", ".hpp", ".hh", ".h++", ".C"].contains { file.hasSuffix($0) }
    }
}
