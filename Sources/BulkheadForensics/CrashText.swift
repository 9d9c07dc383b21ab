// Small text helpers the recognisers share. No Foundation in this target: the daemon links it,
// and everything here works on what the standard library has.

extension StringProtocol {
    /// Only spaces, tabs or a carriage return (or nothing).
    var isBlank: Bool {
        utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    /// Without leading and trailing spaces, tabs and carriage returns.
    var trimmed: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\r\n" }
        let whole = self[...]
        guard let first = whole.firstIndex(where: { !isSpace($0) }),
              let last = whole.lastIndex(where: { !isSpace($0) }) else { return Substring() }
        return Substring(whole[first...last])
    }

    /// The text after `prefix` when the line starts with it, else nil.
    func after(_ prefix: String) -> Substring? {
        guard hasPrefix(prefix) else { return nil }
        return Substring(self[...].dropFirst(prefix.count))
    }

    /// How many leading spaces or tabs.
    var indentation: Int {
        var count = 0
        for byte in utf8 {
            guard byte == 0x20 || byte == 0x09 else { break }
            count += 1
        }
        return count
    }

    /// A run of ASCII digits, as an Int (nil when empty, not all digits, or absurdly long).
    var decimal: Int? {
        guard !isEmpty, utf8.count <= 9, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(String(self))
    }
}

/// A source location as runtimes print it.
struct SourceLocation: Equatable {
    var file: String
    var line: Int?

    /// `path/file.ext:12`, `path/file.ext:12:5`, or `path/file.ext` (`requireLine`: no). The
    /// path may itself contain colons (`node:internal/…`, `file:///…`), so numbers are taken
    /// from the end.
    static func parse<S: StringProtocol>(_ text: S, requireLine: Bool = true) -> SourceLocation? {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 || !requireLine else { return nil }
        var numbers: [Int] = []
        while parts.count > 1, numbers.count < 2, let number = parts.last?.decimal {
            numbers.insert(number, at: 0)
            parts.removeLast()
        }
        if numbers.isEmpty && requireLine { return nil }
        var file = parts.joined(separator: ":")
        if let local = file.after("file://") { file = String(local) }
        guard !file.isEmpty else { return nil }
        return SourceLocation(file: file, line: numbers.first)
    }

    /// The file as a crash site shows it: a relative path as printed (`src/main.rs`, without a
    /// leading `./`), an absolute one by its last component (a build directory says nothing about the bug and
    /// differs between builds).
    var displayFile: String {
        SourceLocation.display(file)
    }

    static func display(_ path: String) -> String {
        if let relative = path.after("./") { return String(relative) }
        guard path.hasPrefix("/") else { return path }
        return path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// Headlines quote messages, and a message can be a whole JSON document: one line, capped.
enum HeadlineText {
    static let maxMessage = 240

    static func clip<S: StringProtocol>(_ text: S) -> String {
        let oneLine = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { $0.trimmed }.joined(separator: " ")
        guard oneLine.count > maxMessage else { return oneLine }
        return String(oneLine.prefix(maxMessage)) + "…"
    }
}
