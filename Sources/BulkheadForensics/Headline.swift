/// The shape every headline has: one line (the REASON column, a journal `MESSAGE`), of bounded
/// length, never empty.
enum Headline {
    /// Characters kept; a longer headline ends in `…`. A `fatalError` message can be any size.
    static let maxLength = 400

    static func bounded(_ text: String) -> String {
        var line = ""
        var count = 0
        var previousWasSpace = false
        for character in text.trimmingSpaces {
            let isSpace = character.isNewline || character == "\t" || character.unicodeScalars.allSatisfy { $0.properties.generalCategory == .control }
            if isSpace {
                if !previousWasSpace { line.append(" ") }
                previousWasSpace = true
            } else {
                line.append(character)
                previousWasSpace = false
            }
            count += 1
            if count >= maxLength {
                line.append("…")
                break
            }
        }
        let trimmed = String(line.trimmingSpaces)
        return trimmed.isEmpty ? "died without a word: no output, no report" : trimmed
    }
}
