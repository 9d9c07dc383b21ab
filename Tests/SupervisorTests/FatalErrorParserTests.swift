@testable import Supervisor
import Testing

/// `FatalErrorParser` on real captures: what a trap said about itself, from stderr and the
/// backtracer's JSON report.
@Suite struct FatalErrorParserTests {
    static func parse(stderr: String, json: String?) throws -> FatalErrorParser.Result {
        let report = try json.map { name in try #require(BacktraceReport.parse(try Fixtures.bytes(name), file: name)) }
        return FatalErrorParser.parse(stderr: try Fixtures.stderrLines(stderr), backtrace: report)
    }

    @Test func debugFatalErrorGivesMessageAndLocationFromStderr() throws {
        let result = try Self.parse(stderr: "debug-fatal-error.stderr", json: "debug-fatal-error.json")
        #expect(result.message == "Fatal error: crashlab: deliberate fatalError")
        #expect(result.location == "CrashLab/RuntimeTraps.swift:7")
        // No runtime-failure headline anywhere: the message stands in for it.
        #expect(result.headline == "Fatal error: crashlab: deliberate fatalError")
        #expect(result.topFrames.first == "static RuntimeTraps.fatalError(_:)")
    }

    @Test func debugPreconditionAndStdlibChecks() throws {
        let precondition = try Self.parse(stderr: "debug-precondition.stderr", json: "debug-precondition.json")
        #expect(precondition.message == "Precondition failed: crashlab: deliberate precondition failure")
        #expect(precondition.location == "CrashLab/RuntimeTraps.swift:13")

        // A stdlib check names the stdlib's file, not the caller.
        let index = try Self.parse(stderr: "debug-index-out-of-range.stderr", json: nil)
        #expect(index.message == "Fatal error: Index out of range")
        #expect(index.location == "Swift/ContiguousArrayBuffer.swift:692")

        let unwrap = try Self.parse(stderr: "debug-force-unwrap.stderr", json: nil)
        #expect(unwrap.message == "Fatal error: Unexpectedly found nil while unwrapping an Optional value")
        #expect(unwrap.location == "CrashLab/RuntimeTraps.swift:27")
    }

    @Test func releaseTrapSaysWhyOnlyInTheJSONHeadline() throws {
        let result = try Self.parse(stderr: "release-overflow-add.stderr", json: "release-overflow-add.json")
        #expect(result.message == nil)
        #expect(result.headline == "Swift runtime failure: arithmetic overflow")
        // The location comes from the first user frame with a source location.
        #expect(result.location == "RuntimeTraps.swift:56")
        #expect(result.topFrames.first == "specialized static RuntimeTraps.overflowAdd()")

        let divide = try Self.parse(stderr: "release-overflow-add.stderr", json: "release-divide-by-zero.json")
        #expect(divide.headline == "Swift runtime failure: Division by zero")
        let precondition = try Self.parse(stderr: "release-precondition.stderr", json: "release-precondition.json")
        #expect(precondition.headline == "Swift runtime failure: precondition failure")
    }

    @Test func releaseForceUnwrapLeavesNoTextAtAll() throws {
        let report = try #require(BacktraceReport.parse(try Fixtures.bytes("release-force-unwrap.json"), file: "x.json"))
        let result = FatalErrorParser.parse(stderr: [], backtrace: report)
        #expect(result.message == nil)
        #expect(result.headline == nil)
        #expect(result.topFrames.first == "specialized static RuntimeTraps.forceUnwrap()")
    }

    @Test func releaseFatalErrorKeepsItsMessageLine() throws {
        let result = try Self.parse(stderr: "release-fatal-error.stderr", json: "release-fatal-error.json")
        #expect(result.message == "Fatal error: crashlab: deliberate fatalError")
        #expect(result.location == "CrashLab/RuntimeTraps.swift:7")
    }

    @Test func runtimeMessagesWithoutAFatalErrorPrefix() throws {
        let unowned = try Self.parse(stderr: "release-unowned-after-free.stderr", json: "release-unowned-after-free.json")
        #expect(unowned.message?.hasPrefix("Fatal error: Attempted to read an unowned reference but object 0x") == true)
        #expect(unowned.location == nil)

        let exclusivity = try Self.parse(stderr: "debug-exclusivity.stderr", json: nil)
        #expect(exclusivity.message?.hasPrefix("Simultaneous accesses to 0x") == true)

        let continuation = try Self.parse(stderr: "release-continuation-twice.stderr", json: "release-continuation-twice.json")
        #expect(continuation.message?.hasPrefix("Fatal error: SWIFT TASK CONTINUATION MISUSE: continuationResumedTwice()") == true)
        #expect(continuation.location == "_Concurrency/CheckedContinuation.swift:169")

        let isolation = try Self.parse(stderr: "release-precondition-isolated-actor.stderr", json: "release-precondition-isolated-actor.json")
        #expect(isolation.message?.hasPrefix("Incorrect actor executor assumption; expected '") == true)

        let topLevel = try Self.parse(stderr: "debug-throw-from-async-main.stderr", json: "debug-throw-from-async-main.json")
        #expect(topLevel.message?.hasPrefix("Fatal error: Error raised at top level: ") == true)
        #expect(topLevel.location == "Swift/ErrorType.swift:254")
    }

    @Test func textModeHeadlineIsTheHeadlineNotAFrameLine() throws {
        // A worker with its own SWIFT_BACKTRACE=format=text: the headline is on stderr, and the
        // runtime-failure frame further down repeats the words with `in crashlab at …` after them.
        let result = try Self.parse(stderr: "release-overflow-add.text.stderr", json: nil)
        #expect(result.headline == "Swift runtime failure: arithmetic overflow")
        #expect(result.message == nil)

        let fatal = try Self.parse(stderr: "debug-fatal-error.text.stderr", json: nil)
        #expect(fatal.message == "Fatal error: crashlab: deliberate fatalError")
        #expect(fatal.location == "CrashLab/RuntimeTraps.swift:7")
    }

    @Test func aJSONReportOnStderrGivesJustTheHeadline() throws {
        // `output-to=` a missing directory: the whole report lands on stderr as one line.
        for name in ["release-overflow-add.missing-dir.stderr", "release-overflow-add.json-on-stderr.stderr"] {
            let result = try Self.parse(stderr: name, json: nil)
            #expect(result.headline == "Swift runtime failure: arithmetic overflow", "\(name)")
        }
    }

    @Test func ordinaryLinesAreNotFatalMessages() {
        let result = FatalErrorParser.parse(stderr: ["starting", "listening on :8080", "", "shutting down"], backtrace: nil)
        #expect(result == FatalErrorParser.Result())
    }

    @Test func theLastFatalLineWins() {
        let result = FatalErrorParser.parse(stderr: [
            "App/A.swift:1: Fatal error: first", "other", "App/B.swift:2: Fatal error: second", "",
        ], backtrace: nil)
        #expect(result.message == "Fatal error: second")
        #expect(result.location == "App/B.swift:2")
    }

    @Test func fatalLineShapes() {
        #expect(FatalErrorParser.fatalLine("M/F.swift:12: Fatal error: boom")! == ("Fatal error: boom", "M/F.swift:12"))
        #expect(FatalErrorParser.fatalLine("Fatal error: boom")! == ("Fatal error: boom", nil))
        #expect(FatalErrorParser.fatalLine("M/F.swift:12: Assertion failed: x")! == ("Assertion failed: x", "M/F.swift:12"))
        // Something that is not a Swift location before the kind: a message, no location.
        #expect(FatalErrorParser.fatalLine("worker: Fatal error: boom")! == ("Fatal error: boom", nil))
        #expect(FatalErrorParser.fatalLine("F.swift:x: Fatal error: boom")! == ("Fatal error: boom", nil))
        // Not at the end of a prefix: not a runtime line.
        #expect(FatalErrorParser.fatalLine("xFatal error: boom") == nil)
        #expect(FatalErrorParser.fatalLine("nothing to see") == nil)
    }
}
