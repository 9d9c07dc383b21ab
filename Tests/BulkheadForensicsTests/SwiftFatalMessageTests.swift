import Testing
@testable import BulkheadForensics

/// What a Swift trap said about itself, from stderr and the backtracer's report, on the captures
/// in Tests/Fixtures/backtraces: ported from BulkheadSystemTests/FatalErrorParserTests (the
/// old parser's `message`, `location`, `headline` and `topFrames` are the explanation's
/// `fatalMessage`, `sourceLocation`, `headline` and `site`/`frames` now).
@Suite struct SwiftFatalMessageTests {
    /// A death by `signal` with that stderr capture and that report file, as the daemon gives it.
    static func explain(stderr: String?, json: String?, signal: Int32 = 4) throws -> CrashExplanation {
        let lines = try stderr.map { name in
            CrashFixtures.lines(try #require(CrashFixtures.text(CrashFixtures.backtraces + "/" + name), "no fixture \(name)"))
        } ?? []
        let report = try json.map { name in try #require(CrashFixtures.read(CrashFixtures.backtraces + "/" + name)) }
        return CrashExplainer.explain(DeathScene(termination: .signaled(signal: signal, coreDumped: false),
                                                 output: lines.map { OutputLine(.stderr, $0) }, swiftBacktraceJSON: report))
    }

    @Test func debugFatalErrorGivesMessageAndLocationFromStderr() throws {
        let result = try Self.explain(stderr: "debug-fatal-error.stderr", json: "debug-fatal-error.json")
        #expect(result.fatalMessage == "Fatal error: crashlab: deliberate fatalError")
        #expect(result.sourceLocation == "CrashLab/RuntimeTraps.swift:7")
        #expect(result.headline == "Fatal error: crashlab: deliberate fatalError in RuntimeTraps.fatalError(_:) (RuntimeTraps.swift:7)")
        #expect(result.site == CrashSite(function: "RuntimeTraps.fatalError(_:)", file: "RuntimeTraps.swift", line: 7))
        #expect(result.frames.first { !$0.isRuntime }?.function == "static RuntimeTraps.fatalError(_:)")
        #expect(result.kind == "fatal error" && result.runtime == .swift && result.message == "crashlab: deliberate fatalError")
    }

    @Test func debugPreconditionAndStdlibChecks() throws {
        let precondition = try Self.explain(stderr: "debug-precondition.stderr", json: "debug-precondition.json")
        #expect(precondition.fatalMessage == "Precondition failed: crashlab: deliberate precondition failure")
        #expect(precondition.sourceLocation == "CrashLab/RuntimeTraps.swift:13")
        #expect(precondition.kind == "precondition failure")

        // A stdlib check names the stdlib's file, not the caller: no site without a backtrace.
        let index = try Self.explain(stderr: "debug-index-out-of-range.stderr", json: nil)
        #expect(index.fatalMessage == "Fatal error: Index out of range")
        #expect(index.sourceLocation == "Swift/ContiguousArrayBuffer.swift:692")
        #expect(index.site == nil)
        #expect(index.headline == "Fatal error: Index out of range")

        let unwrap = try Self.explain(stderr: "debug-force-unwrap.stderr", json: nil)
        #expect(unwrap.fatalMessage == "Fatal error: Unexpectedly found nil while unwrapping an Optional value")
        #expect(unwrap.sourceLocation == "CrashLab/RuntimeTraps.swift:27")
        #expect(unwrap.site == CrashSite(file: "RuntimeTraps.swift", line: 27))
        #expect(unwrap.headline == "Fatal error: Unexpectedly found nil while unwrapping an Optional value at RuntimeTraps.swift:27")
    }

    @Test func releaseTrapSaysWhyOnlyInTheReport() throws {
        let result = try Self.explain(stderr: "release-overflow-add.stderr", json: "release-overflow-add.json")
        #expect(result.fatalMessage == nil)
        #expect(result.headline == "Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowAdd() (RuntimeTraps.swift:56)")
        // The location comes from the first frame of the program's own with a source location.
        #expect(result.sourceLocation == "RuntimeTraps.swift:56")
        #expect(result.site?.function == "RuntimeTraps.overflowAdd()")
        #expect(result.kind == "runtime trap" && result.message == "arithmetic overflow")
        #expect(result.detail("runtime_failure") == "arithmetic overflow")

        let divide = try Self.explain(stderr: "release-overflow-add.stderr", json: "release-divide-by-zero.json")
        #expect(divide.message == "Division by zero")
        let precondition = try Self.explain(stderr: "release-precondition.stderr", json: "release-precondition.json")
        #expect(precondition.message == "precondition failure")
    }

    @Test func releaseForceUnwrapLeavesNoTextAtAll() throws {
        let result = try Self.explain(stderr: nil, json: "release-force-unwrap.json")
        #expect(result.fatalMessage == nil && result.message == nil)
        // Nothing says which check: the headline does not guess.
        #expect(result.headline == "Swift runtime trap in RuntimeTraps.forceUnwrap()")
    }

    @Test func releaseFatalErrorKeepsItsMessageLine() throws {
        let result = try Self.explain(stderr: "release-fatal-error.stderr", json: "release-fatal-error.json")
        #expect(result.fatalMessage == "Fatal error: crashlab: deliberate fatalError")
        #expect(result.sourceLocation == "CrashLab/RuntimeTraps.swift:7")
    }

    @Test func runtimeMessagesWithoutAFatalErrorPrefix() throws {
        let unowned = try Self.explain(stderr: "release-unowned-after-free.stderr", json: "release-unowned-after-free.json", signal: 6)
        #expect(unowned.fatalMessage?.hasPrefix("Fatal error: Attempted to read an unowned reference but object 0x") == true)
        #expect(unowned.headline == "Fatal error: Attempted to read an unowned reference but object 0x… was already destroyed")
        #expect(unowned.sourceLocation == nil)

        let exclusivity = try Self.explain(stderr: "debug-exclusivity.stderr", json: nil, signal: 6)
        #expect(exclusivity.fatalMessage?.hasPrefix("Simultaneous accesses to 0x") == true)
        #expect(exclusivity.kind == "exclusivity violation")
        #expect(exclusivity.headline == "Simultaneous accesses to 0x…, but modification requires exclusive access.")

        let continuation = try Self.explain(stderr: "release-continuation-twice.stderr", json: "release-continuation-twice.json")
        #expect(continuation.fatalMessage?.hasPrefix("Fatal error: SWIFT TASK CONTINUATION MISUSE: continuationResumedTwice()") == true)
        #expect(continuation.sourceLocation == "_Concurrency/CheckedContinuation.swift:169")

        let isolation = try Self.explain(stderr: "release-precondition-isolated-actor.stderr",
                                         json: "release-precondition-isolated-actor.json", signal: 6)
        #expect(isolation.fatalMessage?.hasPrefix("Incorrect actor executor assumption; expected '") == true)
        #expect(isolation.headline.contains("(unknown context at $…)"))

        let topLevel = try Self.explain(stderr: "debug-throw-from-async-main.stderr", json: "debug-throw-from-async-main.json")
        #expect(topLevel.fatalMessage?.hasPrefix("Fatal error: Error raised at top level: ") == true)
        #expect(topLevel.sourceLocation == "Swift/ErrorType.swift:254")
    }

    @Test func textModeReportsReadLikeJSONOnes() throws {
        // A worker with its own SWIFT_BACKTRACE=format=text: the report is on stderr, and the
        // runtime-failure frame in it repeats the words with `in crashlab at …` after them.
        let overflow = try Self.explain(stderr: "release-overflow-add.text.stderr", json: nil)
        #expect(overflow.headline == "Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowAdd() (RuntimeTraps.swift:56)")
        #expect(overflow.fatalMessage == nil)

        let fatal = try Self.explain(stderr: "debug-fatal-error.text.stderr", json: nil)
        #expect(fatal.fatalMessage == "Fatal error: crashlab: deliberate fatalError")
        #expect(fatal.sourceLocation == "CrashLab/RuntimeTraps.swift:7")
        #expect(fatal.site == CrashSite(function: "RuntimeTraps.fatalError(_:)", file: "RuntimeTraps.swift", line: 7))

        let overflowed = try Self.explain(stderr: "release-stack-overflow.text.stderr", json: nil, signal: 11)
        #expect(overflowed.headline == "stack overflow in MemoryFaults.recurse(_:) (MemoryFaults.swift:58)")
        #expect(overflowed.detail("omitted_frames") == "174511")

        // Several threads, the second one crashed, `failed to suspend thread` lines before it.
        let group = try Self.explain(stderr: "release-trap-in-taskgroup.text.stderr", json: nil)
        #expect(group.headline == "Fatal error: crashlab: deliberate fatalError in a TaskGroup child in RuntimeTraps.fatalError(_:) (RuntimeTraps.swift:7)")
        #expect(group.threads.map(\.crashed).filter { $0 }.count == 1)
        #expect(group.detail("crashed_thread") == "oot.default-qos")
    }

    @Test func aJSONReportOnStderrIsReadToo() throws {
        // `output-to=` a missing directory: the helper's complaint splits the banner, and the whole
        // report lands on stderr as one line; `format=json` without `output-to`: the same line.
        for name in ["release-overflow-add.missing-dir.stderr", "release-overflow-add.json-on-stderr.stderr"] {
            let result = try Self.explain(stderr: name, json: nil)
            #expect(result.headline == "Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowAdd() (RuntimeTraps.swift:56)", "\(name)")
            #expect(result.frames.count > 3, "\(name)")
        }
    }

    @Test func ordinaryLinesAreNotFatalMessages() {
        #expect(SwiftFatalMessage.last(in: ["starting", "listening on :8080", "", "shutting down"].map { OutputLine(.stderr, $0) }) == nil)
    }

    @Test func theLastFatalLineWins() {
        let message = SwiftFatalMessage.last(in: [
            "App/A.swift:1: Fatal error: first", "other", "App/B.swift:2: Fatal error: second", "",
        ].map { OutputLine(.stderr, $0) })
        #expect(message?.text == "Fatal error: second")
        #expect(message?.location == "App/B.swift:2")
        #expect(message?.programLocation?.file == "B.swift" && message?.programLocation?.line == 2)
    }

    @Test func fatalLineShapes() {
        func parsed(_ line: String) -> [String?]? {
            SwiftFatalMessage.parse(line).map { [$0.text, $0.location, $0.kind] }
        }
        #expect(parsed("M/F.swift:12: Fatal error: boom") == ["Fatal error: boom", "M/F.swift:12", "fatal error"])
        #expect(parsed("Fatal error: boom") == ["Fatal error: boom", nil, "fatal error"])
        #expect(parsed("M/F.swift:12: Fatal error") == ["Fatal error", "M/F.swift:12", "fatal error"])
        #expect(parsed("M/F.swift:12: Assertion failed: x") == ["Assertion failed: x", "M/F.swift:12", "assertion failure"])
        // Something that is not a Swift location before the kind: a message, no location.
        #expect(parsed("worker: Fatal error: boom") == ["Fatal error: boom", nil, "fatal error"])
        #expect(parsed("F.swift:x: Fatal error: boom") == ["Fatal error: boom", nil, "fatal error"])
        // Not at the end of a prefix: not a runtime line.
        #expect(parsed("xFatal error: boom") == nil)
        #expect(parsed("nothing to see") == nil)
        #expect(SwiftFatalMessage.parse("Swift/Range.swift:761: Fatal error: Range requires lowerBound <= upperBound")?.programLocation == nil)
        #expect(SwiftFatalMessage.parse("Fatal error: Index out of range")?.reason == "Index out of range")
    }

    @Test func runtimeAddressesLeaveHeadlines() {
        #expect(SwiftFatalMessage.withoutAddresses("to 0x55bdb12a99b0, at $55c40ac955e0 or $5") == "to 0x…, at $… or $5")
        #expect(SwiftFatalMessage.parse("Fatal error: bad id 0x1f")?.headlineText == "Fatal error: bad id 0x1f")
    }
}
