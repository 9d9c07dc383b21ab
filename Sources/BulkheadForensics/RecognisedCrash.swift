/// A runtime's crash block found in a worker's output: a Go panic or fatal error, a Rust panic,
/// a Python traceback, a JVM uncaught exception, a Node.js uncaught error or unhandled
/// rejection, a C++ terminate, a glibc/musl abort message, a sanitizer report, a Redis bug
/// report (`RuntimeCrashRecognizer.recognise`). Swift's own fatal lines and backtraces are read
/// by `CrashExplainer`, not here.
public struct RecognisedCrash: Equatable, Sendable {
    public var runtime: Runtime
    /// `panic`, `fatal error`, `uncaught exception`, `unhandled rejection`, `terminate`,
    /// `abort`, `assertion failure`, `out of memory`, `stack overflow`, `fatal signal`,
    /// `sanitizer: heap-use-after-free`, …
    public var kind: String
    public var message: String?
    public var site: CrashSite?
    /// The crashing thread's (goroutine's) frames, innermost first.
    public var frames: [CrashFrame]
    /// E.g. `Go panic: runtime error: invalid memory address or nil pointer dereference at
    /// main.charge (main.go:7)`.
    public var headline: String
    /// Stable inputs for the fingerprint (see `CrashExplanation.fingerprintBasis`): runtime,
    /// kind, exception type, the message with numbers, addresses, ids and directories masked,
    /// the signal the block reports, and the crash site's function with its file's name (the
    /// file alone when no function was printed). No line numbers, offsets or absolute paths, so
    /// a rebuild of the same code gives the same basis.
    public var fingerprintBasis: [String]
    /// A panic / uncaught exception / fatal runtime error that ended the output of its stream:
    /// the death is a `crash`. False for blocks that explain a death without being one (a C
    /// library message before an abort the signal already classifies, a UBSan warning) and for
    /// any block the process wrote more after (a Rust thread's panic, a logged traceback).
    public var isCrash: Bool

    /// The exception's or thrown value's type as the runtime printed it:
    /// `java.lang.NullPointerException`, `TypeError`, `std::runtime_error`.
    public var exceptionType: String?
    /// What led to it, the oldest last: the JVM's `Caused by:` chain, Python's chained
    /// exceptions, Go's earlier panics (recovered, or unwinding when a deferred call panicked),
    /// the other Rust thread whose panic `main` unwrapped. As printed, not masked: for people.
    public var causes: [String]
    /// `goroutine 18`, `main`, `reconciler`, `T0`, when the block names one.
    public var thread: String?
    /// The signal the block itself reports (`SIGSEGV` from Go's `[signal …]` line, Redis's
    /// `crashed by signal: 11`), which may differ from how the process finally ended.
    public var signal: String?
    /// Extra facts for the report: `fault_address`, `runtime_version`, `access`, ….
    public var details: [Detail]
    /// The stream the block was written on.
    public var stream: OutputLine.Stream
    /// Where the block sits in the lines given to `recognise` (first line through last).
    public var lines: Range<Int>
    /// Nothing but blank lines or a shell's `Aborted (core dumped)` followed the block on its
    /// stream: it is the last thing the process said there.
    public var endsOutput: Bool

    /// One extra fact: `key` in snake_case for the report.
    public struct Detail: Equatable, Sendable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(runtime: Runtime, kind: String, message: String? = nil, site: CrashSite? = nil, frames: [CrashFrame] = [],
                headline: String, fingerprintBasis: [String], isCrash: Bool = true,
                exceptionType: String? = nil, causes: [String] = [], thread: String? = nil, signal: String? = nil,
                details: [Detail] = [], stream: OutputLine.Stream = .stderr, lines: Range<Int> = 0..<0,
                endsOutput: Bool = true) {
        self.runtime = runtime
        self.kind = kind
        self.message = message
        self.site = site
        self.frames = frames
        self.headline = headline
        self.fingerprintBasis = fingerprintBasis
        self.isCrash = isCrash
        self.exceptionType = exceptionType
        self.causes = causes
        self.thread = thread
        self.signal = signal
        self.details = details
        self.stream = stream
        self.lines = lines
        self.endsOutput = endsOutput
    }

    /// The value of detail `key`, if the block gave one.
    public func detail(_ key: String) -> String? {
        details.first { $0.key == key }?.value
    }
}
