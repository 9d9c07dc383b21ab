import ArgumentParser
import BulkheadControl
import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The reliability report: deaths by class, detect latency, MTTR, self-heal rate, top crash fingerprints.",
        discussion: """
        Per worker and in all, over the last DURATION (default 24h): deaths by class; detect \
        latency (death → noticed) p50/p99; MTTR (death → ready again) p50/p99; the self-heal rate \
        (deaths followed by a ready instance and a stable run — backoff.reset_after — with no \
        operator command between); deaths that needed an operator (failed, quarantined, or a \
        command before it was ready again) and how long instances stayed failed or quarantined; \
        and the most frequent crash fingerprints with one report id each. Computed from the \
        history in state_dir/reliability.jsonl, which outlives the daemon (events.report_records).

        Examples:
          bulkhead report
          bulkhead report --since 7d api
          bulkhead report --json | jq '.workers[] | {worker, self_heal_rate}'
        """
    )

    @Argument(help: "Workers or instances (default: all).", completion: .custom(CLI.completeNames))
    var names: [String] = []

    @Option(name: .long, help: ArgumentHelp("The period: the last DURATION (90m, 24h, 7d).", valueName: "duration"))
    var since = "24h"

    @Option(name: .long, help: "How many crash fingerprints to list.")
    var top = 10

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard Units.duration(since) != nil else { throw ValidationError("--since takes a duration such as 90m, 24h or 7d") }
        guard top >= 0 && top <= 1000 else { throw ValidationError("--top takes 0 to 1000") }
    }

    func run() throws {
        let result = try connection.call("report", names.isEmpty ? [] : [("names", .array(names.map(JSON.string)))])
        let now = result["now_ns"]?.int ?? WallClockText.now()
        let period = Units.duration(since) ?? .seconds(86_400)
        let records = (result["records"]?.array ?? []).compactMap(ReliabilityRecordCoding.decode)
        let report = ReliabilityReport(records: records, since: now - Int64(clamping: period.nanoseconds), now: now, names: names, topFingerprints: top)
        if json {
            CLI.printJSON(ReportText.json(report))
        } else {
            try? FileDescriptor.standardOutput.writeAll(Array(ReportText.render(report, period: since).utf8))
        }
    }
}

/// The report for a person, and as JSON.
enum ReportText {
    static func render(_ r: ReliabilityReport, period: String) -> String {
        let from = r.sinceNanoseconds.map { TextFormat.localTime(WallClockText.iso8601($0)) } ?? "the start"
        let to = TextFormat.localTime(WallClockText.iso8601(r.untilNanoseconds))
        var out = "bulkhead report: the last \(period) (\(from) → \(to)): \(r.total.deaths) death\(r.total.deaths == 1 ? "" : "s")\n"
        guard r.total.deaths > 0 else { return out + "no worker died in this period\n" }
        out += "\n"
        var table = TextTable(["WORKER", "DEATHS", "BY CLASS", "DETECT p50/p99", "MTTR p50/p99", "SELF-HEALED", "OPERATOR", "FAILED/QUARANTINED"])
        for figures in r.workers + (r.workers.count > 1 ? [r.total] : []) {
            table.add(row(figures))
        }
        out += table.render(width: nil)
        if !r.fingerprints.isEmpty {
            out += "\ntop crash fingerprints:\n"
            var prints = TextTable(["COUNT", "WORKER", "CLASS", "FIRST SEEN", "LAST SEEN", "FINGERPRINT", "EXAMPLE", "HEADLINE"])
            for f in r.fingerprints {
                prints.add([
                    "\(f.count)", f.worker, f.deathClass.rawValue, TextFormat.localTime(WallClockText.iso8601(f.firstNanoseconds)),
                    TextFormat.localTime(WallClockText.iso8601(f.lastNanoseconds)), String(f.fingerprint.prefix(12)),
                    f.exampleCrashID ?? "-", f.headline,
                ])
            }
            out += prints.render()
        }
        return out
    }

    static func row(_ f: ReliabilityReport.Figures) -> [String] {
        let classes = DeathClass.allCases.compactMap { c in f.byClass[c].map { "\(c.rawValue) \($0)" } }.joined(separator: ", ")
        let detect = f.detectMicroseconds.map { "\(micro($0.p50)) / \(micro($0.p99))" } ?? "-"
        let mttr = f.recoveryMilliseconds.map { "\(DurationText.short(milliseconds: $0.p50)) / \(DurationText.short(milliseconds: $0.p99))" } ?? "-"
        let healed = "\(f.selfHealed)/\(f.deaths) (\(percent(f.selfHealRate)))"
        var down: [String] = []
        if f.failedMilliseconds > 0 { down.append("failed \(DurationText.short(milliseconds: f.failedMilliseconds))") }
        if f.quarantinedMilliseconds > 0 { down.append("quarantined \(DurationText.short(milliseconds: f.quarantinedMilliseconds))") }
        if !f.stillDown.isEmpty { down.append("still: " + f.stillDown.map(\.description).joined(separator: " ")) }
        return [f.name, "\(f.deaths)", classes, detect, mttr, healed, "\(f.operatorNeeded)", down.isEmpty ? "-" : down.joined(separator: "; ")]
    }

    /// `42us`, `1.3ms`, `2.5s`.
    static func micro(_ us: Int64) -> String {
        if us < 1000 { return "\(us)us" }
        if us < 10_000 { return "\(us / 1000).\(us / 100 % 10)ms" }
        return DurationText.short(milliseconds: us / 1000)
    }

    static func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        return "\(Int((rate * 100).rounded()))%"
    }

    static func json(_ r: ReliabilityReport) -> JSON {
        func percentiles(_ p: ReliabilityReport.Percentiles?) -> JSON {
            guard let p else { return .null }
            return .object([("p50", .int(p.p50)), ("p99", .int(p.p99)), ("count", .int(Int64(p.count)))])
        }
        func figures(_ f: ReliabilityReport.Figures) -> JSON {
            .object([
                ("worker", .string(f.name)),
                ("deaths", .int(Int64(f.deaths))),
                ("by_class", .object(DeathClass.allCases.map { ($0.rawValue, .int(Int64(f.byClass[$0] ?? 0))) })),
                ("detect_latency_us", percentiles(f.detectMicroseconds)),
                ("mttr_ms", percentiles(f.recoveryMilliseconds)),
                ("recovered", .int(Int64(f.recovered))),
                ("self_healed", .int(Int64(f.selfHealed))),
                ("self_heal_rate", f.selfHealRate.map(JSON.double) ?? .null),
                ("operator_needed", .int(Int64(f.operatorNeeded))),
                ("failed_ms", .int(f.failedMilliseconds)),
                ("quarantined_ms", .int(f.quarantinedMilliseconds)),
                ("still_down", .array(f.stillDown.map { .string($0.description) })),
            ])
        }
        return .object([
            ("since", r.sinceNanoseconds.map { .string(WallClockText.iso8601($0)) } ?? .null),
            ("until", .string(WallClockText.iso8601(r.untilNanoseconds))),
            ("workers", .array(r.workers.map(figures))),
            ("total", figures(r.total)),
            ("fingerprints", .array(r.fingerprints.map { f in
                .object([
                    ("fingerprint", .string(f.fingerprint)), ("worker", .string(f.worker)), ("class", .string(f.deathClass.rawValue)),
                    ("count", .int(Int64(f.count))), ("first_seen", .string(WallClockText.iso8601(f.firstNanoseconds))),
                    ("last_seen", .string(WallClockText.iso8601(f.lastNanoseconds))), ("headline", .string(f.headline)),
                    ("example_crash_id", f.exampleCrashID.map(JSON.string) ?? .null),
                ])
            })),
        ])
    }
}
