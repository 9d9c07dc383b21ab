/// The C++ runtime's verbose terminate handler: libstdc++ (GCC) prints
///
///     terminate called after throwing an instance of 'std::runtime_error'
///       what():  ledger checksum mismatch
///
/// (or `terminate called without an active exception`, `terminate called recursively`), and
/// libc++ (Clang) `libc++abi: terminating due to uncaught exception of type std::runtime_error:
/// …`; then abort() raises SIGABRT. No frames are printed.
enum CxxTerminateRecognizer: CrashBlockRecognizer {
    static func lastBlock(in lines: StreamLines) -> CrashBlock? {
        guard let anchor = lines.lastIndex(before: lines.count - 1, where: isAnchor) else { return nil }
        let line = lines[anchor]
        if let type = line.after("terminate called after throwing an instance of '") {
            var block = uncaught(type: type.hasSuffix("'") ? type.dropLast() : type, anchor: anchor)
            if let what = lines.line(anchor + 1)?.trimmed.after("what():") {
                block.message = String(what.trimmed)
                block.last = anchor + 1
            }
            return block
        }
        if let rest = line.after("libc++abi: terminating due to uncaught exception of type ") {
            let colon = rest.firstRange(of: ": ")
            var block = uncaught(type: colon.map { rest[..<$0.lowerBound] } ?? rest, anchor: anchor)
            block.message = colon.map { String(rest[$0.upperBound...]) }
            return block
        }
        var block = CrashBlock(runtime: .cpp, kind: "terminate", title: "C++ terminate", first: anchor, last: anchor)
        block.message = String((line.after("terminate called ") ?? line.after("libc++abi: ") ?? line[...]).trimmed)
        return block
    }

    static func isAnchor(_ line: String) -> Bool {
        switch line.utf8.first {
        case UInt8(ascii: "t"): return line.hasPrefix("terminate called ")
        case UInt8(ascii: "l"): return line.hasPrefix("libc++abi: terminating")
        default: return false
        }
    }

    static func uncaught(type: Substring, anchor: Int) -> CrashBlock {
        var block = CrashBlock(runtime: .cpp, kind: "uncaught exception", title: "C++ uncaught " + type, first: anchor, last: anchor)
        block.exceptionType = String(type)
        return block
    }
}
