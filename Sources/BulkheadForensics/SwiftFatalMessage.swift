/// What the Swift runtime printed about its own death: `Module/File.swift:42: Fatal error: text`
/// (also `Precondition failed:`, `Assertion failed:`; release builds keep it only for
/// `fatalError` and a few runtime checks), and the runtime's messages that have no such prefix
/// (exclusivity, actor executor, continuation misuse).
struct SwiftFatalMessage: Equatable, Sendable {
    /// From `Fatal error` on: `Fatal error: Index out of range`.
    var text: String
    /// `Module/File.swift:42` as printed; for a standard-library check it names the library's
    /// file (`Swift/ContiguousArrayBuffer.swift:692`), not the caller.
    var location: String?
    /// `fatal error`, `precondition failure`, `assertion failure`, `exclusivity violation`, `actor
    /// isolation`: the report's `crash_kind`.
    var kind: String

    /// The text without its `Fatal error: ` prefix: `Index out of range`, the words a release
    /// build's `Swift runtime failure: …` uses for the same check.
    var reason: String {
        for prefix in Self.prefixes where text.hasPrefix(prefix.words) {
            let rest = text.dropFirst(prefix.words.count)
            return String(rest.hasPrefix(": ") ? rest.dropFirst(2) : rest)
        }
        return text
    }

    /// The text for a headline. The runtime's own messages name heap addresses (`Simultaneous
    /// accesses to 0x55bdb12a99b0`, `object 0x5654a4283270 was already destroyed`, `(unknown
    /// context at $55c40ac955e0)`), different in every run; a headline names the bug, so these
    /// read `0x…`. A program's own message (`fatalError("…")`) is shown as written.
    var headlineText: String {
        let isRuntimeWording = Self.unprefixedMessages.contains { text.hasPrefix($0.words) }
            || Self.addressedRuntimeMessages.contains { text.hasPrefix($0) }
        return isRuntimeWording ? Self.withoutAddresses(text) : text
    }

    private static let addressedRuntimeMessages = ["Fatal error: Attempted to read an unowned reference"]

    /// `0x55bdb12a99b0` → `0x…`, `$55c40ac955e0` → `$…` (six hex digits at least, so `$5` stays).
    static func withoutAddresses(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let c = rest.first {
            let digits = rest.dropFirst(c == "0" ? 2 : 1).prefix(while: \.isHexDigit)
            if c == "0", rest.dropFirst().first == "x", !digits.isEmpty {
                out += "0x…"
                rest = rest[digits.endIndex...]
            } else if c == "$", digits.count >= 6 {
                out += "$…"
                rest = rest[digits.endIndex...]
            } else {
                out.append(c)
                rest = rest.dropFirst()
            }
        }
        return out
    }

    /// The last such message in `lines` (oldest first), nil when there is none.
    static func last(in lines: [OutputLine]) -> SwiftFatalMessage? {
        for line in lines.reversed() {
            if let message = parse(BacktracerNoise.withoutBanner(line.text)) { return message }
        }
        return nil
    }

    /// `M/F.swift:12: Fatal error: boom` → (`Fatal error: boom`, `M/F.swift:12`). A prefix that is
    /// not a Swift location (`worker: Fatal error: boom`) gives the message without a location;
    /// the words glued to something before them (`xFatal error`) are not a runtime line.
    static func parse(_ line: String) -> SwiftFatalMessage? {
        for prefix in prefixes {
            guard let range = line.firstRange(of: prefix.words) else { continue }
            let text = String(line[range.lowerBound...])
            let before = line[..<range.lowerBound]
            if before.isEmpty { return SwiftFatalMessage(text: text, location: nil, kind: prefix.kind) }
            guard before.hasSuffix(": ") else { return nil }
            let location = before.dropLast(2)
            if let colon = location.lastIndex(of: ":"), Int(location[location.index(after: colon)...]) != nil,
               location[..<colon].hasSuffix(".swift") {
                return SwiftFatalMessage(text: text, location: String(location), kind: prefix.kind)
            }
            return SwiftFatalMessage(text: text, location: nil, kind: prefix.kind)
        }
        for unprefixed in unprefixedMessages where line.hasPrefix(unprefixed.words) {
            return SwiftFatalMessage(text: line, location: nil, kind: unprefixed.kind)
        }
        return nil
    }

    private static let prefixes: [(words: String, kind: String)] = [
        ("Fatal error", "fatal error"), ("Precondition failed", "precondition failure"),
        ("Assertion failed", "assertion failure"),
    ]

    /// Runtime checks that print their own words, without a `Fatal error:` prefix.
    private static let unprefixedMessages: [(words: String, kind: String)] = [
        ("Simultaneous accesses to ", "exclusivity violation"),
        ("SWIFT TASK CONTINUATION MISUSE", "continuation misuse"),
        ("Incorrect actor executor assumption", "actor isolation"),
    ]

    /// `Module/File.swift:42` when `Module` is the program's, split for a `CrashSite`; nil for
    /// the toolchain's own files (`Swift/…`, `_Concurrency/…`), which say where the check is,
    /// not where the program failed it.
    var programLocation: (file: String, line: Int)? {
        guard let location, let colon = location.lastIndex(of: ":"),
              let line = Int(location[location.index(after: colon)...]) else { return nil }
        let path = location[..<colon]
        let parts = path.split(separator: "/")
        if parts.count > 1, let module = parts.first, SwiftFrameRoles.toolchainModules.contains(String(module)) { return nil }
        guard let file = parts.last else { return nil }
        return (String(file), line)
    }
}
