/// Lines of the backtracer's text report told by their shape alone, for when the report's first
/// line has scrolled out of the daemon's tail and only its end is left (docs/notes/backtracer.md
/// §2): frames, registers, images, thread headers and the report's own headings. Shapes a
/// program's own output is unlikely to have; a line that merely resembles one is kept.
enum TextReportLines {
    static func isReportLine(_ line: String) -> Bool {
        let text = line.trimmingSpaces
        if text.hasPrefix("Backtrace took ") || text.hasPrefix("Platform: ") || text.hasPrefix("Images (") { return true }
        if text == "Registers:" || text == "..." { return true }
        return isThreadHeader(text) || isFrame(text) || isRegister(text) || isImage(text)
    }

    /// `Thread 1 "oot.default-qos" crashed:`, `Thread 0 "crashlab":`.
    private static func isThreadHeader(_ text: Substring) -> Bool {
        guard text.hasPrefix("Thread "), text.hasSuffix(":") else { return false }
        let number = text.dropFirst("Thread ".count).prefix { $0.isASCIIDigitCharacter }
        return !number.isEmpty
    }

    /// `12 [ra] [inlined] 0x0000560d8d7f93ee static RuntimeTraps.fatalError(_:) + 141 in crashlab …`.
    private static func isFrame(_ text: Substring) -> Bool {
        let number = text.prefix { $0.isASCIIDigitCharacter }
        guard !number.isEmpty else { return false }
        var rest = text.dropFirst(number.count).trimmingSpaces
        while rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            rest = rest[rest.index(after: close)...].trimmingSpaces
        }
        return isHexWord(rest.prefix { $0 != " " }, minimumDigits: 8) && rest.contains(" in ")
    }

    /// `rax 0x0000000000000000  0`, ` r8 0x…`, `rflags 0x0000000000010a96  SF AF PF`,
    /// `cs 0x0033  fs 0x0000  gs 0x0000`.
    private static func isRegister(_ text: Substring) -> Bool {
        let name = text.prefix { $0 != " " }
        guard (2...6).contains(name.count), name.allSatisfy({ $0.isLowercase || $0.isASCIIDigitCharacter }),
              name.first?.isLowercase == true else { return false }
        let value = text.dropFirst(name.count).drop { $0 == " " }.prefix { $0 != " " }
        return isHexWord(value, minimumDigits: 4)
    }

    /// `0x0000555f8d4d8000–0x0000555f8d502eb8 58d9…6c crashlab /…/crashlab` (an en dash).
    private static func isImage(_ text: Substring) -> Bool {
        let first = text.prefix { $0 != "–" && $0 != "-" }
        guard isHexWord(first, minimumDigits: 8), first.endIndex < text.endIndex else { return false }
        return text[text.index(after: first.endIndex)...].hasPrefix("0x")
    }

    private static func isHexWord(_ word: Substring, minimumDigits: Int) -> Bool {
        guard word.hasPrefix("0x") else { return false }
        let digits = word.dropFirst(2)
        return digits.count >= minimumDigits && digits.allSatisfy(\.isHexDigit)
    }
}
