import Testing
@testable import BulkheadPolicy

/// `bulkhead report`'s arithmetic (SPEC §11) over a history with known deaths.
@Suite("Reliability report")
struct ReliabilityReportTests {
    static let second: Int64 = 1_000_000_000

    static func death(_ id: String, _ t: Double, _ c: DeathClass, fingerprint: String = "f1", detect: Int64 = 50, crash: String? = nil) -> ReliabilityRecord {
        ReliabilityRecord(kind: .death, wallNanoseconds: Int64((t * 1000).rounded()) * 1_000_000, instance: iid(id), deathClass: c, fingerprint: fingerprint,
                          headline: "h-\(fingerprint)", crashID: crash ?? "c\(t)", detectMicroseconds: detect, stableAfterMilliseconds: 2000)
    }

    static func event(_ kind: ReliabilityRecord.Kind, _ id: String, _ t: Double, command: String? = nil) -> ReliabilityRecord {
        ReliabilityRecord(kind: kind, wallNanoseconds: Int64((t * 1000).rounded()) * 1_000_000, instance: iid(id), command: command)
    }

    @Test("10 traps, 3 hangs, 1 quarantine: classes, MTTR, self-heal, operator time, fingerprints")
    func knownScenario() {
        var records: [ReliabilityRecord] = []
        var t = 0.0
        // Ten traps, each restarted 10 ms later, each run dying after 0.5 s (not stable: 2 s).
        for _ in 0..<10 {
            records.append(Self.death("api:0", t, .crash, fingerprint: "trap", detect: 40))
            records.append(Self.event(.ready, "api:0", t + 0.01))
            t += 0.5
        }
        // Three hangs, each run before it lasting 3 s: the ten traps' last death and the first
        // two hangs were followed by a stable run.
        t += 2.5
        for _ in 0..<3 {
            records.append(Self.death("api:0", t, .hang, fingerprint: "hang", detect: 100))
            records.append(Self.event(.ready, "api:0", t + 0.01))
            t += 3
        }
        // A corruption straight after the last hang's restart: quarantined, reset after 60 s.
        let corruptionAt = t - 3 + 0.02
        records.append(Self.death("api:0", corruptionAt, .corruption, fingerprint: "corrupt", detect: 60))
        records.append(Self.event(.quarantined, "api:0", corruptionAt))
        records.append(Self.event(.command, "api:0", corruptionAt + 60, command: "reset"))
        records.append(Self.event(.ready, "api:0", corruptionAt + 60.01))
        // A worker that is not asked for.
        records.append(Self.death("db:0", 1, .transient))

        let report = ReliabilityReport(records: records, since: 0, now: Int64(((corruptionAt + 100) * 1000).rounded()) * 1_000_000, names: ["api"])
        let api = report.workers[0]
        #expect(report.workers.map(\.name) == ["api"])
        #expect(api.deaths == 14)
        #expect(api.byClass == [.crash: 10, .hang: 3, .corruption: 1])
        #expect(api.detectMicroseconds == ReliabilityReport.Percentiles([Int64](repeating: 40, count: 10) + [100, 100, 100, 60]))
        #expect(api.detectMicroseconds?.p50 == 40)
        #expect(api.detectMicroseconds?.p99 == 100)
        #expect(api.recovered == 14)
        #expect(api.recoveryMilliseconds?.p50 == 10)
        #expect(api.recoveryMilliseconds?.p99 == 60_010, "the quarantine: ready again only after the operator's reset")
        // Healed: the last trap (3 s until the first hang) and the first two hangs (3 s runs).
        #expect(api.selfHealed == 3)
        #expect(api.operatorNeeded == 1)
        #expect(api.quarantinedMilliseconds == 60_000)
        #expect(api.failedMilliseconds == 0)
        #expect(api.stillDown.isEmpty)
        #expect(report.fingerprints.map(\.fingerprint) == ["trap", "hang", "corrupt"])
        #expect(report.fingerprints[0].count == 10)
        #expect(report.fingerprints[0].exampleCrashID == records[18].crashID, "the newest trap's report")
        #expect(report.fingerprints[0].firstNanoseconds == 0)
    }

    @Test("an instance still failed at the end counts its time so far; the period cuts older deaths")
    func stillDownAndPeriod() {
        let records = [
            Self.death("w:0", 1, .crash),
            Self.event(.ready, "w:0", 1.1),
            Self.death("w:0", 100, .persistent),
            Self.event(.failed, "w:0", 100),
        ]
        let report = ReliabilityReport(records: records, since: 50 * Self.second, now: 160 * Self.second)
        #expect(report.total.deaths == 1)
        #expect(report.total.failedMilliseconds == 60_000)
        #expect(report.total.stillDown == [iid("w:0")])
        #expect(report.total.recoveryMilliseconds == nil)
        #expect(report.total.selfHealRate == 0)
    }

    @Test("an operator's restart before ready makes a death operator-needed, not self-healed")
    func operatorBeforeReady() {
        let records = [
            Self.death("w:0", 1, .crash),
            Self.event(.command, "w:0", 1.5, command: "restart"),
            Self.event(.ready, "w:0", 2),
        ]
        let report = ReliabilityReport(records: records, since: nil, now: 100 * Self.second)
        #expect(report.total.operatorNeeded == 1)
        #expect(report.total.selfHealed == 0)
        #expect(report.total.recovered == 1)
    }
}
