import BulkheadPolicy
import Testing
@testable import BulkheadForensics

/// How `CrashExplainer` folds another runtime's crash block (`RuntimeCrashRecognizer`, injected
/// here) into its order of evidence.
@Suite struct RecognisedCrashMergeTests {
    static let goPanic = RecognisedCrash(
        runtime: .go, kind: "panic", message: "runtime error: index out of range [5] with length 3",
        site: CrashSite(function: "main.charge", file: "main.go", line: 7),
        frames: [CrashFrame(function: "main.charge", file: "/src/main.go", line: 7)],
        headline: "Go panic: runtime error: index out of range [5] with length 3 at main.charge (main.go:7)",
        fingerprintBasis: ["go", "panic", "runtime error: index out of range [#] with length #", "main.charge"])

    static let glibcAbort = RecognisedCrash(
        runtime: .c, kind: "abort", message: "free(): double free detected in tcache 2",
        headline: "glibc: free(): double free detected in tcache 2",
        fingerprintBasis: ["c", "abort", "free(): double free detected in tcache #"], isCrash: false)

    @Test func aRecognisedBlockIsTakenWhole() {
        let scene = DeathScene(termination: .exited(code: 2), output: [OutputLine(.stderr, "panic: runtime error: …")])
        let explanation = CrashExplainer.explain(scene, recognised: Self.goPanic)
        #expect(explanation.headline == Self.goPanic.headline)
        #expect(explanation.runtime == .go && explanation.kind == "panic" && explanation.message == Self.goPanic.message)
        #expect(explanation.site == Self.goPanic.site && explanation.frames == Self.goPanic.frames)
        #expect(explanation.fingerprintBasis == Self.goPanic.fingerprintBasis)
        #expect(explanation.isRecognisedCrash)
        #expect(!CrashExplainer.explain(scene, recognised: Self.glibcAbort).isRecognisedCrash)
    }

    @Test func aSwiftFatalMessageComesFirst() throws {
        let scene = try CrashFixtures.scene(mode: "release", kind: "fatal-error")
        let explanation = CrashExplainer.explain(scene, recognised: Self.goPanic)
        #expect(explanation.headline == "Fatal error: crashlab: deliberate fatalError in RuntimeTraps.fatalError(_:) (RuntimeTraps.swift:7)")
        #expect(explanation.runtime == .swift && !explanation.isRecognisedCrash)
    }

    @Test func aRecognisedBlockComesBeforeTheSwiftBacktrace() throws {
        let scene = try CrashFixtures.scene(mode: "release", kind: "overflow-add")
        let explanation = CrashExplainer.explain(scene, recognised: Self.goPanic)
        #expect(explanation.headline == Self.goPanic.headline)
        // The Swift report's threads stay available all the same.
        #expect(!explanation.threads.isEmpty)
    }

    @Test func aCLibraryAbortMessageMeetsTheSwiftBacktrace() throws {
        // The real double free in a Swift program: glibc's message, then SIGABRT with a report.
        for mode in ["debug", "release"] {
            let scene = try CrashFixtures.scene(mode: mode, kind: "double-free")
            let explanation = CrashExplainer.explain(scene, recognised: Self.glibcAbort)
            #expect(explanation.headline == "abort() called: free(): double free detected in tcache 2")
            #expect(explanation.runtime == .c && explanation.kind == "abort")
            #expect(explanation.frames.first?.function == "__pthread_kill_implementation")
            // The same words as without a recognizer: the table holds for both.
            #expect(explanation.headline == CrashExplainer.explain(scene, recognised: nil).headline)
        }
        // Where the backtrace reaches the program's code, it names the function.
        let report = try #require(CrashFixtures.read(CrashFixtures.swiftCrashes + "/release/null-deref.json"))
        var text = String(decoding: report, as: UTF8.self)
        text = text.replacing("\"description\": \"Bad pointer dereference\"", with: "\"description\": \"Aborted\"")
        let scene = DeathScene(termination: .signaled(signal: 6, coreDumped: false),
                               output: [OutputLine(.stderr, "free(): double free detected in tcache 2")],
                               swiftBacktraceJSON: Array(text.utf8))
        let placed = CrashExplainer.explain(scene, recognised: Self.glibcAbort)
        #expect(placed.headline == "abort() called in MemoryFaults.nullDereference(): free(): double free detected in tcache 2")
        #expect(placed.fingerprintBasis.last == "where:MemoryFaults.nullDereference()")
    }

    /// Without a backtrace the same words as with one, less the place: a SIGABRT headline reads
    /// the same whether or not the backtracer ran.
    @Test func aCLibraryAbortWithoutASwiftBacktraceSaysAbortAndTheMessage() {
        let scene = DeathScene(termination: .signaled(signal: 6, coreDumped: false),
                               output: [OutputLine(.stderr, "free(): double free detected in tcache 2")])
        let explained = CrashExplainer.explain(scene, recognised: Self.glibcAbort)
        #expect(explained.headline == "abort() called: free(): double free detected in tcache 2")
        #expect(explained.fingerprintBasis == Self.glibcAbort.fingerprintBasis)
    }
}
