import BulkheadControl
import BulkheadSystem
import Glibc
import Testing

/// `SiblingProgram.path`: the helpers next to the running executable first (a build tree, an
/// install by hand), then in /usr/libexec/bulkhead (the Debian package).
@Suite struct SiblingProgramTests {
    /// Two fresh directories, removed afterwards.
    static func withDirectories(_ body: (String, String) throws -> Void) throws {
        let next = try temporaryDirectory("sibling-next")
        let libexec = try temporaryDirectory("sibling-libexec")
        defer {
            FileSystem.removeTree(next)
            FileSystem.removeTree(libexec)
        }
        try body(next, libexec)
    }

    static func install(_ path: String, mode: Int32 = 0o755) throws {
        try FileSystem.writeAtomically(path, Array("#!/bin/sh\n".utf8), mode: mode)
    }

    @Test func theSiblingWinsWhenBothExist() throws {
        try Self.withDirectories { next, libexec in
            try Self.install(next + "/bulkhead-cli")
            try Self.install(libexec + "/bulkhead-cli")
            #expect(SiblingProgram.path("bulkhead-cli", searching: [next, libexec]) == next + "/bulkhead-cli")
        }
    }

    @Test func libexecWhenNothingIsNextToTheExecutable() throws {
        try Self.withDirectories { next, libexec in
            try Self.install(libexec + "/bulkhead-daemon")
            #expect(SiblingProgram.path("bulkhead-daemon", searching: [next, libexec]) == libexec + "/bulkhead-daemon")
        }
    }

    @Test func aFileThatCannotRunOrADirectoryIsPassedOver() throws {
        try Self.withDirectories { next, libexec in
            try Self.install(next + "/bulkhead-cli", mode: 0o644)
            try FileSystem.makeDirectories(next + "/bulkhead-daemon")
            try Self.install(libexec + "/bulkhead-cli")
            try Self.install(libexec + "/bulkhead-daemon")
            #expect(SiblingProgram.path("bulkhead-cli", searching: [next, libexec]) == libexec + "/bulkhead-cli")
            #expect(SiblingProgram.path("bulkhead-daemon", searching: [next, libexec]) == libexec + "/bulkhead-daemon")
        }
    }

    /// The error message then names the first place looked, where a build puts the helper.
    @Test func neitherHasItTheSiblingPathIsReturned() throws {
        try Self.withDirectories { next, libexec in
            #expect(SiblingProgram.path("bulkhead-cli", searching: [next, libexec]) == next + "/bulkhead-cli")
        }
    }

    /// A helper found nowhere (a name no build makes): the default search answers with the
    /// path next to the running executable, this test binary.
    @Test func theDefaultSearchStartsNextToTheRunningExecutable() throws {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        try #require(length > 0)
        let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = String(executable[..<executable.lastIndex(of: "/")!])
        let name = "bulkhead-no-such-helper-\(getpid())"
        #expect(SiblingProgram.path(name) == directory + "/" + name)
        #expect(SiblingProgram.libexecDirectory == "/usr/libexec/bulkhead")
    }
}
