import BulkheadPolicy
import Glibc
@testable import BulkheadForensics

/// The recordings in `Tests/Fixtures` (scripts/record-swift-crashes; formats in
/// Tests/Fixtures/swift-crashes/README.md) as the daemon would hand them to `CrashExplainer`.
enum CrashFixtures {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)   // BulkheadForensicsTests/CrashFixtures.swift
        return parts.joined(separator: "/") + "/Fixtures"
    }()

    static let swiftCrashes = root + "/swift-crashes"
    static let backtraces = root + "/backtraces"

    /// The whole file, or nil when it does not exist.
    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[..<count])
        }
        return bytes
    }

    static func text(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// One string per line as the daemon's line splitter gives them: blank lines kept, no final
    /// empty line for the closing newline.
    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// `signal 4` → killed by SIGILL; `exit 99` → exited 99.
    static func termination(_ text: String) -> Termination? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 2, let number = Int32(words[1]) else { return nil }
        switch words[0] {
        case "signal": return .signaled(signal: number, coreDumped: false)
        case "exit": return .exited(code: number)
        default: return nil
        }
    }

    /// What one recorded run (`<mode>/<kind>.*`) leaves to the daemon: the backtracer's file,
    /// both streams (stdout's lines first: crashlab and the C program write to stdout, if at
    /// all, before anything dies), the kernel's line for the pid.
    static func scene(mode: String, kind: String) throws -> DeathScene {
        let base = "\(swiftCrashes)/\(mode)/\(kind)"
        guard let exit = text(base + ".exit"), let termination = termination(exit) else {
            throw FixtureMissing(path: base + ".exit")
        }
        let stdout = lines(text(base + ".stdout") ?? "").map { OutputLine(.stdout, $0) }
        let stderr = lines(text(base + ".stderr") ?? "").map { OutputLine(.stderr, $0) }
        let kernel = text(base + ".kmsg").flatMap { lines($0).first }
        return DeathScene(termination: termination, output: stdout + stderr, swiftBacktraceJSON: read(base + ".json"),
                          kernelFaultLine: kernel, pid: kernel.flatMap { KernelFaultLine.parse($0)?.pid })
    }

    /// The crashlab kinds recorded in `mode`, in file-name order.
    static func kinds(mode: String) -> [String] {
        guard let directory = opendir("\(swiftCrashes)/\(mode)") else { return [] }
        defer { closedir(directory) }
        var kinds: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".exit") { kinds.append(String(name.dropLast(5))) }
        }
        return kinds.sorted()
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    var path: String
    var description: String { "no fixture at \(path): run scripts/record-swift-crashes" }
}
