/// The JVM's default uncaught-exception handler (java.lang.ThreadGroup.uncaughtException →
/// Throwable.printStackTrace), on stderr, for Java, Kotlin, Scala…:
///
///     Exception in thread "main" CausedBy$StoreException: cannot open store
///             at CausedBy.openStore(CausedBy.java:26)
///             at CausedBy.main(CausedBy.java:32)
///     Caused by: java.lang.NumberFormatException: For input string: "80a"
///             at java.base/java.lang.Integer.parseInt(Integer.java:668)
///             ... 2 more
///
/// Only the handler prints `Exception in thread`: a stack trace a logger printed is not an
/// uncaught exception and is not recognised. When the thread was not the last non-daemon one
/// the JVM goes on, and the block does not end the output (`isCrash` false).
enum JVMExceptionRecognizer: CrashBlockRecognizer {
    static let header = "Exception in thread \""

    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        guard let anchor = lines.lastIndex(before: lines.count - 1, where: { $0.hasPrefix(header) }),
              let rest = lines[anchor].after(header), let quote = rest.firstIndex(of: "\"") else { return nil }
        let thread = String(rest[..<quote])
        var index = anchor
        guard let top = exception(lines, at: &index, text: rest[rest.index(after: quote)...].trimmed) else { return nil }
        var chain = [top]
        while let line = lines.line(index), let cause = line.after("Caused by: ") {
            guard let next = exception(lines, at: &index, text: cause) else { break }
            chain.append(next)
        }
        var block = CrashBlock(runtime: .jvm, kind: kind(top.type), title: "JVM uncaught " + top.type, first: anchor,
                               last: index - 1)
        if thread != "main" { block.title += " in thread \"\(thread)\"" }
        block.thread = thread
        block.exceptionType = top.type
        block.message = top.message
        block.frames = top.frames.map(\.frame)
        // Where the exception that killed the thread was thrown; a wrapper thrown by the JDK
        // alone (reflection, an executor) points at the first cause with a frame of ours.
        block.site = chain.lazy.compactMap { ParsedFrame.site(in: $0.frames) }.first
        block.causes = chain.dropFirst().map { $0.type + ($0.message.map { ": " + $0 } ?? "") }
        if let root = block.causes.last { block.headlineTail = "; root cause " + HeadlineText.clip(root) }
        return block
    }

    static func kind(_ type: String) -> String {
        type.hasSuffix("OutOfMemoryError") ? "out of memory" : type.hasSuffix("StackOverflowError") ? "stack overflow" : "uncaught exception"
    }

    struct Thrown {
        var type: String
        var message: String?
        var frames: [ParsedFrame]
    }

    /// `Type: message` at `index`, message lines up to the first `\tat`, then the frames;
    /// `index` ends past them (and past `Suppressed:` sections, which are not the cause).
    static func exception(_ lines: StreamLines, at index: inout Int, text: Substring) -> Thrown? {
        let colon = text.firstRange(of: ": ")
        let type = String(colon.map { text[..<$0.lowerBound] } ?? text)
        guard !type.isEmpty, !type.contains(" ") else { return nil }
        var message = colon.map { String(text[$0.upperBound...]) }
        index += 1
        if var text = message {
            // A multi-line message: everything up to the first frame (the daemon may have cut
            // one long line into several; past 4 KiB they are skipped, not kept).
            var taken = 0
            while let line = lines.line(index), !line.isBlank, !line.hasPrefix("\t"), !line.hasPrefix("Caused by: "),
                  !LogRecord.starts(line), taken < 64 {
                if text.utf8.count < 4096 { text += "\n" + line }
                index += 1
                taken += 1
            }
            message = text
        }
        var frames: [ParsedFrame] = []
        var suppressed = false
        while let line = lines.line(index), line.hasPrefix("\t") {
            // `\tat …` frames, `\t... 2 more`, then `\tSuppressed: …` with its own `\t\tat …`.
            if line.hasPrefix("\tSuppressed: ") { suppressed = true }
            if !suppressed, let at = line.after("\tat "), let frame = frame(at) { frames.append(frame) }
            index += 1
        }
        return Thrown(type: type, message: message, frames: frames)
    }

    /// `java.base/java.lang.Integer.parseInt(Integer.java:668)`, `app//Main.run(Main.kt:9)`,
    /// `Foo.bar(Native Method)`, `Foo.bar(Unknown Source)`.
    static func frame(_ text: Substring) -> ParsedFrame? {
        guard text.hasSuffix(")"), let open = text.lastIndex(of: "(") else { return nil }
        // `[loader/][module[@version]]/Class.method`; a hidden class's name has a slash of its
        // own (`Foo$$Lambda$14/0x0000000800c03000.run`).
        var parts = text[..<open].split(separator: "/", omittingEmptySubsequences: false)
        var function = parts.removeLast()
        if function.hasPrefix("0x"), let owner = parts.popLast() {
            function = text[owner.startIndex..<function.endIndex]
        }
        let module = parts.last { !$0.isEmpty }
        let place = text[text.index(after: open)..<text.index(before: text.endIndex)]
        let location = SourceLocation.parse(place)
        let name = String(function)
        var origin = FrameOrigin.own
        if let module, module.hasPrefix("java.") || module.hasPrefix("jdk.") { origin = .runtime }
        if runtimePackages.contains(where: { name.hasPrefix($0) }) { origin = .runtime }
        return ParsedFrame(function: name, file: location?.file, line: location?.line, origin: origin)
    }

    static let runtimePackages = ["java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala."]
}
