import Testing
@testable import BulkheadForensics

/// What the daemon's window can look like besides a clean capture: cut short, holding two
/// blocks, holding log lines that merely mention a panic, thousands of goroutines, lines cut
/// at the daemon's maximum length, bytes that are not UTF-8.
@Suite struct RobustnessTests {
    // MARK: Truncated blocks

    /// Every capture cut after each line of its block: never a different runtime, and once a
    /// few lines are in, the same runtime and kind (what the daemon sees of a process killed
    /// while it was still printing).
    @Test(arguments: fixtureExpectations.filter { !$0.name.contains(".") })
    func cutAnywhereInTheBlock(_ expected: FixtureExpectation) throws {
        let lines = try RuntimeFixtures.lines(expected.name)
        let full = try #require(RuntimeCrashRecognizer.recognise(lines))
        // Redis prints a failed assertion's client and object context before the assertion.
        let settled = expected.name == "redis-debug-assert" ? 13 : 6
        for cut in (full.lines.lowerBound + 1)...lines.count {
            let crash = RuntimeCrashRecognizer.recognise(Array(lines[..<cut]))
            if let crash { #expect(crash.runtime == expected.runtime, "cut at \(cut)") }
            if cut >= full.lines.lowerBound + settled {
                #expect(crash?.kind == expected.kind, "cut at \(cut)")
            }
        }
    }

    @Test func goPanicLineAloneIsStillAPanic() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(err("panic: runtime error: slice bounds out of range [:7] with capacity 4")))
        #expect(crash.runtime == .go)
        #expect(crash.headline == "Go panic: runtime error: slice bounds out of range [:7] with capacity 4")
        #expect(crash.frames.isEmpty)
        #expect(crash.isCrash)
    }

    @Test func pythonTracebackCutBeforeTheException() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            Traceback (most recent call last):
              File "/srv/app/worker.py", line 40, in <module>
                main()
              File "/srv/app/worker.py", line 31, in main
            """)))
        #expect(crash.runtime == .python)
        #expect(crash.exceptionType == nil)
        #expect(crash.site == CrashSite(function: "main", file: "worker.py", line: 31))
    }

    /// The daemon's window: the pinned head of the block, then the tail, with a gap between.
    @Test(arguments: ["go-goroutines", "java-caused-by", "python-chained", "redis-debug-segfault", "c-asan-use-after-free",
                      "rust-explicit-panic.backtrace"])
    func headAndTailWithAGap(_ name: String) throws {
        let lines = try RuntimeFixtures.lines(name)
        let whole = try #require(RuntimeCrashRecognizer.recognise(lines))
        let window = daemonWindow(lines, headLines: 12, tailLines: 8)
        #expect(window.count < lines.count)
        let found = RuntimeCrashRecognizer.recognise(window)
        let crash = try #require(found)
        #expect(crash.runtime == whole.runtime)
        #expect(crash.kind == whole.kind)
        if name != "python-chained" && name != "rust-explicit-panic.backtrace" {
            // Tracebacks whose message is at the end keep it; chains lose the middle links.
            #expect(crash.headline == whole.headline)
        }
    }

    @Test(arguments: fixtureExpectations.map(\.name))
    func recommendedWindowGivesTheWholeAnswer(_ name: String) throws {
        let lines = try RuntimeFixtures.lines(name)
        let whole = try #require(RuntimeCrashRecognizer.recognise(lines))
        let found = RuntimeCrashRecognizer.recognise(daemonWindow(lines))
        let crash = try #require(found)
        #expect(crash.headline == whole.headline)
        #expect(crash.fingerprintBasis == whole.fingerprintBasis)
    }

    // MARK: Two blocks in one window

    @Test func theLastBlockWins() throws {
        let go = try RuntimeFixtures.lines("go-nil-pointer")
        let python = try RuntimeFixtures.lines("python-type-error")
        let goThenPython = RuntimeCrashRecognizer.recognise(go + python)
        let pythonThenGo = RuntimeCrashRecognizer.recognise(python + go)
        #expect(goThenPython?.runtime == .python)
        #expect(pythonThenGo?.runtime == .go)
        // The same runtime twice: the second block, and the first no longer ends the output.
        let twice = try #require(RuntimeCrashRecognizer.recognise(go + go))
        #expect(twice.lines.lowerBound >= go.count)
    }

    @Test func blocksOnBothStreamsTheLaterWins() throws {
        let stdoutTraceback = try RuntimeFixtures.stream("python-type-error", .stderr).map { OutputLine(.stdout, $0.text) }
        let stderrPanic = try RuntimeFixtures.lines("go-index-out-of-range")
        let pythonFirst = RuntimeCrashRecognizer.recognise(stdoutTraceback + stderrPanic)
        let goFirst = RuntimeCrashRecognizer.recognise(stderrPanic + stdoutTraceback)
        #expect(pythonFirst?.runtime == .go)
        #expect(goFirst?.runtime == .python)
    }

    /// A Java message whose second line reads like a Go panic is still the Java exception.
    @Test func aBlockInsideAnotherBelongsToIt() throws {
        let crash = try #require(RuntimeCrashRecognizer.recognise(stderrBlock("""
            Exception in thread "main" java.lang.IllegalStateException: upstream said:
            panic: runtime error: invalid memory address or nil pointer dereference
            \tat com.acme.Client.call(Client.java:88)
            \tat com.acme.Main.main(Main.java:12)
            """)))
        #expect(crash.runtime == .jvm)
        #expect(crash.message == "upstream said:\npanic: runtime error: invalid memory address or nil pointer dereference")
        #expect(crash.headline.hasPrefix("JVM uncaught java.lang.IllegalStateException: upstream said: panic: runtime error"))
    }

    // MARK: Crash-looking text that is not a crash block

    static let ordinaryLogLines = [
        "2026-12-07T11:49:26Z INFO handler recovered: panic: runtime error: index out of range",
        "level=error msg=\"fatal error: disk full\" component=store",
        "  Traceback (most recent call last): is what the user pasted",
        "user 4711 wrote: thread 'main' panicked at src/main.rs:3:5:",
        "GET /api/v1/orders?q=Exception in thread \"main\" 200 12ms",
        "[2026-12-07 11:49:26] WARN terminate called after throwing is a C++ message",
        "{\"level\":\"error\",\"msg\":\"Traceback (most recent call last):\"}",
        "INFO: request id 3f2a9c1e-4b2e-11ee-be56-0242ac120002 done",
        "retrying in 5s (attempt 3 of 10)",
        "==> /var/log/app.log <==",
        "    at the moment nothing is wrong",
        "SIGTERM received, shutting down",
        "free() called on a buffer we own; ok",
        "runtime error: none, all good",
        "Uncaught exceptions: 0",
        "Uncaught TypeError in handler, continuing",
    ]

    @Test(arguments: ordinaryLogLines)
    func logLinesThatMentionCrashesAreNotBlocks(_ line: String) {
        let alone = RuntimeCrashRecognizer.recognise([OutputLine(.stderr, line)])
        #expect(alone == nil)
        let amongOthers = RuntimeCrashRecognizer.recognise(Self.ordinaryLogLines.map { OutputLine(.stdout, $0) })
        #expect(amongOthers == nil)
    }

    /// A shell script's own `panic: …` line followed by more log lines is not Go's.
    @Test func aScriptsPanicLineIsNotGo() {
        #expect(RuntimeCrashRecognizer.recognise(err("panic: disk full", "cleanup: removing /tmp/job", "cleanup: done")) == nil)
        #expect(RuntimeCrashRecognizer.recognise(err("panic: disk full", "details follow", "and more")) == nil)
    }

    @Test func noCrashBlockIsNil() throws {
        #expect(RuntimeCrashRecognizer.recognise([]) == nil)
        #expect(RuntimeCrashRecognizer.recognise(out("billing: starting", "billing: 3 accounts", "billing: done")) == nil)
        #expect(RuntimeCrashRecognizer.recognise(err("", "", "   ")) == nil)
        // The programs' own chatter, before their crash blocks.
        for name in ["go-nil-pointer", "python-type-error", "node-type-error", "redis-debug-segfault"] {
            let lines = try RuntimeFixtures.lines(name)
            let crash = try #require(RuntimeCrashRecognizer.recognise(lines))
            #expect(RuntimeCrashRecognizer.recognise(Array(lines[..<crash.lines.lowerBound])) == nil, "\(name)")
        }
    }

    // MARK: Blocks the process went on after

    @Test func loggedTracebackIsNotTheCrash() throws {
        let lines = stderrBlock("""
            ERROR:root:charge failed, will retry
            Traceback (most recent call last):
              File "/srv/app/billing.py", line 12, in charge
                gateway.post(order)
            ConnectionResetError: [Errno 104] Connection reset by peer
            INFO:root:retrying charge 81723
            """)
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines))
        #expect(crash.exceptionType == "ConnectionResetError")
        #expect(!crash.endsOutput)
        #expect(!crash.isCrash)
    }

    @Test func otherThreadsPanicWhileMainGoesOn() throws {
        let lines = err("thread 'poller' panicked at src/poll.rs:40:9:", "called `Result::unwrap()` on an `Err` value: Timeout",
                        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace", "poller restarted")
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines))
        #expect(crash.headline == "Rust panic in thread 'poller': called `Result::unwrap()` on an `Err` value: Timeout at src/poll.rs:40")
        #expect(!crash.isCrash)
        // A shell's note that its child died, or a blank line, does not count as going on.
        let ended = err("thread 'main' panicked at src/main.rs:2:5:", "boom", "", "bash: line 1:  4242 Aborted  (core dumped) ./app")
        #expect(RuntimeCrashRecognizer.recognise(ended)?.isCrash == true)
    }

    @Test func otherStreamGoingOnDoesNotMatter() throws {
        var lines = try RuntimeFixtures.lines("java-null-pointer")
        lines.append(OutputLine(.stdout, "billing: flushing"))
        #expect(RuntimeCrashRecognizer.recognise(lines)?.isCrash == true)
    }

    // MARK: Thousands of goroutines

    /// A real 40-goroutine trace grown to 2,000 goroutines (12,000 lines, ~560 KiB), as
    /// GOTRACEBACK=all or a fatal error prints them.
    static func twoThousandGoroutines() throws -> [OutputLine] {
        let lines = try RuntimeFixtures.lines("go-goroutines")
        let firstOther = try #require(lines.firstIndex { $0.text.hasPrefix("goroutine ") && !$0.text.hasPrefix("goroutine 1 ") })
        let stanza = Array(lines[firstOther..<(firstOther + 6)])
        var grown = Array(lines[..<firstOther])
        for id in 0..<2000 {
            for line in stanza {
                let text = line.text.hasPrefix("goroutine ") ? "goroutine \(id + 100) [chan receive]:" : line.text
                grown.append(OutputLine(line.stream, text))
            }
        }
        return grown
    }

    @Test func twoThousandGoroutinesQuickly() throws {
        let lines = try Self.twoThousandGoroutines()
        #expect(lines.count > 12_000)
        let clock = ContinuousClock()
        var crash: RecognisedCrash?
        // The best of three: the tests run in parallel on shared cores, and this is a debug build.
        let elapsed = (0..<3).map { _ in clock.measure { crash = RuntimeCrashRecognizer.recognise(lines) } }.min() ?? .zero
        let recognised = try #require(crash)
        #expect(recognised.headline == "Go panic: settlement left 40 transfers pending at main.settle (main.go:21)")
        #expect(recognised.frames.count == 2)
        #expect(recognised.isCrash)
        // Generous (a debug build beside other tests); a quadratic walk would take seconds.
        #expect(elapsed < .seconds(2), "recognise took \(elapsed) on \(lines.count) lines")
        let window = daemonWindow(lines)
        let windowed = clock.measure { crash = RuntimeCrashRecognizer.recognise(window) }
        #expect(crash?.headline == recognised.headline)
        print("recognise: 2000-goroutine trace, \(lines.count) lines: \(elapsed); daemon window of \(window.count) lines: \(windowed)")
    }

    // MARK: Lines cut at the daemon's maximum length (WorkerLauncher.maxLine, 32 KiB)

    static let maxLine = 32 << 10

    /// A line as the daemon's splitter delivers it: pieces of at most `maxLine` bytes.
    static func pieces(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: maxLine).map {
            String(decoding: bytes[$0..<min($0 + maxLine, bytes.count)], as: UTF8.self)
        }
    }

    @Test func hugeMessageCutIntoPieces() throws {
        let payload = String(repeating: "{\"order\": 81723, \"note\": \"é\"}, ", count: 4000)  // ~128 KiB, é split across a cut
        let lines = [
            "Traceback (most recent call last):",
            "  File \"/srv/app/orders.py\", line 9, in <module>",
            "    check(orders)",
        ] + Self.pieces("ValueError: bad batch: " + payload)
        #expect(lines.count > 6)
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines.map { OutputLine(.stderr, $0) }))
        #expect(crash.exceptionType == "ValueError")
        #expect(crash.isCrash)
        #expect(crash.headline.count < 400)
        #expect(crash.fingerprintBasis.allSatisfy { $0.utf8.count <= CrashTextMask.maxBytes + 16 })
    }

    @Test func hugeGoPanicLine() throws {
        let lines = Self.pieces("panic: " + String(repeating: "x", count: 100_000)) + ["", "goroutine 1 [running]:", "main.main()",
                                                                                      "\t/src/app/main.go:9 +0x1d"]
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines.map { OutputLine(.stderr, $0) }))
        #expect(crash.runtime == .go)
        #expect(crash.site == CrashSite(function: "main.main", file: "main.go", line: 9))
        #expect(crash.headline.count < 400)
    }

    @Test func headerCutMidLine() throws {
        // The daemon kept the first 32 KiB of a JVM header line; the rest came as a second line.
        let header = "Exception in thread \"main\" java.lang.IllegalArgumentException: " + String(repeating: "k=v;", count: 10_000)
        let lines = Self.pieces(header) + ["\tat com.acme.Config.parse(Config.java:77)", "\tat com.acme.Main.main(Main.java:5)"]
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines.map { OutputLine(.stderr, $0) }))
        #expect(crash.exceptionType == "java.lang.IllegalArgumentException")
        #expect(crash.site == CrashSite(function: "com.acme.Config.parse", file: "Config.java", line: 77))
    }

    // MARK: Bytes that are not UTF-8

    @Test func junkBytesAroundAndInsideABlock() throws {
        let junk = String(decoding: [0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xe2, 0x82], as: UTF8.self)
        var lines = try RuntimeFixtures.lines("go-nil-pointer")
        lines.insert(OutputLine(.stderr, junk), at: 0)
        lines.insert(OutputLine(.stdout, junk), at: 3)
        lines.append(OutputLine(.stdout, junk))
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines))
        #expect(crash.headline == "Go panic: runtime error: invalid memory address or nil pointer dereference at main.charge (main.go:14)")
        // Junk in the message itself.
        let message = try #require(RuntimeCrashRecognizer.recognise(err("panic: bad input " + junk, "", "goroutine 1 [running]:")))
        #expect(message.message == "bad input " + junk)
    }

    /// Random bytes with crash markers sprinkled in: no trap, no hang.
    @Test func fuzzedWindows() {
        var random = SplitMix(seed: 16)
        let fragments = ["panic: ", "fatal error: ", "thread '", "' panicked at ", "Traceback (most recent call last):", "  File \"",
                         "\", line ", "Exception in thread \"", "\tat ", "Caused by: ", "terminate called after throwing an instance of '",
                         "  what():  ", "==1==ERROR: AddressSanitizer: ", "    #0 0x", " in ", "=== REDIS BUG REPORT START",
                         "goroutine ", "\t", ":", "(", ")", "^", "    at ", "Node.js v", "[signal ", "SIGSEGV: ", "PC=", "runtime: ",
                         "': ", "', ", "Assertion `", "' failed.", "free(): ", "\n", " ", "0x1f", "12"]
        for _ in 0..<300 {
            var lines: [OutputLine] = []
            for _ in 0..<Int(random.next() % 60) {
                var text = ""
                for _ in 0..<Int(random.next() % 6) {
                    if random.next() % 3 == 0 {
                        let bytes = (0..<Int(random.next() % 12)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                        text += String(decoding: bytes, as: UTF8.self)
                    } else {
                        text += fragments[Int(random.next() % UInt64(fragments.count))]
                    }
                }
                lines.append(OutputLine(random.next() % 4 == 0 ? .stdout : .stderr, text))
            }
            if let crash = RuntimeCrashRecognizer.recognise(lines) {
                #expect(!crash.headline.isEmpty)
                #expect(crash.lines.upperBound <= lines.count)
            }
        }
    }
}

/// A small seeded generator, so a fuzz failure replays.
struct SplitMix {
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
