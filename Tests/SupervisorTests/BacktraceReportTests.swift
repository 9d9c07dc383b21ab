@testable import Supervisor
import BulkheadJSON
import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `BacktraceReport`: the Swift runtime backtracer's JSON file, read after the death.
@Suite struct BacktraceReportTests {
    static func report(_ name: String) throws -> BacktraceReport {
        try #require(BacktraceReport.parse(try Fixtures.bytes(name), file: name))
    }

    @Test func crashedThreadFramesOfADebugFatalError() throws {
        let report = try Self.report("debug-fatal-error.json")
        #expect(report.description == "Illegal instruction")
        #expect(report.runtimeFailure == nil)
        let crashed = try #require(report.crashedThread)
        #expect(crashed.name == "crashlab" && crashed.crashed)
        // `truncated` (and `omittedFrames`) markers are not frames.
        #expect(crashed.frames.first?.function == "_assertionFailure(_:_:file:line:flags:)")
        #expect(crashed.frames.first?.image == "libswiftCore.so")
        #expect(crashed.frames[1].description == "static RuntimeTraps.fatalError(_:) + 141")
        #expect(crashed.frames[1].location == "RuntimeTraps.swift:7")
        #expect(crashed.frames[1].line == 7)
        #expect(crashed.frames[1].file == "/work/main/Sources/CrashLab/RuntimeTraps.swift")
    }

    @Test func topFramesSkipRuntimeSystemAndThunkFrames() throws {
        let report = try Self.report("debug-fatal-error.json")
        #expect(report.topFrames.prefix(4).map(\.function) == [
            "static RuntimeTraps.fatalError(_:)", "static Death.perform(_:message:)", "Lab.end(_:)", "Lab.run()",
        ])
        for frame in report.topFrames {
            #expect(!frame.system && !frame.runtimeFailure && !frame.thunk, "\(frame.description)")
            #expect(!BacktraceReport.runtimeImages.contains(frame.image ?? ""), "\(frame.description)")
        }
    }

    @Test func releaseRuntimeFailureFrameGivesTheHeadline() throws {
        let report = try Self.report("release-overflow-add.json")
        #expect(report.description == "Swift runtime failure: arithmetic overflow")
        #expect(report.runtimeFailure == "Swift runtime failure: arithmetic overflow")
        let first = try #require(report.crashedThread?.frames.first)
        #expect(first.runtimeFailure && first.inlined && first.system)
        #expect(first.location == nil)   // //<compiler-generated>
        #expect(report.topFrames.first?.function == "specialized static RuntimeTraps.overflowAdd()")
        #expect(report.topFrames.first?.location == "RuntimeTraps.swift:56")
    }

    @Test func theCrashedThreadIsNotAlwaysTheFirst() throws {
        let report = try Self.report("release-trap-in-taskgroup.json")
        #expect(report.threads.count == 4)
        #expect(report.threads.map(\.crashed) == [false, false, false, true])
        #expect(report.crashedThread?.name == "oot.default-qos")
        #expect(report.topFrames.first?.function == "specialized static RuntimeTraps.fatalError(_:)")
        #expect(report.topFrames.dropFirst().first?.function == "closure #2 in closure #1 in static ConcurrencyTraps.trapInTaskGroup(_:)")
        let json = report.json()
        #expect(json["crashed_thread"]?.string == "oot.default-qos")
        #expect(json["thread_count"]?.int == 4)
        #expect(json["threads"] == nil)
    }

    @Test func anAbortHasOneFrameInLibc() throws {
        let report = try Self.report("release-abort.json")
        #expect(report.description == "Aborted")
        #expect(report.crashedThread?.frames.map(\.function) == ["__pthread_kill_implementation"])
        #expect(report.topFrames.isEmpty)
    }

    @Test func aSigquitDumpKeepsEveryThreadWhenAskedTo() throws {
        // A real dump marks the main thread crashed and says `Terminated`; only the sender
        // knows it was a dump, so the caller asks for every thread.
        let report = try Self.report("release-sigquit-hang.json")
        #expect(report.description == "Terminated")
        #expect(report.crashedThread?.frames.first?.function == "__lll_lock_wait")
        let dump = report.json(allThreads: true)
        #expect(dump["threads"]?.array?.count == report.threads.count)
        #expect(dump["frames"] == nil)
        #expect(report.json()["frames"]?.array?.isEmpty == false)

        let idle = try Self.report("debug-sigquit-idle.json")
        #expect(idle.json(allThreads: true)["threads"]?.array?.first?["frames"]?.array?.isEmpty == false)
    }

    @Test func aDumpWithoutACrashedThreadListsEveryThread() throws {
        // Several threads, none marked: the shape of a dump from a runtime that marks none.
        var text = String(decoding: try Fixtures.bytes("release-trap-in-taskgroup.json"), as: UTF8.self)
        text = text.replacing("\"crashed\": true, ", with: "")
        let report = try #require(BacktraceReport.parse(Array(text.utf8), file: "dump.json"))
        #expect(report.threads.allSatisfy { !$0.crashed })
        #expect(report.crashedThread?.name == "crashlab")   // the first, for want of better
        let json = report.json()
        #expect(json["threads"]?.array?.map { $0["name"]?.string } == ["crashlab", "oot.default-qos", "-qos.overcommit", "oot.default-qos"])
    }

    @Test func theStackOverflowReportParsesWithinLimits() throws {
        let start = bh_monotonic_ns()
        let report = try Self.report("release-stack-overflow.json")
        #expect(bh_monotonic_ns() - start < 2_000_000_000)
        #expect(report.description == "Bad pointer dereference")
        let frames = try #require(report.crashedThread?.frames)
        #expect(frames.count == 63)   // 65 entries less `omittedFrames` and `truncated`
        let json = report.json()
        #expect(json["frames"]?.array?.count == 48)
        #expect(json.encodedBytes().count < 64 << 10)
    }

    @Test func everyFixtureParses() throws {
        let names = FileSystem.list(Fixtures.directory).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 20)
        for name in names {
            let report = BacktraceReport.parse(try Fixtures.bytes(name), file: name)
            #expect(report != nil, "\(name)")
            #expect(report?.crashedThread?.crashed == true, "\(name)")
            #expect(report?.description?.isEmpty == false, "\(name)")
        }
    }

    @Test func truncatedOrGarbageFilesAreNil() throws {
        let whole = try Fixtures.bytes("release-overflow-add.json")
        for length in [0, 1, 100, whole.count / 2, whole.count - 3] {
            #expect(BacktraceReport.parse(Array(whole.prefix(length)), file: "x.json") == nil, "\(length) bytes")
        }
        #expect(BacktraceReport.parse(Array("not json at all".utf8), file: "x.json") == nil)
        #expect(BacktraceReport.parse([0xFF, 0xFE, 0x00, 0x7B], file: "x.json") == nil)
        #expect(BacktraceReport.parse(Array(String(repeating: "[", count: 100_000).utf8), file: "x.json") == nil)
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var bytes = whole
            for _ in 0..<8 { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            _ = BacktraceReport.parse(bytes, file: "x.json")   // must not trap, whatever it returns
        }
        // Valid JSON of the wrong shape: a report with nothing in it, not a trap.
        let odd = BacktraceReport.parse(Array(#"{"threads": [1, {"frames": "no"}, {"frames": [{"kind": 3}]}], "description": 5}"#.utf8), file: "x.json")
        #expect(odd?.description == nil)
        #expect(odd?.threads.count == 3)
        #expect(odd?.threads.allSatisfy { $0.frames.isEmpty } == true)
        #expect(odd?.topFrames.isEmpty == true)
    }

    @Test func takeFindsTheFileOfThatPidAndRemovesIt() throws {
        let directory = try temporaryDirectory("backtraces")
        defer { FileSystem.removeTree(directory) }
        let bytes = try Fixtures.bytes("release-overflow-add.json")
        try FileSystem.writeAtomically(directory + "/crashlab-4242-0.0.json", bytes)
        try FileSystem.writeAtomically(directory + "/crashlab-42-0.0.json", Array("{}".utf8))
        try FileSystem.writeAtomically(directory + "/crashlab-14242-0.0.json", Array("{}".utf8))
        let report = try #require(BacktraceReport.take(directory: directory, pid: 4242))
        #expect(report.file == "crashlab-4242-0.0.json")
        #expect(report.runtimeFailure == "Swift runtime failure: arithmetic overflow")
        #expect(!FileSystem.exists(directory + "/crashlab-4242-0.0.json"))
        // Reports of other pids stay.
        #expect(Set(FileSystem.list(directory)) == ["crashlab-42-0.0.json", "crashlab-14242-0.0.json"])
        #expect(BacktraceReport.take(directory: directory, pid: 4242) == nil)
    }

    @Test func takeRemovesAnUnreadableReportToo() throws {
        let directory = try temporaryDirectory("backtraces-bad")
        defer { FileSystem.removeTree(directory) }
        try FileSystem.writeAtomically(directory + "/w-77-0.0.json", Array("{\"threads\": [".utf8))
        try FileSystem.writeAtomically(directory + "/w-77-0.0-2.json", [])
        #expect(BacktraceReport.take(directory: directory, pid: 77) == nil)
        #expect(FileSystem.list(directory).isEmpty)
        #expect(BacktraceReport.take(directory: directory + "/missing", pid: 77) == nil)
    }
}
