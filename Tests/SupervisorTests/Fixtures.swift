import BulkheadSystem

/// The real backtracer captures in `Tests/Fixtures/backtraces` (see docs/notes/backtracer.md).
enum Fixtures {
    static let directory: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // SupervisorTests/Fixtures.swift
        return parts.joined(separator: "/") + "/Fixtures/backtraces"
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let bytes = FileSystem.read(directory + "/" + name) else { throw TestFailure("no fixture \(name)") }
        return bytes
    }

    /// A stderr capture as the daemon's tail holds it: one string per line, blank lines kept.
    static func stderrLines(_ name: String) throws -> [String] {
        var lines = String(decoding: try bytes(name), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
