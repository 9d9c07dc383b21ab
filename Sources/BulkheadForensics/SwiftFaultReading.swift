/// The cause of a death as the Swift backtracer's report shows it, when the runtime printed no
/// message (release builds, stack overflows, null pointers, aborts): the signal interpreted with
/// the fault address, the stack pointer and the crashed thread's frames (issue 15).
struct SwiftFaultReading: Equatable, Sendable {
    /// The report's `crash_kind`: `runtime trap`, `stack overflow`, `null pointer dereference`, …
    var kind: String
    /// `Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowAdd() (RuntimeTraps.swift:56)`.
    var headline: String
    /// The check or message, when named: `arithmetic overflow`, the C library's abort message.
    var message: String?
    var site: CrashSite?
    /// The cause without the site, as the fingerprint keeps it: `arithmetic overflow`.
    var what: String
    /// The library function the fault happened in when that is not the program's (`div` in
    /// `libc.so.6`): part of what it was.
    var libraryFrame: String?

    /// - Parameters:
    ///   - signal: the signal the process died of; the report must be about it (the caller checks).
    ///   - kernel: the kernel's line about the fault, when the daemon had it.
    ///   - abortMessage: the last thing the program wrote to stderr, for an abort.
    static func read(_ backtrace: SwiftBacktrace, signal: Int32, kernel: KernelFaultLine?,
                     abortMessage: String?) -> SwiftFaultReading? {
        guard let thread = backtrace.crashedThread else { return nil }
        let frames = thread.frames
        let found = SwiftCrashSite.innermost(frames)
        let site = found?.site
        let trapFrames = frames[..<(found?.index ?? frames.count)]
        let library = libraryFrame(frames, siteIndex: found?.index)

        switch signal {
        case SignalWords.illegalInstruction, SignalWords.trap:   // ud2 on x86_64, brk on arm64: a Swift trap
            let check = SwiftTrapCheck.name(backtrace, trapFrames: trapFrames)
            let what = check.map { "Swift runtime trap: " + $0 } ?? "Swift runtime trap"
            return SwiftFaultReading(kind: "runtime trap", headline: what + place(site, library: nil), message: check,
                                     site: site, what: check ?? "Swift runtime trap", libraryFrame: nil)
        case SignalWords.segmentationFault, SignalWords.busError:
            let deep = thread.omittedFrames >= 1000 || SwiftCrashSite.deepestRepeat(frames) >= 256
            var address = backtrace.faultAddress
            var nonCanonical = false
            if case .generalProtection? = kernel?.fault { nonCanonical = true }
            if address == nil, case .segfault(let kernelAddress)? = kernel?.fault { address = kernelAddress }
            var cause = FaultCause.of(address: address, stackPointer: thread.stackPointer ?? kernel?.stackPointer,
                                            nonCanonical: nonCanonical, deepRecursion: deep)
            if signal == SignalWords.busError && cause.kind != "stack overflow" {
                cause = FaultCause(kind: "bus error", words: "bus error" + (address.map { " at " + FaultCause.hex($0) } ?? ""))
            }
            if cause.kind == "stack overflow" {
                let recursion = SwiftCrashSite.recursion(frames) ?? site
                return SwiftFaultReading(kind: cause.kind, headline: cause.words + place(recursion, library: nil), message: nil,
                                         site: recursion, what: cause.kind, libraryFrame: nil)
            }
            return SwiftFaultReading(kind: cause.kind, headline: cause.words + place(site, library: library), message: nil,
                                     site: site, what: cause.kind, libraryFrame: library)
        case SignalWords.floatingPointException:   // Swift checks its own division (a trap): this is C's `idiv`
            let words = "integer division by zero or overflow"
            return SwiftFaultReading(kind: "division fault", headline: words + place(site, library: library), message: nil,
                                     site: site, what: words, libraryFrame: library)
        case SignalWords.abort:   // the unwinder rarely gets out of glibc, so a site is rare
            let words = "abort() called"
            let tail = abortMessage.map { ": " + $0 } ?? ""
            return SwiftFaultReading(kind: "abort", headline: words + place(site, library: nil) + tail, message: abortMessage,
                                     site: site, what: abortMessage ?? words, libraryFrame: nil)
        case SignalWords.badSystemCall:
            let words = "bad system call (a seccomp filter or an unknown syscall)"
            return SwiftFaultReading(kind: "bad system call", headline: words + place(site, library: library), message: nil,
                                     site: site, what: "bad system call", libraryFrame: library)
        default:
            return nil
        }
    }

    /// ` in RuntimeTraps.overflowAdd() (RuntimeTraps.swift:56)`, ` at RuntimeTraps.swift:56` when
    /// only the place is known; with a library frame ` in div (libc.so.6), from
    /// Death.perform(_:message:) (Death.swift:39)` — "from", because frames between the two may
    /// be missing (a C leaf function keeps no frame pointer).
    static func place(_ site: CrashSite?, library: String?) -> String {
        let siteText = site.map { $0.description } ?? ""
        let preposition = site?.function == nil ? "at" : "in"
        switch (library, siteText.isEmpty) {
        case (let library?, false): return " in \(library), from \(siteText)"
        case (let library?, true): return " in \(library)"
        case (nil, false): return " \(preposition) \(siteText)"
        case (nil, true): return ""
        }
    }

    /// The crashed frame, `div (libc.so.6)`, when it lies in a library rather than the program
    /// and is not the trap machinery itself.
    private static func libraryFrame(_ frames: [SwiftBacktrace.Frame], siteIndex: Int?) -> String? {
        guard let first = frames.first, siteIndex != 0, !first.runtimeFailure, !SwiftFrameRoles.isOwn(first) else { return nil }
        let name = FunctionName.readable(first.function)
        return first.image.map { "\(name) (\($0))" } ?? name
    }
}
