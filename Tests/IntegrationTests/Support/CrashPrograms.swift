import Foundation
import Glibc
import Testing

/// The small crashing programs of Tests/CrashPrograms, built by scripts/build-crash-programs
/// twice — as written, and `--rebuilt` (code moved in front of the crashing functions) — once
/// per test process, into a directory of its own (an earlier process's is removed once it is
/// gone).
actor CrashPrograms {
    static let shared = CrashPrograms()
    static let prefix = NSTemporaryDirectory() + "bulkhead-test-crash-programs-"
    private var built: Task<(plain: String, rebuilt: String), Error>?

    /// The two build directories: `<dir>/go/nilpointer`, `<dir>/python/type_error.py`, ….
    func directories() async throws -> (plain: String, rebuilt: String) {
        if let built { return try await built.value }
        let task = Task { try await offThread { try Self.build() } }
        built = task
        return try await task.value
    }

    private static func build() throws -> (plain: String, rebuilt: String) {
        removeLeftovers()
        let base = prefix + "\(getpid())"
        let plain = base + "/plain", rebuilt = base + "/rebuilt"
        for (directory, flags) in [(plain, [String]()), (rebuilt, ["--rebuilt"])] {
            let build = Process()
            build.executableURL = URL(fileURLWithPath: PackageFiles.root + "/scripts/build-crash-programs")
            build.arguments = [directory] + flags
            build.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            build.standardError = errors
            try build.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            build.waitUntilExit()
            try #require(build.terminationStatus == 0, "build-crash-programs \(flags): \(String(decoding: message, as: UTF8.self))")
        }
        return (plain, rebuilt)
    }

    /// Directories of test processes that have ended.
    private static func removeLeftovers() {
        let temporary = URL(fileURLWithPath: prefix).deletingLastPathComponent().path
        let name = URL(fileURLWithPath: prefix).lastPathComponent
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where entry.hasPrefix(name) {
            guard let pid = Int32(entry.dropFirst(name.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: temporary + "/" + entry)
        }
    }
}

/// Which toolchains this machine has (build-crash-programs skips the missing ones).
enum Toolchains {
    static func has(_ command: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(command)") }
    }
}
