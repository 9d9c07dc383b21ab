/// Explanations of deaths the Swift runtime had something to say about: its fatal message
/// (first choice), else its backtracer's report interpreted (`SwiftFaultReading`).
enum SwiftExplanation {
    /// `Fatal error: Index out of range in RuntimeTraps.indexOutOfRange() (RuntimeTraps.swift:42)`.
    /// The site comes from the backtrace; without one, from the message's own `File.swift:LINE`
    /// when that is the program's file rather than the standard library's.
    static func fatal(_ message: SwiftFatalMessage, _ evidence: SwiftEvidence) -> CrashExplanation {
        var site = evidence.site?.site
        if var known = site, known.line == nil, let printed = message.programLocation, let index = evidence.site?.index,
           evidence.causeFrames[index].fileName == printed.file {
            // A frame with line 0 (debug `implicitlyUnwrappedNil`) and the runtime's line for it.
            known.file = printed.file
            known.line = printed.line
            site = known
        }
        if site == nil, let printed = message.programLocation {
            site = CrashSite(file: printed.file, line: printed.line)
        }
        let headline = message.headlineText + SwiftFaultReading.place(site, library: nil)
        return CrashExplanation(
            headline: headline, runtime: .swift, kind: message.kind, message: message.reason, site: site,
            frames: CrashFrames.of(evidence.causeFrames), fatalMessage: message.text,
            sourceLocation: message.location ?? location(site),
            fingerprintBasis: basis(what: message.reason, site: site, library: nil)
        )
    }

    /// The backtracer's report read as the cause: a trap, a memory fault, an abort.
    static func fault(_ reading: SwiftFaultReading, _ evidence: SwiftEvidence) -> CrashExplanation {
        CrashExplanation(
            headline: reading.headline, runtime: .swift, kind: reading.kind, message: reading.message, site: reading.site,
            frames: CrashFrames.of(evidence.causeFrames), sourceLocation: location(reading.site),
            fingerprintBasis: basis(what: reading.what, site: reading.site, library: reading.libraryFrame)
        )
    }

    /// `RuntimeTraps.swift:42`, when the site has a line.
    static func location(_ site: CrashSite?) -> String? {
        guard let file = site?.file, let line = site?.line else { return nil }
        return "\(file):\(line)"
    }

    /// What went wrong and where, with nothing that changes from one run or one build of the
    /// same code to the next: masked message, function without offsets or optimiser words, file
    /// name and line, never an absolute path or an address.
    static func basis(what: String, site: CrashSite?, library: String?) -> [String] {
        var basis = [FingerprintText.entry("runtime", "swift"), FingerprintText.entry("what", FingerprintText.masked(what))]
        if let library { basis.append(FingerprintText.entry("in", library)) }
        if let function = site?.function { basis.append(FingerprintText.entry("where", function)) }
        if let file = site?.file { basis.append(FingerprintText.entry("at", site?.line.map { "\(file):\($0)" } ?? file)) }
        return basis
    }
}
