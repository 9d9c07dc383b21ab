/// The explanation of a death whose output holds another runtime's crash block
/// (`RuntimeCrashRecognizer`): its headline, kind, message, site, frames and fingerprint as the
/// recognizer read them. One case is merged with the Swift backtrace: a C library message
/// before an abort in a Swift program (glibc's `free(): double free detected in tcache 2`) says
/// what, the backtrace may say where: `abort() called in <function>: <message>`.
enum RecognisedExplanation {
    static func of(_ crash: RecognisedCrash, _ evidence: SwiftEvidence) -> CrashExplanation {
        let swiftFrames = CrashFrames.of(evidence.causeFrames)
        var explanation = CrashExplanation(
            headline: crash.headline, runtime: crash.runtime, kind: crash.kind, message: crash.message, site: crash.site,
            frames: crash.frames.isEmpty ? swiftFrames : crash.frames, isRecognisedCrash: crash.isCrash,
            fingerprintBasis: crash.fingerprintBasis
        )
        if isCLibraryAbort(crash), evidence.signal == SignalWords.abort, !evidence.backtraceIsCause {
            // No backtrace to say where: the same words as with one, without the place.
            explanation.headline = "abort() called" + (crash.message.map { ": " + $0 } ?? "")
        } else if isCLibraryAbort(crash), evidence.signal == SignalWords.abort, evidence.backtraceIsCause {
            let site = evidence.site?.site ?? crash.site
            let message = crash.message.map { ": " + $0 } ?? ""
            explanation.headline = "abort() called" + SwiftFaultReading.place(site, library: nil) + message
            explanation.site = site
            explanation.sourceLocation = SwiftExplanation.location(site)
            explanation.frames = swiftFrames
            if let function = site?.function, !crash.fingerprintBasis.contains(where: { $0.hasPrefix("where:") }) {
                explanation.fingerprintBasis.append(FingerprintText.entry("where", function))
            }
        }
        return explanation
    }

    private static func isCLibraryAbort(_ crash: RecognisedCrash) -> Bool {
        switch crash.runtime {
        case .c: return crash.kind == "abort"
        case .swift, .go, .rust, .python, .jvm, .node, .cpp: return false
        }
    }
}
