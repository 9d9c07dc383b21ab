import Foundation

/// The headline bulkhead gives each crashlab death (issue 15): the table the forensics tests
/// check against recordings, `Tests/Fixtures/swift-crashes/headlines.tsv`, here checked against
/// the real daemon. Rows: KIND, MODE, FINGERPRINT, HEADLINE, tab-separated.
enum SwiftHeadlines {
    struct Row {
        var kind: String
        var mode: String
        /// `same`, `differs` (release rows: the fingerprint against the debug row's) or `-`.
        var fingerprint: String
        var headline: String
    }

    static let rows: [Row] = {
        let path = PackageFiles.root + "/Tests/Fixtures/swift-crashes/headlines.tsv"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4 else { return nil }
            return Row(kind: String(fields[0]), mode: String(fields[1]), fingerprint: String(fields[2]), headline: String(fields[3]))
        }
    }()

    static func headline(_ kind: String, _ mode: String) -> String? {
        rows.first { $0.kind == kind && $0.mode == mode }?.headline
    }
}

/// Files of the package the tests were built from.
enum PackageFiles {
    /// The package's directory (this file is Tests/IntegrationTests/Support/…).
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()
}
