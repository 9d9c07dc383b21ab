import BulkheadForensics
import BulkheadPolicy

/// Why a process died, from what it left (`CrashExplainer`, once per death): its output, a
/// pinned crash block, the Swift backtracer's JSON report, the kernel's fault line; then the
/// fingerprint. Input: two bytes for how it ended, then NUL-separated fields: output lines,
/// block-head lines (a line starting with 0x01 is stdout, any other stderr), the backtrace JSON
/// (absent when empty), the kernel line (absent when empty).
enum ForensicsFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        var fields = FuzzFields(bytes)
        let how = fields.byte()
        let number = fields.byte()
        let termination: Termination = how & 1 == 0
            ? .signaled(signal: Int32(number % 65), coreDumped: how & 2 != 0)
            : .exited(code: Int32(number))
        let output = lines(fields.next())
        let blockHead = lines(fields.next())
        let backtrace = fields.next()
        let kernel = fields.next()
        let scene = DeathScene(termination: termination, output: output, blockHead: blockHead,
                               swiftBacktraceJSON: backtrace.isEmpty ? nil : backtrace,
                               kernelFaultLine: kernel.isEmpty ? nil : String(decoding: kernel, as: UTF8.self),
                               coreDump: how & 4 != 0 ? .coredumpctl : nil, pid: 4242)
        let explanation = CrashExplainer.explain(scene)
        precondition(!explanation.headline.isEmpty)
        let facts = DeathFacts(termination: termination, stderrTail: output.filter { $0.stream == .stderr }.map(\.text),
                               fatalMessage: explanation.fatalMessage, sourceLocation: explanation.sourceLocation,
                               headline: explanation.headline, topFrames: explanation.frames.map { $0.function },
                               fingerprintBasis: explanation.fingerprintBasis)
        _ = CrashFingerprint.compute(facts)
    }

    static func lines(_ bytes: [UInt8]) -> [OutputLine] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.first == 0x01
                ? OutputLine(.stdout, String(decoding: line.dropFirst(), as: UTF8.self))
                : OutputLine(.stderr, String(decoding: line, as: UTF8.self))
        }
    }
}
