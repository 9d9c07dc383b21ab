import BulkheadPolicy

/// What the Swift runtime left behind about one death, read once from the scene: its fatal
/// message, its backtracer's report, and whether that report is about this death at all.
struct SwiftEvidence {
    /// The signal the process died of; nil for an exit or a failed spawn.
    let signal: Int32?
    /// The runtime's `Fatal error: …` (or unprefixed runtime message) on stderr, when the death
    /// is one such a message ends in: a trap (SIGILL, SIGTRAP), an abort (SIGABRT: exclusivity,
    /// `unowned`, actor executor checks), or SIGKILL cutting its backtrace short. After an exit,
    /// or with a memory fault, such a line is something the program printed earlier, not why
    /// it died.
    let fatal: SwiftFatalMessage?
    /// The backtracer's report: the file's bytes, else one printed on stderr.
    let backtrace: SwiftBacktrace?
    /// The report explains this death: it has a crashed thread and reports the signal the process
    /// died of. Not so for a SIGQUIT thread dump (`Terminated`) followed by SIGKILL, or a report
    /// of a signal sent from outside that the process survived before dying of something else.
    let backtraceIsCause: Bool
    /// The program's own innermost frame in the crashed thread, when the report is the cause.
    let site: (site: CrashSite, index: Int)?

    init(_ scene: DeathScene) {
        if case .signaled(let signal, _) = scene.termination { self.signal = signal } else { signal = nil }
        let endsInMessage = signal.map(Self.signalsAfterAMessage.contains) ?? false
        fatal = endsInMessage ? SwiftFatalMessage.last(in: scene.output.filter { $0.stream == .stderr }) : nil
        backtrace = scene.swiftBacktraceJSON.flatMap(SwiftBacktraceJSON.parse) ?? SwiftBacktraceInOutput.last(in: scene.output)
        backtraceIsCause = Self.explains(backtrace, signal: signal)
        site = backtraceIsCause ? backtrace?.crashedThread.flatMap { SwiftCrashSite.innermost($0.frames) } : nil
    }

    static let signalsAfterAMessage: Set<Int32> = [
        SignalWords.illegalInstruction, SignalWords.trap, SignalWords.abort, SignalWords.kill,
    ]

    /// The crashed thread's frames when the report is the cause, innermost first.
    var causeFrames: [SwiftBacktrace.Frame] {
        backtraceIsCause ? backtrace?.crashedThread?.frames ?? [] : []
    }

    private static func explains(_ backtrace: SwiftBacktrace?, signal: Int32?) -> Bool {
        guard let backtrace, let signal, Signals.crashSignals.contains(signal), backtrace.crashedThread != nil else { return false }
        guard let description = backtrace.description,
              let reported = SignalWords.signals(forBacktraceDescription: description) else {
            // Words this runtime has not been seen to use: trust the crashed thread.
            return true
        }
        return reported.contains(signal)
    }
}
