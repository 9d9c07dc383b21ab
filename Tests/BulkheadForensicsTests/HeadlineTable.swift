/// `Tests/Fixtures/swift-crashes/headlines.tsv`: the headline each recorded death must get (its
/// format is described at its top).
struct HeadlineRow: Sendable, CustomStringConvertible {
    enum Fingerprint: String, Sendable {
        case same, differs
        case notCompared = "-"
    }

    var kind: String
    var mode: String
    var fingerprint: Fingerprint
    var headline: String
    var lineNumber: Int

    var description: String { "\(mode)/\(kind)" }
}

enum HeadlineTable {
    static let path = CrashFixtures.swiftCrashes + "/headlines.tsv"

    /// The rows, or an empty table when the file is missing or a line is malformed (a test
    /// checks that it is neither).
    static let rows: [HeadlineRow] = (try? load()) ?? []

    static func load() throws -> [HeadlineRow] {
        guard let text = CrashFixtures.text(path) else { throw FixtureMissing(path: path) }
        var rows: [HeadlineRow] = []
        for (index, line) in CrashFixtures.lines(text).enumerated() where !line.isEmpty && !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let fingerprint = HeadlineRow.Fingerprint(rawValue: fields[2]) else {
                throw MalformedRow(lineNumber: index + 1, line: line)
            }
            rows.append(HeadlineRow(kind: fields[0], mode: fields[1], fingerprint: fingerprint, headline: fields[3],
                                    lineNumber: index + 1))
        }
        return rows
    }
}

struct MalformedRow: Error, CustomStringConvertible {
    var lineNumber: Int
    var line: String
    var description: String { "headlines.tsv:\(lineNumber): not KIND<tab>MODE<tab>same|differs|-<tab>HEADLINE: \(line)" }
}
