import Testing
@testable import BulkheadForensics

@Suite struct CrashBlockMarkersTests {
    static func marks(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { CrashBlockMarkers.isBlockStart(UnsafeRawBufferPointer($0)) }
    }

    static let starts = [
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "fatal error: concurrent map writes",
        "SIGSEGV: segmentation violation",
        "thread 'main' (27483) panicked at index_oob.rs:7:5:",
        "thread 'main' panicked at 'index out of bounds: the len is 3 but the index is 5', index_oob.rs:7:5",
        "thread 'main' has overflowed its stack",
        "fatal runtime error: stack overflow, aborting",
        "Traceback (most recent call last):",
        "Fatal Python error: Segmentation fault",
        "Exception in thread \"main\" java.lang.NullPointerException",
        "terminate called after throwing an instance of 'std::runtime_error'",
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        "Uncaught TypeError: Cannot read properties of null (reading 'id')",
        "=================================================================",
        "=== REDIS BUG REPORT START: Cut & paste starting from here ===",
    ]

    @Test(arguments: starts)
    func marksBlockStarts(_ line: String) {
        #expect(Self.marks(line))
    }

    /// Marking may be generous (a pinned line that starts no block costs nothing: the
    /// recogniser decides), so `Uncaught …` log lines are marked and are left out here.
    static let notStarts = RobustnessTests.ordinaryLogLines.filter { !$0.hasPrefix("Uncaught") } + [
        "", "p", "pani", "panic:", "panicked", " panic: indented", "\tpanic: nested (not a start)", "fatal: not go",
        "thread pool started", "terminate called", "Trace", "Exception in threads", "==28959==ABORTING",
        "=== REDIS BUG REPORT END. Make sure to include from START to END. ===", "SIG", "SIGNAL received", "SIGTERM",
        "SIGTERMINATE_NOW_PLEASE: ok", "Uncaught", "FATAL", "goroutine 1 [running]:", "    at listenPort (/srv/app/server.js:6:24)",
        "\tat NullCharge.charge(NullCharge.java:16)", "free(): double free detected in tcache 2",
    ]

    @Test(arguments: notStarts)
    func leavesOtherLines(_ line: String) {
        #expect(!Self.marks(line))
    }

    /// The head of every long block in the real captures is a marked line, so the daemon can
    /// pin it; the blocks it does not mark are a few lines long.
    @Test(arguments: fixtureExpectations.map(\.name))
    func realBlocksStartOnAMarkedLine(_ name: String) throws {
        let lines = try RuntimeFixtures.lines(name)
        let crash = try #require(RuntimeCrashRecognizer.recognise(lines))
        let block = lines[crash.lines].filter { $0.stream == crash.stream }
        if let marked = block.firstIndex(where: { Self.marks($0.text) }) {
            #expect(marked <= 2, "the first marked line is the block's head, or its second or third line")
        } else {
            #expect(block.count <= 20, "\(name): a \(block.count)-line block nothing marks")
        }
    }

    /// A debug build's figure, to catch a gross regression; `scripts/bench-forensics` measures
    /// the optimised one (3.4–3.8 ns a line).
    @Test func cheapEvenInADebugBuild() {
        let lines = (Self.notStarts + Self.starts).map { Array($0.utf8) }
        let rounds = 20_000
        var matched = 0
        let elapsed = ContinuousClock().measure {
            for _ in 0..<rounds {
                for line in lines {
                    line.withUnsafeBytes { if CrashBlockMarkers.isBlockStart($0) { matched += 1 } }
                }
            }
        }
        #expect(matched == rounds * Self.starts.count)
        let perLine = elapsed / (rounds * lines.count)
        // Generous: the tests run beside builds and daemons on two cores. A per-line cost that
        // grew with the line (a scan, an allocation) would be far past this.
        #expect(perLine < .microseconds(20), "isBlockStart took \(perLine) a line")
        print("isBlockStart (debug build): \(perLine) a line")
    }
}
