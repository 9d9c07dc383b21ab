/// What the Swift runtime backtracer reported about a process (docs/notes/backtracer.md): read
/// from its JSON report (`SwiftBacktraceJSON`) or from its text form on stderr
/// (`SwiftBacktraceText`). Only what explaining a death needs is kept.
struct SwiftBacktrace: Equatable, Sendable {
    /// The report's headline: `Swift runtime failure: arithmetic overflow`, or the signal's
    /// words (`Illegal instruction`, `Bad pointer dereference`, `Aborted`, … and `Terminated` for
    /// a SIGQUIT thread dump).
    var description: String?
    /// The faulting address for SIGSEGV/SIGBUS; the trapping instruction for SIGILL; for a
    /// signal sent by another process, that sender's pid. Meaningful only next to the signal.
    var faultAddress: UInt64?
    var threads: [Thread]

    struct Thread: Equatable, Sendable {
        var name: String?
        var crashed: Bool
        /// Innermost first; the `omittedFrames` and `truncated` markers are not frames.
        var frames: [Frame]
        /// Frames the backtracer left out of the middle of a deep stack (`omittedFrames`).
        var omittedFrames: Int
        /// The stack pointer when it crashed (only the crashed thread has registers).
        var stackPointer: UInt64?
    }

    struct Frame: Equatable, Sendable {
        /// Demangled, with the backtracer's ` + offset` removed: `static RuntimeTraps.fatalError(_:)`.
        var function: String
        /// Mangled (`$s8CrashLab…`) or a C name; nil when the backtracer had no symbol.
        var symbol: String?
        var image: String?
        /// As reported: an absolute build path, or nil for `//<compiler-generated>` locations.
        var file: String?
        /// Nil when unknown or 0 (code the compiler made up for the function).
        var line: Int?
        /// Code inlined at the next frame's address: the same physical frame as the one after it.
        var inlined: Bool
        /// The backtracer's own judgement: runtime, library or compiler-generated code.
        var system: Bool
        /// Compiler-generated glue (`partial apply for …`, `thunk for …`).
        var thunk: Bool
        /// The pseudo-frame that names a runtime check: `Swift runtime failure: arithmetic overflow`.
        var runtimeFailure: Bool

        init(function: String, symbol: String? = nil, image: String? = nil, file: String? = nil, line: Int? = nil,
             inlined: Bool = false, system: Bool = false, thunk: Bool = false, runtimeFailure: Bool = false) {
            self.function = function
            self.symbol = symbol
            self.image = image
            self.file = file
            self.line = line
            self.inlined = inlined
            self.system = system
            self.thunk = thunk
            self.runtimeFailure = runtimeFailure
        }

        /// The file's last path component: `RuntimeTraps.swift`. Build paths differ between
        /// machines and checkouts, so nothing stable may hold more than this.
        var fileName: String? {
            guard let file else { return nil }
            return file.split(separator: "/").last.map(String.init) ?? file
        }
    }

    /// The thread marked `crashed`. A report without one (none seen from this runtime, but a
    /// dump could look like that) has no crashed thread: nothing in it is the cause of a death.
    var crashedThread: Thread? { threads.first { $0.crashed } }

    /// The check the runtime itself named, from the `runtimeFailure` frame or the headline:
    /// `arithmetic overflow`, `Division by zero`, `precondition failure`.
    var runtimeFailure: String? {
        let prefix = "Swift runtime failure: "
        let named = crashedThread?.frames.first { $0.runtimeFailure }?.function ?? description
        guard let named, named.hasPrefix(prefix) else { return nil }
        let reason = named.dropFirst(prefix.count)
        return reason.isEmpty ? nil : String(reason)
    }
}
