import BulkheadPolicy
import Testing
@testable import BulkheadConfig

/// Issue 12: a value `check-config` accepts must never kill the daemon, so every number,
/// duration and size has a range, and every one is enforced. Driven by `ConfigRanges.all`, so a
/// key added to the table is tested without a new line here.
@Suite("Every number, duration and size has a range")
struct ConfigRangesTests {
    /// A config that sets `entry`'s key to `value` (written as YAML), in one worker or at the top.
    static func config(_ entry: ConfigRanges.Entry, _ value: String) -> String {
        let key = entry.key
        if key.hasPrefix("crash_reports.") || key.hasPrefix("output.") {
            let parts = key.split(separator: ".")
            return "\(parts[0]):\n  \(parts[1]): \(value)\n" + oneWorker()
        }
        switch key {
        case "workers[].instances": return oneWorker("    instances: \(value)")
        case "ready (a duration)": return oneWorker("    ready: \(value)")
        case "rules[].when.exit_code": return oneWorker("    rules:", "      - { when: { exit_code: [\(value)] }, then: transient }")
        // initial ≤ max is checked across the two: keep the other end out of the way.
        case "backoff.initial": return oneWorker("    backoff:", "      initial: \(value)", "      max: 7d")
        case "backoff.max": return oneWorker("    backoff:", "      max: \(value)", "      initial: 0")
        default:
            let parts = key.split(separator: ".")
            if parts.count == 1 { return oneWorker("    \(key): \(value)") }
            return oneWorker("    \(parts[0]):", "      \(parts[1]): \(value)")
        }
    }

    static func text(_ bounds: ConfigRanges.Bounds, lower: Bool) -> String {
        switch bounds {
        case .count(let r): return "\(lower ? r.lowerBound : r.upperBound)"
        case .duration(let r): return Units.format(lower ? r.lowerBound : r.upperBound)
        case .size(let r): return ConfigRanges.sizeText(lower ? r.lowerBound : r.upperBound)
        case .fraction(let r): return ConfigRanges.decimalText(lower ? r.lowerBound : r.upperBound)
        }
    }

    /// Just past the range, or nil when nothing below the range can be written (0 for a size).
    static func outside(_ bounds: ConfigRanges.Bounds, lower: Bool) -> String? {
        switch bounds {
        case .count(let r): return lower ? "\(r.lowerBound - 1)" : "\(r.upperBound + 1)"
        case .duration(let r):
            if lower { return r.lowerBound == .zero ? nil : "0" }
            return Units.format(r.upperBound + .seconds(1))
        case .size(let r):
            if lower { return r.lowerBound == 0 ? nil : "0" }
            // Written in MiB: a byte count near 2^60 does not survive the parser's Double.
            return r.upperBound >= 1 << 20 ? "\(r.upperBound >> 20 + 1)MiB" : "\(r.upperBound + 1)"
        case .fraction(let r): return lower ? "\(r.lowerBound - 0.5)" : "\(r.upperBound + 0.5)"
        }
    }

    @Test(arguments: ConfigRanges.all.map(\.key))
    func bothEndsAreAccepted(_ key: String) throws {
        let entry = try #require(ConfigRanges.all.first { $0.key == key })
        for lower in [true, false] {
            let yaml = Self.config(entry, Self.text(entry.bounds, lower: lower))
            #expect(problems(yaml) == [], "\(key) at its \(lower ? "minimum" : "maximum")")
        }
        if let word = entry.also {
            #expect(problems(Self.config(entry, word)) == [])
        }
    }

    @Test(arguments: ConfigRanges.all.map(\.key))
    func pastEitherEndIsAnErrorNamingTheKey(_ key: String) throws {
        let entry = try #require(ConfigRanges.all.first { $0.key == key })
        for lower in [true, false] {
            guard let value = Self.outside(entry.bounds, lower: lower) else { continue }
            let found = problems(Self.config(entry, value))
            #expect(found.count == 1, "\(key): \(value) → \(found)")
            let message = found.first ?? ""
            let leaf = key.split(separator: ".").last.map { String($0.split(separator: " ")[0]) } ?? key
            #expect(message.contains(leaf.replacingOccurrences(of: "[]", with: "")), "\(message)")
            if !lower {
                #expect(message.contains("above the maximum") || message.contains("must be between"), "\(message)")
            }
        }
    }

    @Test func theIssuesExampleReadsAsTheIssueAsks() {
        #expect(problems(oneWorker("    instances: 100000000")) == [
            "bulkhead.yaml:4: workers[0].instances: 100000000 is above the maximum 100000",
        ])
        #expect(problems("output: { journal: off, buffer_lines: 9223372036854775807 }\n" + oneWorker()) == [
            "bulkhead.yaml:1: output.buffer_lines: 9223372036854775807 is above the maximum 100000",
        ])
    }

    @Test func allInstancesTogetherAreBoundedToo() {
        let workers = (0..<3).map { "  - { name: w\($0), command: [/bin/true], instances: 40000 }" }.joined(separator: "\n")
        let found = problems("workers:\n" + workers + "\n")
        #expect(found == ["bulkhead.yaml:4: workers: 120000 instances in all is above the maximum 100000"])
    }

    @Test func aNullOrEmptyDocumentIsOneRule() {
        let empty = "bulkhead.yaml: the config is empty (expected control, state_dir, crash_reports, output, cgroups, defaults, workers)"
        #expect(problems("") == [empty])
        #expect(problems("# a comment\n") == [empty])
        #expect(problems("~\n") == [empty])
        #expect(problems("null\n") == [empty])
        #expect(problems("workers: []\n") == [])
    }

    /// The README's config reference lists every range as the readers enforce it.
    @Test func theReadmeListsEveryRange() throws {
        let readme = try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)
        let rows = readme.split(separator: "\n")
        let missing = ConfigRanges.all.map(Self.readmeRow).filter { row in !rows.contains { $0.hasPrefix(row) } }
        #expect(missing.isEmpty, "README.md lacks these rows (or has them otherwise):\n\(missing.joined(separator: "\n"))")
    }

    /// The row's first two cells; a third (what the key does) is free text.
    static func readmeRow(_ entry: ConfigRanges.Entry) -> String {
        "| `\(entry.key)` | \(entry.bounds.text)\(entry.also.map { ", or `\($0)`" } ?? "") |"
    }

    @Test func unlimitedCPUTimeDoesNotOverflow() throws {
        let config = try load(oneWorker("    limits: { cpu_time: unlimited, processes: unlimited, core: unlimited, file_size: unlimited }"))
        #expect(config.workers[0].limits.cpuSeconds == .max)
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
