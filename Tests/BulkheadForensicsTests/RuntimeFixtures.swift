import BulkheadForensics
import Glibc

/// The real captures in `Tests/Fixtures/runtimes`, recorded by `scripts/record-runtime-crashes`
/// (each with a `.cmd` file saying how): `NAME.out` holds both streams as the daemon reads
/// them, one line each, marked `out| ` or `err| `.
enum RuntimeFixtures {
    static let directory: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // BulkheadForensicsTests/RuntimeFixtures.swift
        return parts.joined(separator: "/") + "/Fixtures/runtimes"
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let file = fopen(directory + "/" + name, "rb") else { throw RuntimeFixtureMissing(name: name) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// `NAME.out` as the daemon's window: both streams, oldest first.
    static func lines(_ name: String) throws -> [OutputLine] {
        try split(bytes(name + ".out")).map { line in
            if let text = line.after("out| ") { return OutputLine(.stdout, text) }
            if let text = line.after("err| ") { return OutputLine(.stderr, text) }
            throw RuntimeFixtureMissing(name: name + ".out (unmarked line: \(line))")
        }
    }

    /// One stream as the program wrote it (`NAME.stdout`, `NAME.stderr`).
    static func stream(_ name: String, _ stream: OutputLine.Stream) throws -> [OutputLine] {
        try split(bytes(name + "." + stream.rawValue)).map { OutputLine(stream, $0) }
    }

    static func split(_ bytes: [UInt8]) -> [String] {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Every recorded capture's name (`go-nil-pointer`, `go-nil-pointer.rebuilt`, …).
    static func names() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".out") { names.append(String(name.dropLast(4))) }
        }
        return names.sorted()
    }
}

struct RuntimeFixtureMissing: Error, CustomStringConvertible {
    var name: String
    var description: String { "no fixture \(name) in Tests/Fixtures/runtimes (scripts/record-runtime-crashes)" }
}

extension String {
    func after(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
