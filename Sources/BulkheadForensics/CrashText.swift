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
        let oneLine = text.split(whereSeparator: \.isNewline).map { $0.trimmed }.joined(separator: " ")
        guard oneLine.count > maxMessage else { return oneLine }
        return String(oneLine.prefix(maxMessage)) + "…"
    }
}

/// A substring search over the line's UTF-8 bytes, for the recognisers' scans over every line
/// of the window (the standard library's generic search is slow in debug builds, and tests
/// time the 12,000-line goroutine dump).
enum ByteSearch {
    static func range(of needle: StaticString, in line: String) -> Range<String.Index>? {
        let count = needle.utf8CodeUnitCount
        let start: Int? = line.utf8.withContiguousStorageIfAvailable { bytes in
            guard bytes.count >= count, count > 0 else { return nil }
            let first = needle.utf8Start[0]
            var index = 0
            while index <= bytes.count - count {
                if bytes[index] == first {
                    var matched = 1
                    while matched < count && bytes[index + matched] == needle.utf8Start[matched] { matched += 1 }
                    if matched == count { return index }
                }
                index += 1
            }
            return nil
        } ?? nil
        guard let start else { return nil }
        let lower = line.utf8.index(line.utf8.startIndex, offsetBy: start)
        return lower..<line.utf8.index(lower, offsetBy: count)
    }
}

/// A line that starts a new log record rather than going on with a multi-line message:
/// `INFO:root:retrying`, `2026-12-07 11:49:26 …`, `12:00:01.5 …`, `[worker] …`,
/// `{"level":"info",…}`, `level=info …`. A process that logged an exception and went on writes
/// these after the exception's message.
enum LogRecord {
    static let levels = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"]

    static func starts(_ line: String) -> Bool {
        let bytes = line.utf8
        guard let first = bytes.first else { return false }
        switch first {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            return true
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            // `2026-12-07…` or `11:49:26…`
            let head = Array(bytes.prefix(5))
            return head.count == 5 && (head[4] == UInt8(ascii: "-") || head[2] == UInt8(ascii: ":"))
        case UInt8(ascii: "l"), UInt8(ascii: "t"):
            return line.hasPrefix("level=") || line.hasPrefix("time=") || line.hasPrefix("ts=")
        default:
            return levels.contains { level in
                guard line.hasPrefix(level), let next = line.utf8.dropFirst(level.utf8.count).first else { return false }
                return next == UInt8(ascii: ":") || next == UInt8(ascii: " ") || next == UInt8(ascii: "]") || next == UInt8(ascii: "|")
            }
        }
    }
}
