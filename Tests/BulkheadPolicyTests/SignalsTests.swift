import Testing
@testable import BulkheadPolicy

@Suite("Signals")
struct SignalsTests {
    @Test("names and numbers (generic Linux, x86_64 and arm64 agree)", arguments: [
        ("HUP", Int32(1)), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("BUS", 7), ("FPE", 8),
        ("KILL", 9), ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13), ("ALRM", 14), ("TERM", 15),
        ("CHLD", 17), ("CONT", 18), ("STOP", 19), ("XCPU", 24), ("XFSZ", 25), ("WINCH", 28), ("SYS", 31),
    ])
    func table(name: String, number: Int32) {
        #expect(Signals.number(name) == number)
        #expect(Signals.name(number) == name)
    }

    @Test("number accepts TERM, SIGTERM, sigterm and 15", arguments: ["TERM", "SIGTERM", "sigterm", "Term", "15"])
    func spellings(text: String) {
        #expect(Signals.number(text) == 15)
    }

    @Test("number rejects what is not a signal", arguments: ["", "SIG", "NOPE", "0", "-9", "65", "SIGSIGTERM", " TERM"])
    func rejects(text: String) {
        #expect(Signals.number(text) == nil)
    }

    @Test("any number 1...64 is accepted as is")
    func numericRange() {
        #expect(Signals.number("1") == 1)
        #expect(Signals.number("34") == 34)
        #expect(Signals.number("64") == 64)
    }

    @Test("names for real-time and unknown numbers")
    func otherNames() {
        #expect(Signals.name(34) == "RTMIN+0")
        #expect(Signals.name(40) == "RTMIN+6")
        #expect(Signals.name(64) == "RTMIN+30")
        #expect(Signals.name(32) == "32")
        #expect(Signals.name(0) == "0")
        #expect(Signals.name(99) == "99")
    }

    @Test("the named constants and the crash and limit sets")
    func sets() {
        #expect(Signals.terminate == 15 && Signals.kill == 9 && Signals.quit == 3 && Signals.interrupt == 2 && Signals.hangup == 1)
        #expect(Set(Signals.crashSignals.map(Signals.name)) == ["ILL", "TRAP", "ABRT", "SEGV", "BUS", "FPE", "SYS"])
        #expect(Set(Signals.limitSignals.map(Signals.name)) == ["XCPU", "XFSZ"])
        #expect(Signals.crashSignals.isDisjoint(with: Signals.limitSignals))
        #expect(Set(Signals.table.map(\.number)).count == Signals.table.count, "no number twice")
        #expect(Set(Signals.table.map(\.name)).count == Signals.table.count, "no name twice")
    }
}
