/// The daemon calls `isBlockStart` for every output line it reads, so it costs a branch on the
/// first byte and, for the few lines that pass it, one short byte compare: 3.4–3.8 ns a typical
/// log line, the call included, optimised (`scripts/bench-forensics`).
public enum CrashBlockMarkers {
    /// True when `line` (without its newline) can start a runtime's crash block that may be too
    /// long for the output tail: a Go `panic: ` / `fatal error: ` / `SIGSEGV: ` trace, a Rust
    /// `thread '…' panicked` or `fatal runtime error: `, Python's `Traceback (most recent call
    /// last):` and `Fatal Python error: `, the JVM's `Exception in thread `, C++'s
    /// `terminate called `, V8's `FATAL ERROR: `, Node's `Uncaught `, the `=====…` rule that opens
    /// an AddressSanitizer report, and Redis's `=== REDIS BUG REPORT START`. The daemon pins
    /// the block's head from such a line so a long trace cannot scroll it out.
    ///
    /// One-line blocks (glibc aborts, assertion failures, UBSan) and Node's short uncaught-error
    /// block always fit the tail and are not marked.
    public static func isBlockStart(_ line: UnsafeRawBufferPointer) -> Bool {
        guard line.count >= 5 else { return false }
        switch line[0] {
        case UInt8(ascii: "p"): return starts(line, "panic: ")
        case UInt8(ascii: "f"): return starts(line, "fatal error: ") || starts(line, "fatal runtime error: ")
        case UInt8(ascii: "t"): return starts(line, "thread '") || starts(line, "terminate called ")
        case UInt8(ascii: "T"): return starts(line, "Traceback (most recent call last):")
        case UInt8(ascii: "E"): return starts(line, "Exception in thread ")
        case UInt8(ascii: "F"): return starts(line, "Fatal Python error: ") || starts(line, "FATAL ERROR: ")
        case UInt8(ascii: "U"): return starts(line, "Uncaught ")
        case UInt8(ascii: "S"): return isGoSignalLine(line)
        case UInt8(ascii: "="):
            // ASan's rule of `=` before `==1234==ERROR: AddressSanitizer`, or Redis's report. Not
            // `==1234==ABORTING` nor `=== REDIS BUG REPORT END`: those end a block.
            return starts(line, "=====") || starts(line, "=== REDIS BUG REPORT START")
        default: return false
        }
    }

    /// `SIGSEGV: segmentation violation`: a signal the Go runtime could not turn into a panic.
    static func isGoSignalLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard starts(line, "SIG") else { return false }
        var index = 3
        while index < line.count && index < 12, line[index] >= UInt8(ascii: "A"), line[index] <= UInt8(ascii: "Z") {
            index += 1
        }
        return index > 3 && index + 1 < line.count && line[index] == UInt8(ascii: ":") && line[index + 1] == UInt8(ascii: " ")
    }

    static func starts(_ line: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard line.count >= count else { return false }
        let bytes = prefix.utf8Start
        for index in 1..<count where line[index] != bytes[index] { return false }
        return true
    }
}
