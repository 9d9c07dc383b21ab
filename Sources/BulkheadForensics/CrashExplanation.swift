/// Why a process died, as well as its remains can tell: the report's `headline`, `runtime`,
/// `crash_kind`, `crash_site`, `frames`, `fatal_message`, `source_location` and the inputs of
/// its `fingerprint` (SPEC §7). Built by `CrashExplainer.explain(_:)`.
public struct CrashExplanation: Equatable, Sendable {
    /// One line on why, for every death: never empty, never the backtracer's banner.
    public var headline: String
    /// The runtime whose crash block was recognised (or `.swift` from the backtracer / fatal
    /// line), nil when nothing was recognised.
    public var runtime: Runtime?
    /// `panic`, `fatal error`, `uncaught exception`, `runtime trap`, `stack overflow`,
    /// `null pointer dereference`, `abort`, `sanitizer: heap-use-after-free`, … (nil: unknown).
    public var kind: String?
    /// The runtime's own message (`index out of bounds: the len is 3 but the index is 7`).
    public var message: String?
    /// The first frame in the program's own code, when known.
    public var site: CrashSite?
    /// The crashed thread's (goroutine's) frames, innermost first, when printed or reported.
    public var frames: [CrashFrame]
    /// Swift's `Fatal error: …` / `Precondition failed: …` text (SPEC §7 `fatal_message`).
    public var fatalMessage: String?
    /// `File.swift:42` (SPEC §7 `source_location`).
    public var sourceLocation: String?
    /// A runtime's panic, uncaught exception or fatal runtime error was recognised: the death is
    /// class `crash` whatever the exit code (SPEC §7), unless a config rule says otherwise.
    public var isRecognisedCrash: Bool
    /// Stable text the fingerprint hashes: kind, masked message, crash-site function; no
    /// addresses, offsets, pids or absolute paths, so a rebuild of the same code hashes the same.
    public var fingerprintBasis: [String]
    /// Extra facts for the report (`fault_address`, `coredump`: `coredumpctl info 1234`, …).
    public var details: [(key: String, value: String)]
    /// Every thread of the Swift backtracer's report, whether or not it explains the death: for
    /// a watchdog's SIGQUIT dump (kind `hang`) these say where each thread was stuck, while
    /// `frames` stays empty because the dump is not a crash. Empty without a report.
    public var threads: [CrashThread]

    public init(headline: String, runtime: Runtime? = nil, kind: String? = nil, message: String? = nil,
                site: CrashSite? = nil, frames: [CrashFrame] = [], fatalMessage: String? = nil,
                sourceLocation: String? = nil, isRecognisedCrash: Bool = false, fingerprintBasis: [String] = [],
                details: [(key: String, value: String)] = [], threads: [CrashThread] = []) {
        self.headline = headline
        self.runtime = runtime
        self.kind = kind
        self.message = message
        self.site = site
        self.frames = frames
        self.fatalMessage = fatalMessage
        self.sourceLocation = sourceLocation
        self.isRecognisedCrash = isRecognisedCrash
        self.fingerprintBasis = fingerprintBasis
        self.details = details
        self.threads = threads
    }

    public static func == (lhs: CrashExplanation, rhs: CrashExplanation) -> Bool {
        lhs.headline == rhs.headline && lhs.runtime == rhs.runtime && lhs.kind == rhs.kind && lhs.message == rhs.message
            && lhs.site == rhs.site && lhs.frames == rhs.frames && lhs.fatalMessage == rhs.fatalMessage
            && lhs.sourceLocation == rhs.sourceLocation && lhs.isRecognisedCrash == rhs.isRecognisedCrash
            && lhs.fingerprintBasis == rhs.fingerprintBasis
            && lhs.details.map(\.key) == rhs.details.map(\.key) && lhs.details.map(\.value) == rhs.details.map(\.value)
            && lhs.threads == rhs.threads
    }

    /// The value of the first detail named `key`.
    public func detail(_ key: String) -> String? {
        details.first { $0.key == key }?.value
    }
}

/// SPEC §7 `runtime`.
public enum Runtime: String, Equatable, Sendable, CaseIterable {
    case swift, go, rust, python, jvm, node
    case cpp = "c++"
    case c
}

/// Where in the program's own code it died.
public struct CrashSite: Equatable, Sendable {
    /// The function as the runtime names it, without offsets (`main.charge`, `r::main`,
    /// `RuntimeTraps.indexOutOfRange()`).
    public var function: String?
    /// The file's last path component(s) as printed, never an absolute build path in the
    /// fingerprint (`main.go`, `src/lib.rs`).
    public var file: String?
    /// The line in `file`; nil when unknown (a Swift frame at line 0 is code the compiler made).
    public var line: Int?

    public init(function: String? = nil, file: String? = nil, line: Int? = nil) {
        self.function = function
        self.file = file
        self.line = line
    }

    /// `main.charge (main.go:7)`, `main.go:7`, or the function alone.
    public var description: String {
        let location = file.map { f in line.map { "\(f):\($0)" } ?? f }
        switch (function, location) {
        case let (f?, l?): return "\(f) (\(l))"
        case let (f?, nil): return f
        case let (nil, l?): return l
        case (nil, nil): return ""
        }
    }
}

/// One frame of a printed or reported stack.
public struct CrashFrame: Equatable, Sendable {
    /// As the runtime names it, without an offset: `static RuntimeTraps.fatalError(_:)`.
    public var function: String
    /// As printed or reported: the Swift backtracer gives absolute build paths.
    public var file: String?
    /// The line in `file`, when known.
    public var line: Int?
    /// The runtime's or the C library's own frame, not the program's.
    public var isRuntime: Bool
    /// The shared object or executable the frame is in (`libswiftCore.so`, `crashlab`), when known.
    public var image: String?
    /// Code inlined into the frame after it (same physical frame); Swift backtraces only.
    public var isInlined: Bool

    public init(function: String, file: String? = nil, line: Int? = nil, isRuntime: Bool = false, image: String? = nil,
                isInlined: Bool = false) {
        self.function = function
        self.file = file
        self.line = line
        self.isRuntime = isRuntime
        self.image = image
        self.isInlined = isInlined
    }
}

/// One thread of a Swift backtracer report.
public struct CrashThread: Equatable, Sendable {
    /// The thread's name (`crashlab` for a main thread, `oot.default-qos` for a Dispatch worker).
    public var name: String?
    /// The thread the signal hit (for a SIGQUIT dump: the one that took the signal).
    public var crashed: Bool
    /// Innermost first.
    public var frames: [CrashFrame]
    /// Frames the backtracer left out of the middle of a deep stack.
    public var omittedFrames: Int

    public init(name: String?, crashed: Bool, frames: [CrashFrame], omittedFrames: Int = 0) {
        self.name = name
        self.crashed = crashed
        self.frames = frames
        self.omittedFrames = omittedFrames
    }
}
