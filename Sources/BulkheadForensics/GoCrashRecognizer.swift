/// Go's crash output (runtime/panic.go, runtime/traceback.go), on stderr:
///
///     panic: runtime error: invalid memory address or nil pointer dereference
///     [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4814e8]
///
///     goroutine 1 [running]:
///     main.charge(...)
///             /src/billing/main.go:14
///     main.main()
///             /src/billing/main.go:20 +0x128
///
/// also `panic: A [recovered]` followed by the panic raised while handling it (`\tpanic: B`),
/// `fatal error: concurrent map writes` (preceded by `runtime: …` lines for out of memory and
/// stack overflow, and printing every goroutine), and `SIGSEGV: segmentation violation` /
/// `PC=…` for a signal in non-Go code. The crashing goroutine is printed first; the others
/// (thousands, with GOTRACEBACK=all or a fatal error) follow and are skipped.
enum GoCrashRecognizer: CrashBlockRecognizer {
    /// Anchors that turn out not to be Go's (a script's own `panic: disk full` line followed by
    /// more log lines) are passed over; only so many, so hostile output costs little.
    static let maxAnchorsTried = 8

    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        var from = lines.count - 1
        for _ in 0..<maxAnchorsTried {
            guard let anchor = lines.lastIndex(before: from, where: isAnchor) else { return nil }
            if let block = parse(lines, anchor: anchor) { return block }
            from = anchor - 1
        }
        return nil
    }

    static func isAnchor(_ line: String) -> Bool {
        switch line.utf8.first {
        case UInt8(ascii: "p"): return line.hasPrefix("panic: ")
        case UInt8(ascii: "f"): return line.hasPrefix("fatal error: ")
        case UInt8(ascii: "S"): return signalName(line) != nil
        default: return false
        }
    }

    /// `SIGSEGV: segmentation violation` → `SIGSEGV`.
    static func signalName(_ line: String) -> Substring? {
        guard line.hasPrefix("SIG"), let colon = line.firstIndex(of: ":") else { return nil }
        let name = line[..<colon]
        guard name.count > 3, name.count <= 10, name.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { return nil }
        return name
    }

    static func parse(_ lines: StreamLines, anchor: Int) -> CrashBlock? {
        var index = anchor + 1
        var continued = false
        let header = lines[anchor]
        var block: CrashBlock
        if let text = header.after("panic: ") {
            block = panic(text, lines, at: &index, continued: &continued)
            block.first = anchor
        } else if let text = header.after("fatal error: ") {
            block = fatalError(text, lines, anchor: anchor)
        } else if let name = signalName(header), lines.line(index)?.hasPrefix("PC=") == true {
            block = fatalSignal(name, header, lines, at: &index)
            block.first = anchor
        } else {
            return nil
        }
        if let line = lines.line(index), let signal = line.after("[signal ") {
            readSignalLine(signal, into: &block)
            index += 1
        }
        // What follows must be a trace, or nothing (the output was cut after the header line;
        // not after lines taken for a multi-line message: those were a script's log lines).
        if let next = lines.nextNonBlank(from: index) {
            let line = lines[next]
            guard line.hasPrefix("goroutine ") || line.hasPrefix("runtime stack:") || line.hasPrefix("exit status ")
                || line.hasPrefix("\t") || line.hasPrefix("PC=") || isRegisterLine(line) else { return nil }
        } else if continued {
            return nil
        }
        block.last = max(anchor, index - 1)
        readCrashingGoroutine(lines, from: index, into: &block)
        block.last = traceEnd(lines, from: block.last + 1, atLeast: block.last)
        return block
    }

    /// `panic: A [recovered]` / `\tpanic: B`: the last panic is the one that killed; the ones
    /// before it were recovered from (or were being handled) when it was raised.
    static func panic(_ text: Substring, _ lines: StreamLines, at index: inout Int, continued: inout Bool) -> CrashBlock {
        let start = index
        var panics = [String(text)]
        while let line = lines.line(index), !line.isBlank, !line.hasPrefix("goroutine "), !line.hasPrefix("[signal ") {
            if let nested = line.trimmed.after("panic: "), line.hasPrefix("\t") {
                panics.append(String(nested))
            } else if panics.count == 1 && index - start < 20 {
                // A multi-line panic value: printed as is, or by newer Go with each further line
                // indented by a tab.
                panics[0] += "\n" + (line.hasPrefix("\t") ? line.dropFirst() : line[...])
                continued = true
            } else {
                break
            }
            index += 1
        }
        var block = CrashBlock(runtime: .go, kind: "panic", title: "Go panic", first: start, last: start)
        block.message = panics.last.map { withoutRecoveredMark($0).text }
        // The earlier ones, newest first: recovered before the next was raised, or still
        // unwinding when a deferred call panicked.
        block.causes = panics.dropLast().reversed().map { panic in
            let (text, recovered) = withoutRecoveredMark(panic)
            return text + (recovered ? " (recovered)" : " (while panicking)")
        }
        return block
    }

    /// `fatal error: concurrent map writes`, with the `runtime: …` lines the runtime printed
    /// just before it (`runtime: out of memory: cannot allocate …`, `runtime: goroutine stack
    /// exceeds 1000000000-byte limit`).
    static func fatalError(_ text: Substring, _ lines: StreamLines, anchor: Int) -> CrashBlock {
        var block = CrashBlock(runtime: .go, kind: fatalKind(String(text)), title: "Go fatal error", first: anchor, last: anchor)
        block.message = String(text)
        var notes: [String] = []
        while block.first > 0, block.first > anchor - 4, let note = lines[block.first - 1].after("runtime: ") {
            notes.insert(String(note), at: 0)
            block.first -= 1
        }
        if !notes.isEmpty { block.details.append(.init("go_runtime", notes.joined(separator: "; "))) }
        return block
    }

    /// `SIGSEGV: segmentation violation` / `PC=… m=0 sigcode=1` / maybe `signal arrived during
    /// cgo execution`: a fault the runtime could not turn into a panic (in C code, say).
    static func fatalSignal(_ name: Substring, _ header: String, _ lines: StreamLines, at index: inout Int) -> CrashBlock {
        var block = CrashBlock(runtime: .go, kind: "fatal signal", title: "Go fatal signal", first: index, last: index)
        block.message = String(header.trimmed)
        block.signal = String(name)
        index += 1
        if lines.line(index)?.hasPrefix("signal arrived during cgo execution") == true {
            block.message? += " (signal arrived during cgo execution)"
            index += 1
        }
        return block
    }

    /// `fatal error: out of memory` is a limit more than a bug: its own kind lets a rule class it.
    static func fatalKind(_ message: String) -> String {
        if message.contains("out of memory") { return "out of memory" }
        if message == "stack overflow" { return "stack overflow" }
        return "fatal error"
    }

    /// `x [recovered]` (and newer Go's `x [recovered, repanicked]`) → (`x`, recovered).
    static func withoutRecoveredMark(_ text: String) -> (text: String, recovered: Bool) {
        for mark in [" [recovered]", " [recovered, repanicked]"] where text.hasSuffix(mark) {
            return (String(text.dropLast(mark.count)), true)
        }
        return (text, false)
    }

    /// `SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4814e8]`
    static func readSignalLine(_ text: Substring, into block: inout CrashBlock) {
        let fields = text.split(separator: " ")
        if let name = fields.first.map({ $0.hasSuffix(":") ? $0.dropLast() : $0 }) { block.signal = String(name) }
        for field in fields {
            if let address = field.after("addr=") { block.details.append(.init("fault_address", String(address))) }
        }
    }

    /// The first goroutine after the header is the one that crashed (runtime.printpanics, then
    /// traceback of the current goroutine first); its frames until the blank line or `created by`.
    static func readCrashingGoroutine(_ lines: StreamLines, from start: Int, into block: inout CrashBlock) {
        var index = start
        while index < lines.count, !lines[index].hasPrefix("goroutine ") {
            if index - start > 400 { return }
            index += 1
        }
        guard index < lines.count else { return }
        let header = lines[index]
        block.thread = header.split(separator: " ").prefix(2).joined(separator: " ")
        var frames: [ParsedFrame] = []
        var pending: String?
        index += 1
        while index < lines.count {
            let line = lines[index]
            if line.isBlank || line.hasPrefix("created by ") || line.hasPrefix("goroutine ") || !isTraceLine(line) { break }
            if line.hasPrefix("\t") {
                if let function = pending {
                    let location = line.trimmed.split(separator: " ").first.flatMap { SourceLocation.parse($0) }
                    frames.append(ParsedFrame(function: function, file: location?.file, line: location?.line, origin: .own))
                    pending = nil
                }
            } else if !line.hasPrefix("...") {
                pending = functionName(line)
            }
            index += 1
        }
        let goroot = inferredGoroot(frames)
        for i in frames.indices { frames[i].origin = origin(frames[i], goroot: goroot) }
        block.frames = frames.map(\.frame)
        block.site = ParsedFrame.site(in: frames)
        block.last = max(block.last, index - 1)
    }

    /// `main.(*Ledger).Charge(0xc000010000, {0x4b1234, 0x3})` → `main.(*Ledger).Charge`: the
    /// argument list is the last balanced parenthesis group.
    static func functionName(_ line: String) -> String {
        let text = line.trimmed
        guard text.hasSuffix(")") else { return String(text) }
        var depth = 0
        var index = text.endIndex
        while index > text.startIndex {
            index = text.index(before: index)
            if text[index] == ")" { depth += 1 }
            if text[index] == "(" {
                depth -= 1
                if depth == 0 { return String(text[..<index]) }
            }
        }
        return String(text)
    }

    /// GOROOT as this trace shows it: the directory holding `src/runtime/…` in some frame's file.
    static func inferredGoroot(_ frames: [ParsedFrame]) -> String? {
        for frame in frames {
            guard let file = frame.file, let range = file.firstRange(of: "/src/runtime/") else { continue }
            return String(file[..<range.lowerBound]) + "/src/"
        }
        return nil
    }

    static let runtimePackages = ["runtime.", "runtime/", "internal/", "sync.", "sync/", "reflect.", "syscall.", "testing."]

    static func origin(_ frame: ParsedFrame, goroot: String?) -> FrameOrigin {
        if frame.function == "panic" || runtimePackages.contains(where: { frame.function.hasPrefix($0) }) { return .runtime }
        guard let file = frame.file else { return .own }
        if let goroot, file.hasPrefix(goroot) { return .runtime }
        if file.contains("/pkg/mod/") || file.contains("/vendor/") { return .library }
        return .own
    }

    /// The trace runs on through the other goroutines to the end of the output; a line that is
    /// none of Go's (a goroutine header, a frame, a file line, a register) ends it.
    static func traceEnd(_ lines: StreamLines, from start: Int, atLeast last: Int) -> Int {
        var end = last
        var index = start
        while index < lines.count {
            let line = lines[index]
            if !line.isBlank {
                guard isTraceLine(line) else { break }
                end = index
            }
            index += 1
        }
        return end
    }

    static func isTraceLine(_ line: String) -> Bool {
        switch line.utf8.first {
        case UInt8(ascii: "\t"): return true
        case UInt8(ascii: " "), nil: return false  // another runtime's indented source line
        case UInt8(ascii: "g"): if line.hasPrefix("goroutine ") { return true }
        case UInt8(ascii: "c"): if line.hasPrefix("created by ") { return true }
        case UInt8(ascii: "."): if line.hasPrefix("...") { return true }
        default: break
        }
        // A frame's function line, `main.(*Ledger).Charge(0xc000010000, {0x4b1234, 0x3})`: a
        // log line ending in `)` has a `: ` in it, a Go function name never does.
        if line.utf8.last == UInt8(ascii: ")") { return ByteSearch.range(of: ": ", in: line) == nil }
        return line.hasPrefix("runtime stack:") || isRegisterLine(line)
    }

    /// `rax    0x0` (GOTRACEBACK=crash and signal deaths dump registers).
    static func isRegisterLine(_ line: String) -> Bool {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2, fields[0].count <= 6, fields[1].hasPrefix("0x") else { return false }
        return fields[0].utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}
