/// A runtime's crash block found in a worker's output: a Go panic or fatal error, a Rust panic,
/// a Python traceback, a JVM uncaught exception, a Node.js uncaught error or unhandled
/// rejection, a C++ terminate, a glibc/musl abort message, a sanitizer report
/// (`RuntimeCrashRecognizer.recognise`). Swift's own fatal lines and backtraces are read by
/// `CrashExplainer`, not here.
public struct RecognisedCrash: Equatable, Sendable {
    public var runtime: Runtime
    /// `panic`, `fatal error`, `uncaught exception`, `unhandled rejection`, `terminate`,
    /// `abort`, `sanitizer: heap-use-after-free`, …
    public var kind: String
    public var message: String?
    public var site: CrashSite?
    public var frames: [CrashFrame]
    /// E.g. `Go panic: runtime error: invalid memory address or nil pointer dereference at
    /// main.charge (main.go:7)`.
    public var headline: String
    /// Stable inputs for the fingerprint (see `CrashExplanation.fingerprintBasis`).
    public var fingerprintBasis: [String]
    /// A panic / uncaught exception / fatal runtime error: the death is a `crash`. False for
    /// blocks that explain a death without being one (e.g. a C library message before an
    /// abort the signal already classifies).
    public var isCrash: Bool

    public init(runtime: Runtime, kind: String, message: String? = nil, site: CrashSite? = nil, frames: [CrashFrame] = [],
                headline: String, fingerprintBasis: [String], isCrash: Bool = true) {
        self.runtime = runtime
        self.kind = kind
        self.message = message
        self.site = site
        self.frames = frames
        self.headline = headline
        self.fingerprintBasis = fingerprintBasis
        self.isCrash = isCrash
    }
}
