/// What the Swift runtime's backtracer writes to a worker's stderr around a crash, which is never
/// the reason for it (docs/notes/backtracer.md §1–2):
/// - the progress banner `*** Signal 4: Backtracing from 0x55d1c3a2b1f4... done ***`, which the
///   helper's own errors may split in two (`…0x5619...swift-backtrace: unable to open … for
///   writing` then ` done ***`);
/// - its helpers' complaints (`swift-runtime: failed to suspend thread …`, `swift-backtrace: …`),
///   and the runtime's note at start-up that it found no backtracer (a `--static-swift-stdlib`
///   program: `swift runtime: unable to locate swift-backtrace; disabling backtracing.`);
/// - the JSON report itself when it had nowhere else to go, whole or in the pieces the daemon
///   cut it into;
/// - the whole text-format report, `*** Program crashed: … ***` (or `*** Swift runtime failure: …
///   ***`) down to `Backtrace took 0.03s`, and its lines one by one when its start has scrolled
///   out of the tail (`TextReportLines`);
/// - the interactive prompt, in case a worker had a terminal.
/// All of it goes to stderr; stdout lines between are the program's.
enum BacktracerNoise {
    /// `lines` without the backtracer's, and without blank ones: what the program itself said.
    static func meaningful(_ lines: [OutputLine]) -> [OutputLine] {
        var kept: [OutputLine] = []
        var inTextReport = false
        var jsonReport: JSONBalance?
        var jsonPieces = 0
        for line in lines {
            guard line.stream == .stderr else {
                if !isBlank(line.text) { kept.append(line) }
                continue
            }
            let text = withoutBanner(line.text)
            if inTextReport {
                if text.hasPrefix("Backtrace took ") { inTextReport = false }
                continue
            }
            if var report = jsonReport {
                // The rest of a report the daemon cut at its line limit, up to its closing brace.
                report.feed(line.text)
                jsonPieces += 1
                jsonReport = report.isClosed || jsonPieces >= SwiftBacktraceInOutput.maxJSONPieces ? nil : report
                continue
            }
            if startsTextReport(text) {
                inTextReport = true
                continue
            }
            if SwiftBacktraceJSON.startsReport(text) {
                var report = JSONBalance()
                report.feed(text)
                jsonReport = report.isClosed ? nil : report
                jsonPieces = 1
                continue
            }
            if isBlank(text) || isHelperLine(text) || TextReportLines.isReportLine(text) { continue }
            kept.append(OutputLine(line.stream, text))
        }
        return kept
    }

    /// The line with the banner cut out of it: `*** Signal 4: Backtracing from 0x1...swift-backtrace:
    /// unable to open /x for writing` → `swift-backtrace: unable to open /x for writing`; the
    /// banner alone or its ` done ***` tail → an empty string. Other lines come back unchanged.
    static func withoutBanner(_ text: String) -> String {
        guard let banner = bannerRange(in: text) else {
            return text.trimmingSpaces == "done ***" ? "" : text
        }
        var after = text[banner.upperBound...].trimmingSpaces
        if after == "done ***" {
            after = ""
        } else if after.hasSuffix(" done ***") {
            after = after.dropLast(" done ***".count)
        }
        let rest = String(text[..<banner.lowerBound]) + String(after)
        return isBlank(rest) ? "" : rest
    }

    /// `*** Signal 11: Backtracing from 0x7f…` and the `...` after the address, wherever it sits.
    private static func bannerRange(in text: String) -> Range<String.Index>? {
        guard let start = text.firstRange(of: "*** Signal ") else { return nil }
        let number = text[start.upperBound...].prefix { $0.isASCIIDigitCharacter }
        guard !number.isEmpty else { return nil }
        let afterNumber = text[number.endIndex...]
        guard afterNumber.hasPrefix(": Backtracing from ") else { return nil }
        var end = afterNumber.index(afterNumber.startIndex, offsetBy: ": Backtracing from ".count)
        end = text[end...].firstIndex { !($0 == "x" || $0.isHexDigit) } ?? text.endIndex
        if text[end...].hasPrefix("...") { end = text.index(end, offsetBy: 3) }
        return start.lowerBound..<end
    }

    /// True when nothing is left of the line but the backtracer's banner, or white space.
    static func isBannerOrBlank(_ text: String) -> Bool {
        isBlank(withoutBanner(text))
    }

    static func isBlank(_ text: String) -> Bool {
        text.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
    }

    private static func isHelperLine(_ text: String) -> Bool {
        text.hasPrefix("swift-runtime: ") || text.hasPrefix("swift-backtrace: ") || text.hasPrefix("swift runtime: ")
            || text.hasPrefix("Press space to interact, D to debug, or any other key to quit")
    }

    private static func startsTextReport(_ text: String) -> Bool {
        text.hasPrefix("*** Program crashed: ") || (text.hasPrefix("*** Swift runtime failure: ") && text.hasSuffix(" ***"))
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        let text = self[...]
        let start = text.firstIndex { $0 != " " && $0 != "\t" } ?? text.endIndex
        let end = text[start...].lastIndex { $0 != " " && $0 != "\t" }.map { text.index(after: $0) } ?? start
        return Substring(text[start..<end])
    }
}
