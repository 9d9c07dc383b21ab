/// Redis's bug report (src/debug.c), on its log — stdout unless `logfile` is set:
///
///     === REDIS BUG REPORT START: Cut & paste starting from here ===
///     29283:M 07 Dec 2026 11:49:27.182 # Redis 7.0.15 crashed by signal: 11, si_code: 2
///     29283:M 07 Dec 2026 11:49:27.182 # Accessing address: 0x7f89a3e57000
///
///     ------ STACK TRACE ------
///     EIP:
///     redis-server *:6399(debugCommand+0x26f)[0x55c996bf775f]
///
///     Backtrace:
///     /lib/x86_64-linux-gnu/libc.so.6(+0x3c050)[0x7f89a36e1050]
///     redis-server *:6399(debugCommand+0x26f)[0x55c996bf775f]
///     …
///     === REDIS BUG REPORT END. Make sure to include from START to END. ===
///
/// or, for a failed assertion, `=== ASSERTION FAILED ===` and `==> debug.c:530 '1 == 2' is not
/// true` (then it dies of SIGABRT). The report runs to ~330 lines (INFO, client list, a memory
/// test); the facts are in its first ~40, which the daemon pins.
enum RedisBugReportRecognizer: CrashBlockRecognizer {
    static let start = "=== REDIS BUG REPORT START"

    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        guard let anchor = lines.lastIndex(before: lines.count - 1, where: { $0.utf8.first == UInt8(ascii: "=") && $0.hasPrefix(start) })
        else { return nil }
        var block = CrashBlock(runtime: .c, kind: "fatal signal", title: "Redis", first: anchor, last: anchor)
        var version: Substring?
        var signalNumber: Int?
        var assertion: (expression: String, place: SourceLocation?)?
        var eip: ParsedFrame?
        var frames: [ParsedFrame] = []
        var index = anchor + 1
        while let raw = lines.line(index), index - anchor < 1000 {
            if raw.hasPrefix("=== REDIS BUG REPORT END") {
                // Then its advice, indented: `Please report the crash by opening an issue…`.
                block.last = index
                while let next = lines.line(index + 1), next.isBlank || next.hasPrefix(" ") {
                    index += 1
                    if !next.isBlank { block.last = index }
                }
                break
            }
            let line = logMessage(raw)
            if let crashed = line.firstRange(of: " crashed by signal: ") {
                version = line[..<crashed.lowerBound].after("Redis ")
                signalNumber = line[crashed.upperBound...].prefix { $0 != "," }.decimal
            } else if let address = line.after("Accessing address: ") {
                block.details.append(.init("fault_address", String(address.trimmed)))
            } else if let failed = line.after("==> ") {
                assertion = parseAssertion(failed)
            } else if line == "EIP:", let next = lines.line(index + 1) {
                eip = frame(next)
            } else if line == "Backtrace:" {
                var at = index + 1
                while let next = lines.line(at), let parsed = frame(next) {
                    frames.append(parsed)
                    at += 1
                }
                index = at - 1
            }
            block.last = index
            index += 1
        }
        if let version { block.details.append(.init("runtime_version", "Redis " + version)) }
        block.title = version.map { "Redis " + $0 } ?? "Redis"
        block.frames = frames.map(\.frame)
        block.site = eip.flatMap { $0.origin == .own ? $0.site : nil } ?? ParsedFrame.site(in: frames)
        if let assertion {
            block.kind = "assertion failure"
            block.title += " assertion failed"
            block.message = assertion.expression
            if let place = assertion.place { block.site = CrashSite(function: block.site?.function, file: place.displayFile, line: place.line) }
        } else if let signalNumber {
            let name = SignalName.of(signalNumber)
            block.signal = name
            block.title += " crashed by signal \(signalNumber)" + (name.map { " (\($0))" } ?? "")
        } else {
            block.kind = "bug report"
            block.title += " bug report"
        }
        return block
    }

    /// `29283:M 07 Dec 2026 11:49:27.182 # message` → `message` (other lines as they are).
    static func logMessage(_ line: String) -> Substring {
        guard let first = line.utf8.first, first >= 0x30 && first <= 0x39,
              let marker = line.firstRange(of: " # ") ?? line.firstRange(of: " * ") else { return line.trimmed }
        let prefix = line[..<marker.lowerBound]
        guard prefix.contains(":"), prefix.count <= 40 else { return line.trimmed }
        return line[marker.upperBound...].trimmed
    }

    /// `t_hash.c:512 'o->encoding == OBJ_ENCODING_HT' is not true`
    static func parseAssertion(_ text: Substring) -> (String, SourceLocation?) {
        guard let space = text.firstIndex(of: " ") else { return (String(text), nil) }
        let place = SourceLocation.parse(text[..<space])
        var expression = text[text.index(after: space)...].trimmed
        if expression.hasSuffix(" is not true") { expression = expression.dropLast(" is not true".count) }
        if expression.hasPrefix("'") && expression.hasSuffix("'") && expression.count >= 2 { expression = expression.dropFirst().dropLast() }
        return (String(expression), place)
    }

    /// `redis-server *:6399(debugCommand+0x26f)[0x55c996bf775f]`,
    /// `/lib/x86_64-linux-gnu/libc.so.6(+0x3c050)[0x7f89a36e1050]` (backtrace_symbols format).
    static func frame(_ line: String) -> ParsedFrame? {
        guard line.hasSuffix("]"), let bracket = line.lastIndex(of: "["), let close = line[..<bracket].lastIndex(of: ")"),
              let open = line[..<close].lastIndex(of: "(") else { return nil }
        let module = line[..<open]
        let symbol = line[line.index(after: open)..<close]
        let name = symbol.prefix { $0 != "+" }
        let isSystem = module.hasPrefix("/lib") || module.hasPrefix("/usr/lib") || module.contains(".so")
        if name.isEmpty {
            let base = module.split(separator: "/").last.map(String.init) ?? String(module)
            return ParsedFrame(function: base + symbol, origin: .runtime)
        }
        // Redis's own signal handler and report writer are on the stack above the fault.
        let handler = ["sigsegvHandler", "logStackTrace", "bugReport", "_serverAssert", "_serverPanic", "serverLogHexDump"]
        let isHandler = handler.contains { name.hasPrefix($0) }
        return ParsedFrame(function: String(name), origin: isSystem || isHandler ? .runtime : .own)
    }
}

/// Linux signal names by number (x86-64, arm64), for reports that print only the number.
enum SignalName {
    static let names: [Int: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        31: "SIGSYS",
    ]

    static func of(_ number: Int) -> String? {
        names[number]
    }
}
