import BulkheadPolicy
import Testing
@testable import BulkheadForensics

/// Deaths that leave odd, broken or misleading remains, written by hand around real captures.
@Suite struct ExplainerEdgeCaseTests {
    static let ill = Termination.signaled(signal: 4, coreDumped: false)
    static let segv = Termination.signaled(signal: 11, coreDumped: false)

    static func stderr(_ lines: String...) -> [OutputLine] {
        lines.map { OutputLine(.stderr, $0) }
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        try #require(CrashFixtures.read(CrashFixtures.backtraces + "/" + name), "no fixture \(name)")
    }

    static let banner = "*** Signal 4: Backtracing from 0x55d1c3a2b1f4... done ***"

    @Test func truncatedOrGarbageReportsFallBackToTheSignal() throws {
        let whole = try Self.fixture("release-overflow-add.json")
        for bytes in [Array(whole.prefix(whole.count / 2)), Array("garbage".utf8), [], [0xFF, 0x00]] {
            let explanation = CrashExplainer.explain(DeathScene(termination: Self.ill, output: Self.stderr("", Self.banner, ""),
                                                                swiftBacktraceJSON: bytes))
            #expect(explanation.headline == "SIGILL (illegal instruction)")
            #expect(explanation.kind == nil && explanation.runtime == nil && explanation.frames.isEmpty)
            #expect(explanation.fingerprintBasis == ["how:SIGILL"])
        }
    }

    @Test func aReportWithoutACrashedThreadExplainsNothing() throws {
        var text = String(decoding: try Self.fixture("release-overflow-add.json"), as: UTF8.self)
        text = text.replacing("\"crashed\": true, ", with: "")
        let explanation = CrashExplainer.explain(DeathScene(termination: Self.ill, swiftBacktraceJSON: Array(text.utf8)))
        #expect(explanation.headline == "SIGILL (illegal instruction)")
        #expect(explanation.frames.isEmpty)
        #expect(explanation.threads.count == 1 && explanation.threads[0].crashed == false)
        #expect(explanation.detail("backtrace") == "a report of a signal the process did not die of")
    }

    @Test func omittedFramesAloneSayStackOverflow() throws {
        // No registers (so no stack pointer to compare with) and a fault address far from any
        // stack: the 174 472 frames left out are the evidence.
        var text = String(decoding: try Self.fixture("release-stack-overflow.json"), as: UTF8.self)
        let registers = try #require(text.firstRange(of: "\"registers\": {"))
        let end = try #require(text[registers.upperBound...].firstIndex(of: "}"))
        text.replaceSubrange(registers.lowerBound...end, with: "\"registers\": {}")
        text = text.replacing("\"faultAddress\": \"0x00007ffdc9c2bfe8\"", with: "\"faultAddress\": \"0x0000000012345678\"")
        let explanation = CrashExplainer.explain(DeathScene(termination: Self.segv, swiftBacktraceJSON: Array(text.utf8)))
        #expect(explanation.headline == "stack overflow in MemoryFaults.recurse(_:) (MemoryFaults.swift:58)")
        #expect(explanation.kind == "stack overflow")
        #expect(explanation.detail("omitted_frames") == "174472")
        #expect(explanation.fingerprintBasis == [
            "runtime:swift", "what:stack overflow", "where:MemoryFaults.recurse(_:)", "at:MemoryFaults.swift:58",
        ])
    }

    @Test func aSigquitDumpBeforeTheKillClaimsNoCrash() throws {
        // The watchdog's dump (`Terminated`), then SIGKILL: a hang, which the daemon names.
        let output = [OutputLine(.stdout, "crashlab: hanging")] + Self.stderr("", "*** Signal 3: Backtracing from 0x7fc255f6412b... done ***", "")
        for termination in [Termination.signaled(signal: 9, coreDumped: false), .signaled(signal: 3, coreDumped: false)] {
            let explanation = CrashExplainer.explain(DeathScene(termination: termination, output: output,
                                                                swiftBacktraceJSON: try Self.fixture("release-sigquit-hang.json")))
            #expect(!explanation.headline.contains("stack overflow") && !explanation.headline.contains("trap"))
            #expect(explanation.kind == nil && explanation.runtime == nil && !explanation.isRecognisedCrash)
            #expect(explanation.frames.isEmpty && explanation.site == nil)
            #expect(explanation.detail("backtrace") == "a thread dump (SIGQUIT), not the cause of death")
            // Where each thread was stuck stays available for the report.
            #expect(explanation.threads.first { $0.crashed }?.frames.first?.function == "__lll_lock_wait")
        }
        let killed = CrashExplainer.explain(DeathScene(termination: .signaled(signal: 9, coreDumped: false), output: output,
                                                       swiftBacktraceJSON: try Self.fixture("release-sigquit-hang.json")))
        #expect(killed.headline == "SIGKILL (killed); last output: crashlab: hanging")
    }

    @Test func aBannerIsNeverTheHeadline() {
        for output in [Self.stderr(Self.banner), Self.stderr("", Self.banner, ""), Self.stderr("  *** Signal 11: Backtracing from 0x1... done ***  ")] {
            let explanation = CrashExplainer.explain(DeathScene(termination: Self.ill, output: output))
            #expect(explanation.headline == "SIGILL (illegal instruction)")
            #expect(explanation.fingerprintBasis == ["how:SIGILL"])
        }
        // A line the program wrote before the banner is the last meaningful one.
        let said = CrashExplainer.explain(DeathScene(termination: Self.ill, output: Self.stderr("charging card 42", "", Self.banner, "")))
        #expect(said.headline == "SIGILL (illegal instruction); last output: charging card 42")
        #expect(said.fingerprintBasis == ["how:SIGILL", "said:charging card #"])
    }

    @Test func nothingWrittenAtAll() {
        #expect(CrashExplainer.explain(DeathScene(termination: Self.segv)).headline == "SIGSEGV (segmentation fault)")
        #expect(CrashExplainer.explain(DeathScene(termination: .exited(code: 1))).headline == "exit code 1")
        #expect(CrashExplainer.explain(DeathScene(termination: .signaled(signal: 40, coreDumped: false))).headline == "SIGRTMIN+6")
        let spawn = CrashExplainer.explain(DeathScene(termination: .spawnFailed(SpawnFailure(kind: .configuration, stage: "exec",
                                                                                         reason: "No such file or directory"))))
        #expect(spawn.headline == "spawn failed at exec: No such file or directory")
    }

    @Test func onlyWhitespaceWritten() {
        let output = [OutputLine(.stdout, "   "), OutputLine(.stderr, "\t"), OutputLine(.stderr, ""), OutputLine(.stdout, " \t ")]
        let explanation = CrashExplainer.explain(DeathScene(termination: .exited(code: 3), output: output))
        #expect(explanation.headline == "exit code 3")
        #expect(explanation.fingerprintBasis == ["how:exit 3"])
    }

    @Test func stderrIsPreferredAndStdoutServesWhenItIsAllThereIs() {
        let both = [OutputLine(.stderr, "error: disk full"), OutputLine(.stdout, "request 7 done")]
        #expect(CrashExplainer.explain(DeathScene(termination: .exited(code: 1), output: both)).headline
            == "exit code 1; last output: error: disk full")
        let stdoutOnly = [OutputLine(.stdout, "  request 7 done  ")]
        #expect(CrashExplainer.explain(DeathScene(termination: .exited(code: 1), output: stdoutOnly)).headline
            == "exit code 1; last output: request 7 done")
    }

    @Test func theBannerSplitByAMissingDirectoryErrorIsNoise() {
        // `output-to=` a missing directory, with the report itself lost (cut off): the helper's
        // complaint inside the banner and the banner's tail are neither a reason nor output.
        let output = Self.stderr("", "*** Signal 4: Backtracing from 0x561936744b02...swift-backtrace: unable to open /tmp/bt/no/such/dir for writing",
                                 " done ***", "")
        let explanation = CrashExplainer.explain(DeathScene(termination: Self.ill, output: output))
        #expect(explanation.headline == "SIGILL (illegal instruction)")
        #expect(BacktracerNoise.meaningful(output).isEmpty)
    }

    @Test func aJSONReportOnStderrCutInPiecesOrCutShort() throws {
        let report = String(decoding: try Self.fixture("release-overflow-add.json"), as: UTF8.self)
            .trimmingCharacters(in: "\n")
        // The daemon cuts lines at its limit: the pieces arrive as lines and are joined again.
        let middle = report.index(report.startIndex, offsetBy: report.count / 2)
        let pieces = Self.stderr("", Self.banner, "", String(report[..<middle]), String(report[middle...]))
        let joined = CrashExplainer.explain(DeathScene(termination: Self.ill, output: pieces))
        #expect(joined.headline == "Swift runtime trap: arithmetic overflow in RuntimeTraps.overflowAdd() (RuntimeTraps.swift:56)")
        // Only the first piece survived in the tail: its headline still names the check.
        let cut = CrashExplainer.explain(DeathScene(termination: Self.ill, output: Self.stderr("", Self.banner, "", String(report[..<middle]))))
        #expect(cut.headline == "Swift runtime trap: arithmetic overflow")
        #expect(!cut.fingerprintBasis.contains { $0.contains("timestamp") })
    }

    @Test func aSwiftFatalLineCountsOnlyForADeathBySignal() {
        // After an exit it is something the program printed, not a trap.
        let output = Self.stderr("App/Main.swift:3: Fatal error: config missing")
        let exited = CrashExplainer.explain(DeathScene(termination: .exited(code: 78), output: output))
        #expect(exited.fatalMessage == nil && exited.runtime == nil)
        #expect(exited.headline == "exit code 78; last output: App/Main.swift:3: Fatal error: config missing")
        // On stdout it is not the runtime's either (the runtime writes to stderr).
        let onStdout = CrashExplainer.explain(DeathScene(termination: Self.ill, output: [OutputLine(.stdout, "Fatal error: x")]))
        #expect(onStdout.fatalMessage == nil)
        let trapped = CrashExplainer.explain(DeathScene(termination: Self.ill, output: output))
        #expect(trapped.headline == "Fatal error: config missing at Main.swift:3")
    }

    @Test func aReportOfAnotherSignalIsNotTheCause() throws {
        // The process survived a SIGSEGV sent from outside (the runtime reports it and returns),
        // then died of a trap with no report of its own.
        let explanation = CrashExplainer.explain(DeathScene(termination: Self.ill,
                                                            swiftBacktraceJSON: try Self.fixture("release-null-deref.json")))
        #expect(explanation.headline == "SIGILL (illegal instruction)")
        #expect(explanation.threads.count == 1 && explanation.frames.isEmpty)
    }

    @Test func headlinesAreOneBoundedLine() {
        let long = "Fatal error: " + String(repeating: "x", count: 5000)
        let explanation = CrashExplainer.explain(DeathScene(termination: Self.ill, output: Self.stderr(long)))
        #expect(explanation.headline.count == Headline.maxLength + 1)
        #expect(explanation.headline.hasSuffix("…"))
        #expect(explanation.fatalMessage == long)   // the field keeps it whole
        #expect(Headline.bounded("a\u{1B}[31mb\r\n\tc") == "a [31mb c")
        #expect(Headline.bounded(" \n ") == "died without a word: no output, no report")
    }

    @Test func aCoreDumpPointsAtCoredumpctlOrTheFile() {
        let dumped = DeathScene(termination: .signaled(signal: 11, coreDumped: true), coreDump: .coredumpctl, pid: 4242)
        #expect(CrashExplainer.explain(dumped).detail("coredump") == "coredumpctl info 4242")
        let notDumped = DeathScene(termination: .signaled(signal: 11, coreDumped: false), coreDump: .coredumpctl, pid: 4242)
        #expect(CrashExplainer.explain(notDumped).detail("coredump") == nil)
        let nowhere = DeathScene(termination: .signaled(signal: 11, coreDumped: true), coreDump: nil, pid: 4242)
        #expect(CrashExplainer.explain(nowhere).detail("coredump") == nil)
        let file = DeathScene(termination: .signaled(signal: 11, coreDumped: true), coreDump: .file("/srv/api/core.4242"), pid: 4242)
        #expect(CrashExplainer.explain(file).detail("coredump") == "/srv/api/core.4242")
    }
}

extension String {
    /// Without the given characters at either end (the tests' stand-in for Foundation's).
    func trimmingCharacters(in characters: String) -> String {
        var text = Substring(self)
        while let first = text.first, characters.contains(first) { text = text.dropFirst() }
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

/// A Swift fatal line counts only with the deaths such a message ends in.
@Suite struct FatalMessageSignalTests {
    @Test func anOldFatalLineDoesNotExplainASegfault() throws {
        // A child's (or an earlier) trap message, then this process's own null dereference.
        var scene = try CrashFixtures.scene(mode: "debug", kind: "null-deref")
        scene.output.insert(OutputLine(.stderr, "Helper/Child.swift:9: Fatal error: child gave up"), at: 0)
        let explanation = CrashExplainer.explain(scene)
        #expect(explanation.headline == "null pointer dereference in MemoryFaults.nullDereference() (MemoryFaults.swift:45)")
        #expect(explanation.fatalMessage == nil)
    }

    @Test func aTrapWhoseBacktraceWasCutShortByAKillKeepsItsMessage() {
        let scene = DeathScene(termination: .signaled(signal: 9, coreDumped: false),
                               output: [OutputLine(.stderr, "App/Job.swift:12: Fatal error: ledger out of balance"),
                                        OutputLine(.stderr, ""), OutputLine(.stderr, "*** Signal 4: Backtracing from 0x55d1c3a2b1f4...")])
        #expect(CrashExplainer.explain(scene).headline == "Fatal error: ledger out of balance at Job.swift:12")
    }
}
