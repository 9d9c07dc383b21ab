/// What a recogniser read from one crash block. The parts every runtime shares (headline,
/// fingerprint basis, whether the block ended its stream) are made from it in one place, so
/// all runtimes word and fingerprint the same way.
struct CrashBlock {
    var runtime: Runtime
    var kind: String
    /// The headline's opening words: `Go panic`, `Python uncaught TypeError`, `C abort (glibc)`.
    var title: String
    var exceptionType: String?
    var message: String?
    var site: CrashSite?
    var frames: [CrashFrame] = []
    var causes: [String] = []
    /// Said after the site in the headline: `; root cause java.io.FileNotFoundException: …`.
    var headlineTail: String?
    var thread: String?
    var signal: String?
    var details: [RecognisedCrash.Detail] = []
    /// First and last line of the block, as indices into its stream's lines.
    var first: Int
    var last: Int
    /// A panic, uncaught exception or fatal runtime error, as opposed to a message that only
    /// explains a death something else classifies (a glibc abort line, a UBSan warning).
    var isFatal: Bool

    init(runtime: Runtime, kind: String, title: String, first: Int, last: Int, isFatal: Bool = true) {
        self.runtime = runtime
        self.kind = kind
        self.title = title
        self.first = first
        self.last = last
        self.isFatal = isFatal
    }

    var headline: String {
        var text = title
        if let message, !message.isEmpty { text += ": " + HeadlineText.clip(message) }
        if let site, !site.description.isEmpty { text += " at " + site.description }
        if let headlineTail { text += headlineTail }
        return text
    }

    /// Runtime, kind, type, masked message, the signal the block reports, and the site's
    /// function with its file's name: no
    /// line numbers, offsets or directories, which change when unrelated code moves.
    var fingerprintBasis: [String] {
        var basis = ["runtime:" + runtime.rawValue, "kind:" + kind]
        if let exceptionType { basis.append("type:" + exceptionType) }
        if let message { basis.append("message:" + CrashTextMask.mask(message)) }
        if let signal { basis.append("signal:" + signal) }
        if let site {
            let file = site.file.map { SourceLocation.display($0).split(separator: "/").last.map(String.init) ?? $0 }
            switch (site.function, file) {
            case let (function?, file?): basis.append("site:" + function + " in " + file)
            case let (function?, nil): basis.append("site:" + function)
            case let (nil, file?): basis.append("site:" + file)
            case (nil, nil): break
            }
        }
        return basis
    }

    func recognised(in lines: StreamLines) -> RecognisedCrash {
        let ends = ShellDeathNotice.onlyTrailers(lines, after: last)
        let firstPosition = lines.position[first]
        let lastPosition = max(firstPosition, lines.position[min(last, lines.count - 1)])
        return RecognisedCrash(
            runtime: runtime, kind: kind, message: message, site: site, frames: frames, headline: headline,
            fingerprintBasis: fingerprintBasis, isCrash: isFatal && ends, exceptionType: exceptionType, causes: causes,
            thread: thread, signal: signal, details: details, stream: lines.stream,
            lines: firstPosition..<(lastPosition + 1), endsOutput: ends)
    }
}

/// What may follow a crash block on its stream without meaning the process went on: blank
/// lines, `go run`'s `exit status 2`, and a shell's note that its child died
/// (`Aborted (core dumped)`, `bash: line 1: 4242 Segmentation fault …`) when the worker is a
/// script that ran the program without `exec`.
enum ShellDeathNotice {
    static let deaths = ["Aborted", "Segmentation fault", "Bus error", "Illegal instruction", "Floating point exception",
                         "Trace/breakpoint trap", "Killed"]

    static func onlyTrailers(_ lines: StreamLines, after last: Int) -> Bool {
        var index = last + 1
        while index < lines.count {
            let line = lines[index]
            guard line.isBlank || isTrailer(line) else { return false }
            index += 1
        }
        return true
    }

    static func isTrailer(_ line: String) -> Bool {
        if let status = line.after("exit status "), status.trimmed.decimal != nil { return true }
        let text = line.trimmed
        if deaths.contains(where: { text.hasPrefix($0) }) { return true }
        // `bash: line 1: 4242 Aborted                 (core dumped) ./prog`
        guard text.contains(": line ") else { return false }
        return deaths.contains { text.contains(" " + $0) }
    }
}
