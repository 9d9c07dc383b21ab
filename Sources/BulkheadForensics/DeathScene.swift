import BulkheadPolicy

/// Everything a death left behind that can say *why* it happened, gathered by the daemon after
/// reaping and handed to `CrashExplainer` once per death (never per output line). Pure data:
/// nothing here reads a file, a clock or the system.
public struct DeathScene: Equatable, Sendable {
    /// How the main process ended.
    public var termination: Termination
    /// The last lines the instance wrote, both streams interleaved in the order bulkhead read
    /// them, oldest first, each marked with its stream. Bounded by the daemon (a few hundred
    /// lines, at most tens of KiB); a line may be cut at the daemon's maximum line length.
    public var output: [OutputLine]
    /// Lines pinned from the first line the daemon saw start a runtime's crash block
    /// (`CrashBlockMarkers.isBlockStart`) onwards, when that start has already scrolled out of
    /// `output` (a Go trace of many goroutines). Empty when `output` holds the whole block.
    public var blockHead: [OutputLine]
    /// The Swift runtime backtracer's JSON report (SWIFT_BACKTRACE=format=json), raw bytes,
    /// when it ran for this process.
    public var swiftBacktraceJSON: [UInt8]?
    /// What the kernel logged about an unhandled fault of this pid (`/dev/kmsg`: `prog[pid]:
    /// segfault at 0 ip … sp … error 4 in prog[…]`), raw line, when the daemon could read it.
    public var kernelFaultLine: String?
    /// Where the core went, when the process dumped one (`CoreDumpLocation`): systemd-coredump
    /// (`coredumpctl info PID`) or a file the daemon saw there.
    public var coreDump: CoreDumpLocation?
    /// The main process's pid (for `coredumpctl info PID`).
    public var pid: Int32?

    public init(termination: Termination, output: [OutputLine] = [], blockHead: [OutputLine] = [],
                swiftBacktraceJSON: [UInt8]? = nil, kernelFaultLine: String? = nil,
                coreDump: CoreDumpLocation? = nil, pid: Int32? = nil) {
        self.termination = termination
        self.output = output
        self.blockHead = blockHead
        self.swiftBacktraceJSON = swiftBacktraceJSON
        self.kernelFaultLine = kernelFaultLine
        self.coreDump = coreDump
        self.pid = pid
    }
}

/// One line of worker output.
public struct OutputLine: Equatable, Sendable {
    public enum Stream: String, Equatable, Sendable { case stdout, stderr }
    public var stream: Stream
    public var text: String

    public init(_ stream: Stream, _ text: String) {
        self.stream = stream
        self.text = text
    }
}
