/// Finds a runtime's crash block in a worker's last output lines and says what it means.
public enum RuntimeCrashRecognizer {
    /// Each runtime's recogniser. Order only breaks ties (two blocks starting on one line).
    static var recognizers: [any CrashBlockRecognizer.Type] {[
        GoCrashRecognizer.self,
        RustPanicRecognizer.self,
        PythonTracebackRecognizer.self,
        JVMExceptionRecognizer.self,
        NodeErrorRecognizer.self,
        CxxTerminateRecognizer.self,
        SanitizerReportRecognizer.self,
        CLibraryAbortRecognizer.self,
        RedisBugReportRecognizer.self,
    ]}

    /// The last crash block in `lines` (both streams interleaved, oldest first, as the daemon
    /// read them), or nil when there is none. Pass the pinned block head (`DeathScene.blockHead`)
    /// followed by the output tail (`DeathScene.output`): a gap between them is read as a trace
    /// with frames missing, never as the end of the block.
    ///
    /// A block found inside another one (a Java message whose second line reads `panic: …`)
    /// belongs to the outer block.
    public static func recognise(_ lines: [OutputLine]) -> RecognisedCrash? {
        var best: RecognisedCrash?
        for stream in [OutputLine.Stream.stdout, .stderr] {
            let view = StreamLines(lines, stream: stream)
            guard !view.isEmpty else { continue }
            for recognizer in recognizers {
                guard let block = recognizer.lastBlock(in: view) else { continue }
                let found = block.recognised(in: view)
                if let current = best, !supersedes(found, current) { continue }
                best = found
            }
        }
        return best
    }

    /// `candidate` is the later block and not nested in `current`.
    static func supersedes(_ candidate: RecognisedCrash, _ current: RecognisedCrash) -> Bool {
        if candidate.lines.lowerBound > current.lines.lowerBound {
            return candidate.stream != current.stream || candidate.lines.lowerBound >= current.lines.upperBound
                || candidate.lines.upperBound > current.lines.upperBound
        }
        if candidate.lines.lowerBound < current.lines.lowerBound {
            // `current` sits inside `candidate`: the outer block is the real one.
            return candidate.stream == current.stream && candidate.lines.upperBound >= current.lines.upperBound
        }
        return false
    }
}

/// One runtime's crash-block reader.
protocol CrashBlockRecognizer {
    /// The last block of this runtime in one stream's lines, or nil.
    static func lastBlock(in lines: StreamLines) -> CrashBlock?
}
