import Testing
@testable import BulkheadForensics

/// `SwiftBacktraceJSON` on the backtracer's real reports (Tests/Fixtures/backtraces, described
/// in docs/notes/backtracer.md): ported from BulkheadSystemTests/BacktraceReportTests, whose
/// file-finding half stays with the daemon.
@Suite struct SwiftBacktraceJSONTests {
    static func report(_ name: String) throws -> SwiftBacktrace {
        let bytes = try #require(CrashFixtures.read(CrashFixtures.backtraces + "/" + name), "no fixture \(name)")
        return try #require(SwiftBacktraceJSON.parse(bytes))
    }

    static func ownFrames(_ report: SwiftBacktrace) -> [SwiftBacktrace.Frame] {
        (report.crashedThread?.frames ?? []).filter(SwiftFrameRoles.isOwn)
    }

    @Test func crashedThreadFramesOfADebugFatalError() throws {
        let report = try Self.report("debug-fatal-error.json")
        #expect(report.description == "Illegal instruction")
        #expect(report.runtimeFailure == nil)
        let crashed = try #require(report.crashedThread)
        #expect(crashed.name == "crashlab" && crashed.crashed)
        // `truncated` (and `omittedFrames`) markers are not frames; offsets are gone.
        #expect(crashed.frames.first?.function == "_assertionFailure(_:_:file:line:flags:)")
        #expect(crashed.frames.first?.image == "libswiftCore.so")
        #expect(crashed.frames[1].function == "static RuntimeTraps.fatalError(_:)")
        #expect(crashed.frames[1].symbol == "$s8CrashLab12RuntimeTrapsO10fatalErrorys5NeverOSSFZ")
        #expect(crashed.frames[1].fileName == "RuntimeTraps.swift")
        #expect(crashed.frames[1].line == 7)
        #expect(crashed.frames[1].file == "/work/main/Sources/CrashLab/RuntimeTraps.swift")
        #expect(crashed.stackPointer != nil)
    }

    @Test func ownFramesSkipRuntimeSystemAndThunkFrames() throws {
        let report = try Self.report("debug-fatal-error.json")
        #expect(Self.ownFrames(report).prefix(4).map(\.function) == [
            "static RuntimeTraps.fatalError(_:)", "static Death.perform(_:message:)", "Lab.end(_:)", "Lab.run()",
        ])
        for frame in Self.ownFrames(report) {
            #expect(!frame.runtimeFailure && !frame.thunk, "\(frame.function)")
            #expect(!SwiftFrameRoles.isRuntimeImage(frame.image), "\(frame.function)")
        }
    }

    @Test func releaseRuntimeFailureFrameNamesTheCheck() throws {
        let report = try Self.report("release-overflow-add.json")
        #expect(report.description == "Swift runtime failure: arithmetic overflow")
        #expect(report.runtimeFailure == "arithmetic overflow")
        let first = try #require(report.crashedThread?.frames.first)
        #expect(first.runtimeFailure && first.inlined && first.system)
        #expect(first.file == nil && first.line == nil)   // //<compiler-generated>
        let site = try #require(SwiftCrashSite.innermost(report.crashedThread?.frames ?? []))
        #expect(site.site == CrashSite(function: "RuntimeTraps.overflowAdd()", file: "RuntimeTraps.swift", line: 56))
        #expect(site.index == 1)
    }

    @Test func theCrashedThreadIsNotAlwaysTheFirst() throws {
        let report = try Self.report("release-trap-in-taskgroup.json")
        #expect(report.threads.count == 4)
        #expect(report.threads.map(\.crashed) == [false, false, false, true])
        #expect(report.crashedThread?.name == "oot.default-qos")
        #expect(Self.ownFrames(report).first?.function == "specialized static RuntimeTraps.fatalError(_:)")
        #expect(Self.ownFrames(report).dropFirst().first?.function
            == "closure #2 in closure #1 in static ConcurrencyTraps.trapInTaskGroup(_:)")
    }

    @Test func anAbortHasOneFrameInLibc() throws {
        let report = try Self.report("release-abort.json")
        #expect(report.description == "Aborted")
        #expect(report.crashedThread?.frames.map(\.function) == ["__pthread_kill_implementation"])
        #expect(Self.ownFrames(report).isEmpty)
    }

    @Test func aSigquitDumpMarksTheThreadThatTookTheSignal() throws {
        let report = try Self.report("release-sigquit-hang.json")
        #expect(report.description == "Terminated")
        #expect(report.crashedThread?.frames.first?.function == "__lll_lock_wait")
        let idle = try Self.report("debug-sigquit-idle.json")
        #expect(idle.crashedThread?.frames.isEmpty == false)
    }

    @Test func aReportWithoutACrashedThreadHasNone() throws {
        // Several threads, none marked: the shape of a dump from a runtime that marks none.
        var text = try #require(CrashFixtures.text(CrashFixtures.backtraces + "/release-trap-in-taskgroup.json"))
        text = text.replacing("\"crashed\": true, ", with: "")
        let report = try #require(SwiftBacktraceJSON.parse(Array(text.utf8)))
        #expect(report.threads.map(\.name) == ["crashlab", "oot.default-qos", "-qos.overcommit", "oot.default-qos"])
        #expect(report.crashedThread == nil)
    }

    @Test func theStackOverflowReportKeepsItsOmittedCount() throws {
        let report = try Self.report("release-stack-overflow.json")
        #expect(report.description == "Bad pointer dereference")
        let thread = try #require(report.crashedThread)
        #expect(thread.frames.count == 63)   // 65 entries less `omittedFrames` and `truncated`
        #expect(thread.omittedFrames == 174_472)
        #expect(report.faultAddress == 0x7ffd_c9c2_bfe8)
        #expect(thread.stackPointer == 0x7ffd_c9c2_bff0)
    }

    @Test func everyRecordedReportParses() throws {
        var names: [String] = []
        for mode in ["debug", "release", "release-rebuilt"] {
            names += CrashFixtures.kinds(mode: mode).map { "\(CrashFixtures.swiftCrashes)/\(mode)/\($0).json" }
        }
        names += ["debug-fatal-error", "release-overflow-add", "release-stack-overflow", "release-abort",
                  "release-sigquit-hang", "release-trap-in-taskgroup"].map { "\(CrashFixtures.backtraces)/\($0).json" }
        var parsed = 0
        for name in names {
            guard let bytes = CrashFixtures.read(name) else { continue }   // release assert: no report
            let report = SwiftBacktraceJSON.parse(bytes)
            #expect(report?.crashedThread?.crashed == true, "\(name)")
            #expect(report?.description?.isEmpty == false, "\(name)")
            parsed += 1
        }
        #expect(parsed >= 100)
    }

    @Test func truncatedOrGarbageReportsAreNil() throws {
        let whole = try #require(CrashFixtures.read(CrashFixtures.backtraces + "/release-overflow-add.json"))
        for length in [0, 1, 100, whole.count / 2, whole.count - 3] {
            #expect(SwiftBacktraceJSON.parse(Array(whole.prefix(length))) == nil, "\(length) bytes")
        }
        #expect(SwiftBacktraceJSON.parse(Array("not json at all".utf8)) == nil)
        #expect(SwiftBacktraceJSON.parse([0xFF, 0xFE, 0x00, 0x7B]) == nil)
        #expect(SwiftBacktraceJSON.parse(Array(String(repeating: "[", count: 100_000).utf8)) == nil)
        #expect(SwiftBacktraceJSON.parse(Array("[1, 2]".utf8)) == nil)   // JSON, but no report
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var bytes = whole
            for _ in 0..<8 { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            _ = SwiftBacktraceJSON.parse(bytes)   // must not trap, whatever it returns
        }
        // Valid JSON of the wrong shape: a report with nothing in it, not a trap.
        let odd = SwiftBacktraceJSON.parse(Array(#"{"threads": [1, {"frames": "no"}, {"frames": [{"kind": 3}], "crashed": "yes"}], "description": 5, "faultAddress": "zz"}"#.utf8))
        #expect(odd?.description == nil)
        #expect(odd?.faultAddress == nil)
        #expect(odd?.threads.count == 3)
        #expect(odd?.threads.allSatisfy { $0.frames.isEmpty && !$0.crashed } == true)
    }

    @Test func offsetsAndAddresses() {
        #expect(SwiftBacktraceJSON.withoutOffset("static RuntimeTraps.fatalError(_:) + 141") == "static RuntimeTraps.fatalError(_:)")
        #expect(SwiftBacktraceJSON.withoutOffset("Lab.end(_:)") == "Lab.end(_:)")
        #expect(SwiftBacktraceJSON.withoutOffset("operator + (_:_:)") == "operator + (_:_:)")
        #expect(SwiftBacktraceJSON.hexAddress("0x00007ffe50efaff0") == 0x7ffe_50ef_aff0)
        #expect(SwiftBacktraceJSON.hexAddress("12") == nil)
        #expect(SwiftBacktraceJSON.hexAddress("0xzz") == nil)
    }
}

/// A small deterministic generator for the byte-flipping test.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
