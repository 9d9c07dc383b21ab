import BulkheadPolicy

/// The headline and everything else the crash report says about why (SPEC §7), from the best
/// evidence a death left (`DeathScene`), in this order (issue 15):
/// 1. the Swift runtime's own message on stderr (`Fatal error: Index out of range`), placed with
///    the backtrace's site;
/// 2. another runtime's crash block (`RuntimeCrashRecognizer`: a Go panic, a Rust panic, a
///    Python traceback, a glibc abort message, …);
/// 3. the Swift backtracer's report interpreted: a runtime trap and its check, a stack overflow,
///    a null pointer, an invalid access, an abort, a division fault, each in a named function
///    at `File.swift:LINE`;
/// 4. the signal (read with the kernel's fault line, when the daemon has it) or the exit code,
///    and the last meaningful line the program wrote.
/// The backtracer's banner and progress lines never count as evidence (`BacktracerNoise`).
public enum CrashExplainer {
    /// Called once per death, off the supervision loop. Pure: reads nothing but `scene`.
    public static func explain(_ scene: DeathScene) -> CrashExplanation {
        explain(scene, recognised: RuntimeCrashRecognizer.recognise(scene.blockHead + scene.output))
    }

    /// `explain(_:)` with the recognised crash block given, so tests can choose it.
    static func explain(_ scene: DeathScene, recognised: RecognisedCrash?) -> CrashExplanation {
        let evidence = SwiftEvidence(scene)
        let kernel = scene.kernelFaultLine.flatMap(KernelFaultLine.parse).flatMap { line in
            scene.pid == nil || scene.pid == line.pid ? line : nil
        }
        let meaningful = BacktracerNoise.meaningful(scene.output)
        let lastStderr = meaningful.last { $0.stream == .stderr }?.text.trimmingSpaces
        let lastLine = lastStderr ?? meaningful.last?.text.trimmingSpaces

        var explanation: CrashExplanation
        if let fatal = evidence.fatal {
            explanation = SwiftExplanation.fatal(fatal, evidence)
        } else if let recognised {
            explanation = RecognisedExplanation.of(recognised, evidence)
        } else if evidence.backtraceIsCause, let backtrace = evidence.backtrace, let signal = evidence.signal,
                  let reading = SwiftFaultReading.read(backtrace, signal: signal, kernel: kernel,
                                                       abortMessage: lastStderr.map { Headline.bounded(String($0)) }) {
            explanation = SwiftExplanation.fault(reading, evidence)
        } else {
            explanation = FallbackExplanation.of(scene, kernel: kernel, lastLine: lastLine.map { Headline.bounded(String($0)) })
        }
        explanation.headline = Headline.bounded(explanation.headline)
        explanation.details.append(contentsOf: EvidenceDetails.of(scene, evidence: evidence, kernel: kernel,
                                                                 alreadyGiven: explanation.details.map(\.key)))
        explanation.threads = CrashFrames.threads(evidence.backtrace)
        return explanation
    }
}
