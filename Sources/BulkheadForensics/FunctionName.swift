/// A demangled Swift function name as a person reads it and as a fingerprint keeps it.
///
/// The optimiser decorates names with words that say how it compiled the function, not which
/// function it is: a release build calls `static RuntimeTraps.fatalError(_:)`
/// `specialized static RuntimeTraps.fatalError(_:)`. Those words go, so that the site of a crash
/// reads the same in debug and release and across rebuilds.
enum FunctionName {
    /// `specialized static RuntimeTraps.overflowAdd()` → `RuntimeTraps.overflowAdd()`;
    /// `closure #2 in closure #1 in static ConcurrencyTraps.trapInTaskGroup(_:)` →
    /// `closure #2 in closure #1 in ConcurrencyTraps.trapInTaskGroup(_:)`.
    static func readable(_ demangled: String) -> String {
        var name = Substring(demangled)
        var changed = true
        while changed {
            changed = false
            for word in leadingWords where name.hasPrefix(word) {
                name = name.dropFirst(word.count)
                changed = true
            }
            for prefix in specialisationPrefixes where name.hasPrefix(prefix) {
                // `generic specialization <Swift.Int> of …`: drop through the matching ` of `.
                if let of = name.firstRange(of: "> of ") {
                    name = name[of.upperBound...]
                    changed = true
                }
            }
        }
        var text = String(name)
        for word in leadingWords where text.contains(" in " + word) {
            text = text.replacing(" in " + word, with: " in ")
        }
        return text
    }

    private static let leadingWords = ["specialized ", "merged ", "static ", "@objc ", "dynamic "]
    private static let specialisationPrefixes = [
        "generic specialization <", "function signature specialization <", "generic partial specialization <",
    ]
}
