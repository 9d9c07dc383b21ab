/// Reads the backtracer's text report from a worker's stderr: what a worker that sets its own
/// `SWIFT_BACKTRACE` (or runs with it unset, outside bulkhead) leaves (docs/notes/backtracer.md
/// §2). The text has no mangled names, so frames cannot be told apart by module as in JSON; the
/// rest reads the same.
///
///     *** Program crashed: Bad pointer dereference at 0x00007fff35e66ff8 ***
///     Thread 0 "crashlab" crashed:
///          0                  0x000055c1cac88e35 static Opaque.value<A>(_:) + 21 in crashlab at /w/Sources/CrashLab/Opaque.swift:7:45
///          1 [ra] [inlined] [system] 0x0000… static RuntimeTraps.overflowAdd() in crashlab at //<compiler-generated>
///        ...
///     rsp 0x00007fff35e67000  30 70 e6 35 …
enum SwiftBacktraceText {
    /// The report whose headline is the first of `lines`; nil when that line is not a headline.
    static func parse(_ lines: ArraySlice<String>) -> SwiftBacktrace? {
        guard let first = lines.first, let head = headline(first) else { return nil }
        var report = SwiftBacktrace(description: head.description, faultAddress: head.address, threads: [])
        var lastIndex: Int?
        for line in lines.dropFirst() {
            if line.hasPrefix("Backtrace took ") || line.hasPrefix("*** Program crashed: ") { break }
            if let thread = threadHeader(line) {
                report.threads.append(thread)
                lastIndex = nil
                continue
            }
            guard !report.threads.isEmpty else { continue }
            let current = report.threads.count - 1
            if let parsed = frameLine(line) {
                if let lastIndex, parsed.index > lastIndex + 1 {
                    report.threads[current].omittedFrames += parsed.index - lastIndex - 1
                }
                lastIndex = parsed.index
                report.threads[current].frames.append(parsed.frame)
            } else if let stackPointer = register(line, "rsp") ?? register(line, "sp") {
                // Registers follow the threads and belong to the crashed one.
                if let crashed = report.threads.firstIndex(where: \.crashed) { report.threads[crashed].stackPointer = stackPointer }
            }
        }
        return report
    }

    /// `*** Program crashed: Bad pointer dereference at 0x0000… ***` → (`Bad pointer
    /// dereference`, address); `*** Swift runtime failure: arithmetic overflow ***` → (that, nil).
    static func headline(_ line: String) -> (description: String, address: UInt64?)? {
        guard line.hasSuffix(" ***") else { return nil }
        if line.hasPrefix("*** Swift runtime failure: ") {
            return (String(line.dropFirst(4).dropLast(4)), nil)
        }
        guard line.hasPrefix("*** Program crashed: ") else { return nil }
        let body = line.dropFirst("*** Program crashed: ".count).dropLast(4)
        guard let at = body.ranges(of: " at 0x").last else { return (String(body), nil) }
        return (String(body[..<at.lowerBound]), SwiftBacktraceJSON.hexAddress(String(body[body.index(at.lowerBound, offsetBy: 4)...])))
    }

    /// `Thread 1 "oot.default-qos" crashed:` / `Thread 0 "crashlab":`.
    private static func threadHeader(_ line: String) -> SwiftBacktrace.Thread? {
        guard line.hasPrefix("Thread "), line.hasSuffix(":") else { return nil }
        let crashed = line.hasSuffix(" crashed:")
        var name: String?
        if let open = line.firstIndex(of: "\""), let close = line.lastIndex(of: "\""), open < close {
            name = String(line[line.index(after: open)..<close])
        }
        return SwiftBacktrace.Thread(name: name, crashed: crashed, frames: [], omittedFrames: 0, stackPointer: nil)
    }

    /// `  3 [ra] [inlined] 0x0000… description in image at /path/File.swift:20:42` → (3, frame).
    private static func frameLine(_ line: String) -> (index: Int, frame: SwiftBacktrace.Frame)? {
        var rest = line.trimmingSpaces
        let digits = rest.prefix { $0.isASCIIDigitCharacter }
        guard let index = Int(digits) else { return nil }
        rest = rest.dropFirst(digits.count).trimmingSpaces
        var flags: Set<Substring> = []
        while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            flags.insert(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...].trimmingSpaces
        }
        guard rest.hasPrefix("0x") else { return nil }
        rest = rest.drop { $0 != " " }.trimmingSpaces

        var file: String?
        var lineNumber: Int?
        if let at = rest.ranges(of: " at ").last {
            let location = rest[at.upperBound...]
            if location.hasPrefix("//<") || location.hasPrefix("<") {
                rest = rest[..<at.lowerBound]
            } else if location.hasPrefix("/") {
                var parts = location.split(separator: ":", omittingEmptySubsequences: false)
                // `/path/File.swift:20:42` or `/path/File.swift:20`: the path may not hold a colon.
                if parts.count >= 3, Int(parts[parts.count - 1]) != nil, Int(parts[parts.count - 2]) != nil { parts.removeLast() }
                if parts.count >= 2, let number = Int(parts[parts.count - 1]) {
                    file = parts.dropLast().joined(separator: ":")
                    lineNumber = number > 0 ? number : nil
                    rest = rest[..<at.lowerBound]
                }
            }
        }
        var image: String?
        if let inImage = rest.ranges(of: " in ").last, !rest[inImage.upperBound...].contains(" ") {
            image = String(rest[inImage.upperBound...])
            rest = rest[..<inImage.lowerBound]
        }
        let function = SwiftBacktraceJSON.withoutOffset(String(rest))
        return (index, SwiftBacktrace.Frame(function: function, symbol: nil, image: image, file: file, line: lineNumber,
                                            inlined: flags.contains("inlined"), system: flags.contains("system"),
                                            thunk: flags.contains("thunk"),
                                            runtimeFailure: function.hasPrefix("Swift runtime failure: ")))
    }

    /// `rsp 0x00007fff35e67000  30 70 …` → the value.
    private static func register(_ line: String, _ name: String) -> UInt64? {
        let text = line.trimmingSpaces
        guard text.hasPrefix(name + " 0x") else { return nil }
        return SwiftBacktraceJSON.hexAddress(String(text.dropFirst(name.count + 1).prefix { $0 != " " }))
    }
}
