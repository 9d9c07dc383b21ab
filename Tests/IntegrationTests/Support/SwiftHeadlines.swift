import Foundation

/// The headline bulkhead gives each crashlab death (issue 15): the table the forensics tests
/// check against recordings, `Tests/Fixtures/swift-crashes/headlines.tsv`, here checked against
/// the real daemon. Rows: KIND, MODE, FINGERPRINT, HEADLINE, tab-separated.
enum SwiftHeadlines {
    static let rows: [(kind: String, mode: String, headline: String)] = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)   // IntegrationTests/Support/SwiftHeadlines.swift
        let path = parts.joined(separator: "/") + "/Fixtures/swift-crashes/headlines.tsv"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4 else { return nil }
            return (String(fields[0]), String(fields[1]), String(fields[3]))
        }
    }()

    static func headline(_ kind: String, _ mode: String) -> String? {
        rows.first { $0.kind == kind && $0.mode == mode }?.headline
    }
}
