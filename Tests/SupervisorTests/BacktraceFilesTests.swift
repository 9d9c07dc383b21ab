import BulkheadSystem
import Testing
@testable import Supervisor

/// Finding the backtracer's report of one pid among the files of an instance's directory.
@Suite("Backtrace report files")
struct BacktraceFilesTests {
    @Test func takeFindsTheFileOfThatPidAndRemovesIt() throws {
        let directory = try temporaryDirectory("backtraces")
        defer { FileSystem.removeTree(directory) }
        let bytes = try Fixtures.bytes("release-overflow-add.json")
        try FileSystem.writeAtomically(directory + "/crashlab-4242-0.0.json", bytes)
        try FileSystem.writeAtomically(directory + "/crashlab-42-0.0.json", Array("{}".utf8))
        try FileSystem.writeAtomically(directory + "/crashlab-14242-0.0.json", Array("{}".utf8))
        #expect(BacktraceFiles.take(directory: directory, pid: 4242) == bytes)
        #expect(!FileSystem.exists(directory + "/crashlab-4242-0.0.json"))
        // Reports of other pids stay.
        #expect(Set(FileSystem.list(directory)) == ["crashlab-42-0.0.json", "crashlab-14242-0.0.json"])
        #expect(BacktraceFiles.take(directory: directory, pid: 4242) == nil)
    }

    @Test func takeRemovesEveryReportOfThePid() throws {
        let directory = try temporaryDirectory("backtraces-bad")
        defer { FileSystem.removeTree(directory) }
        try FileSystem.writeAtomically(directory + "/w-77-0.0.json", Array("{\"threads\": [".utf8))
        try FileSystem.writeAtomically(directory + "/w-77-0.0-2.json", [])
        // The last name in order is read ("-2" sorts before "."), and both go.
        #expect(BacktraceFiles.take(directory: directory, pid: 77) == Array("{\"threads\": [".utf8))
        #expect(FileSystem.list(directory).isEmpty)
        #expect(BacktraceFiles.take(directory: directory + "/missing", pid: 77) == nil)
    }

    @Test(arguments: [
        ("crashlab-4242-0.0.json", true), ("crashlab-4242-0.0-2.json", true), ("crash-lab-2-4242-0.0.json", true),
        ("crashlab-14242-0.0.json", false), ("crashlab-4242-0.json", false), ("crashlab-4242-0.0.txt", false),
        ("4242-0.0.json", false), ("worker-4242-x.0.json", false),
    ])
    func namesAreMatchedByThePidInItsPlace(_ name: String, _ matches: Bool) {
        #expect(BacktraceFiles.isReport(name, of: 4242) == matches)
    }
}
