import Testing
@testable import BulkheadPolicy

/// SPEC §7: a storm of one crash writes a few reports and one "repeated N times" line now and
/// then, not a file and a journal entry per death; the first of a new fingerprint always gets
/// its report.
@Suite("Crash coalescing")
struct CrashCoalescerTests {
    static let segv = CrashCoalescer.Key(worker: "api", fingerprint: "f-segv", deathClass: .crash)
    static let settings = CrashCoalescer.Settings(window: .seconds(60), burst: 3, summaryEvery: .seconds(5), pidsPerSummary: 4)

    /// Feeds a death; answers the report id it got or was folded into (reports are named r1, r2…).
    static func die(_ c: inout CrashCoalescer, _ key: CrashCoalescer.Key = segv, pid: Int32, at t: Duration,
                    instance: String = "api:0", reports: inout Int) -> String {
        switch c.death(key, instance: iid(instance), pid: pid, at(t)) {
        case .report:
            reports += 1
            c.reported(key, reportID: "r\(reports)", headline: "killed by SIGSEGV", at(t))
            return "r\(reports)"
        case .repeatOf(let id):
            return id
        }
    }

    @Test("the first deaths of a fingerprint get reports; the rest fold into the last of them")
    func burstThenFold() {
        var c = CrashCoalescer(settings: Self.settings)
        var reports = 0
        let ids = (0..<10).map { Self.die(&c, pid: Int32(100 + $0), at: .milliseconds(50 * Int64($0)), reports: &reports) }
        #expect(ids == ["r1", "r2", "r3", "r3", "r3", "r3", "r3", "r3", "r3", "r3"])
        // Another fingerprint, another class, another worker: reports of their own at once.
        let abort = CrashCoalescer.Key(worker: "api", fingerprint: "f-abort", deathClass: .crash)
        let failed = CrashCoalescer.Key(worker: "api", fingerprint: "f-segv", deathClass: .persistent)
        let other = CrashCoalescer.Key(worker: "db", fingerprint: "f-segv", deathClass: .crash)
        for key in [abort, failed, other] {
            #expect(c.death(key, instance: iid("api:0"), pid: 1, at(.seconds(1))) == .report)
        }
    }

    @Test("one line per report at most every summaryEvery, with the count since the last and a bounded list of pids")
    func boundedSummaries() {
        var c = CrashCoalescer(settings: Self.settings)
        var reports = 0
        for i in 0..<3 { _ = Self.die(&c, pid: Int32(i), at: .zero, reports: &reports) }
        #expect(c.nextDeadline == nil, "nothing folded yet, nothing to say")
        for i in 0..<100 { _ = Self.die(&c, pid: Int32(1000 + i), at: .milliseconds(10 * Int64(i)), instance: "api:\(i % 7)", reports: &reports) }
        #expect(c.nextDeadline == at(.seconds(5)))
        #expect(c.takeDue(at(.seconds(4))).isEmpty)
        let first = c.takeDue(at(.seconds(5)))
        #expect(first.count == 1)
        #expect(first.first?.repeats == 100 && first.first?.totalRepeats == 100)
        #expect(first.first?.reportID == "r3" && first.first?.headline == "killed by SIGSEGV")
        #expect(first.first?.pids == [1000, 1001, 1002, 1003])
        #expect(first.first?.lastInstance == iid("api:1"))   // 99 % 7
        #expect(c.nextDeadline == nil)
        // Ten more, then a line for those ten only.
        for i in 0..<10 { _ = Self.die(&c, pid: Int32(2000 + i), at: .seconds(6), reports: &reports) }
        #expect(c.takeDue(at(.seconds(9))).isEmpty, "not before 5 s after the last line")
        let second = c.takeDue(at(.seconds(10)))
        #expect(second.map(\.repeats) == [10] && second.map(\.totalRepeats) == [110])
        #expect(second.first?.since == at(.seconds(5)))
    }

    @Test("a new window gives new reports, and what the last one folded is said at once")
    func windowRollsOver() {
        var c = CrashCoalescer(settings: Self.settings)
        var reports = 0
        for i in 0..<5 { _ = Self.die(&c, pid: Int32(i), at: .seconds(Int64(i)), reports: &reports) }
        #expect(reports == 3)
        _ = c.takeDue(at(.seconds(10)))
        _ = Self.die(&c, pid: 50, at: .seconds(20), reports: &reports)
        // 60 s after the window began: reports again, and the pending repeat is owed now.
        let id = Self.die(&c, pid: 51, at: .seconds(61), reports: &reports)
        #expect(id == "r4")
        #expect(c.nextDeadline == .zero)
        let owed = c.takeDue(at(.seconds(61)))
        #expect(owed.map(\.reportID) == ["r3"] && owed.map(\.repeats) == [1] && owed.first?.pids == [50])
    }

    @Test("shutdown says every line owed, due or not")
    func everythingAtShutdown() {
        var c = CrashCoalescer(settings: Self.settings)
        var reports = 0
        for i in 0..<4 { _ = Self.die(&c, pid: Int32(i), at: .zero, reports: &reports) }
        #expect(c.takeDue(at(.seconds(1))).isEmpty)
        #expect(c.takeDue(at(.seconds(1)), all: true).map(\.repeats) == [1])
        #expect(c.nextDeadline == nil)
    }

    @Test("a report that could not be queued is not folded into: the next death tries again")
    func unreportedDeathIsNotAReport() {
        var c = CrashCoalescer(settings: CrashCoalescer.Settings(burst: 1))
        // The caller could not write it (queue full): no `reported`.
        #expect(c.death(Self.segv, instance: iid("api:0"), pid: 1, .zero) == .report)
        #expect(c.death(Self.segv, instance: iid("api:0"), pid: 2, .zero) == .report)
        c.reported(Self.segv, reportID: "r1", headline: "x", .zero)
        #expect(c.death(Self.segv, instance: iid("api:0"), pid: 3, .zero) == .repeatOf(reportID: "r1"))
    }
}
