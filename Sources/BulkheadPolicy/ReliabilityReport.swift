/// One entry of the reliability history (`state_dir/reliability.jsonl`): a death, the instance
/// ready again, a verdict (failed, quarantined), an operator's command. `bulkhead report` is
/// computed from these.
public struct ReliabilityRecord: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case death, ready, failed, quarantined, command
    }

    public var kind: Kind
    /// Wall clock, Unix nanoseconds (the history outlives the daemon and the boot).
    public var wallNanoseconds: Int64
    public var instance: InstanceID
    // A death:
    public var deathClass: DeathClass?
    public var fingerprint: String?
    public var headline: String?
    public var crashID: String?
    public var detectMicroseconds: Int64?
    /// The worker's `backoff.reset_after` then: a run this long after the death is a self-heal.
    public var stableAfterMilliseconds: Int64?
    // A command:
    public var command: String?

    public init(kind: Kind, wallNanoseconds: Int64, instance: InstanceID, deathClass: DeathClass? = nil, fingerprint: String? = nil,
                headline: String? = nil, crashID: String? = nil, detectMicroseconds: Int64? = nil,
                stableAfterMilliseconds: Int64? = nil, command: String? = nil) {
        self.kind = kind
        self.wallNanoseconds = wallNanoseconds
        self.instance = instance
        self.deathClass = deathClass
        self.fingerprint = fingerprint
        self.headline = headline
        self.crashID = crashID
        self.detectMicroseconds = detectMicroseconds
        self.stableAfterMilliseconds = stableAfterMilliseconds
        self.command = command
    }
}

/// `bulkhead report` (SPEC §11): the maturity matrix of one host, per worker and in all —
/// deaths by class, detect latency, time from death to ready again (MTTR), the share of deaths
/// that healed by themselves (ready again by an automatic restart and then a stable run, with no
/// operator between), the deaths that needed an operator and how long instances stayed failed or
/// quarantined, and the most frequent crash fingerprints.
public struct ReliabilityReport: Equatable, Sendable {
    public struct Figures: Equatable, Sendable {
        /// A worker's name, or "all".
        public var name: String
        public var deaths = 0
        public var byClass: [DeathClass: Int] = [:]
        public var detectMicroseconds: Percentiles?
        public var recoveryMilliseconds: Percentiles?
        /// Deaths after which the instance was ready again.
        public var recovered = 0
        public var selfHealed = 0
        /// Deaths that needed an operator (a verdict, or a command before it was ready again).
        public var operatorNeeded = 0
        public var failedMilliseconds: Int64 = 0
        public var quarantinedMilliseconds: Int64 = 0
        /// Instances failed or quarantined at the end of the period.
        public var stillDown: [InstanceID] = []

        /// Self-healed deaths per death (nil with no deaths).
        public var selfHealRate: Double? { deaths > 0 ? Double(selfHealed) / Double(deaths) : nil }
    }

    public struct Percentiles: Equatable, Sendable {
        public var p50: Int64
        public var p99: Int64
        public var count: Int

        /// Nearest rank: the smallest value with at least q of the sample at or below it.
        public init?(_ values: [Int64]) {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            func rank(_ q: Double) -> Int64 {
                let index = Int((q * Double(sorted.count)).rounded(.up)) - 1
                return sorted[min(max(index, 0), sorted.count - 1)]
            }
            p50 = rank(0.50)
            p99 = rank(0.99)
            count = sorted.count
        }
    }

    public struct Fingerprint: Equatable, Sendable {
        public var fingerprint: String
        public var worker: String
        public var deathClass: DeathClass
        public var count: Int
        public var firstNanoseconds: Int64
        public var lastNanoseconds: Int64
        public var headline: String
        /// The newest death's crash report id.
        public var exampleCrashID: String?
    }

    public var sinceNanoseconds: Int64?
    public var untilNanoseconds: Int64
    public var workers: [Figures]
    public var total: Figures
    public var fingerprints: [Fingerprint]

    /// One death and what followed it.
    private struct Episode {
        var record: ReliabilityRecord
        var readyAt: Int64?
        var nextDeathAt: Int64?
        var operatorBeforeReady = false
        var verdict: ReliabilityRecord.Kind?
        var verdictAt: Int64?
        var verdictEndedAt: Int64?
    }

    /// - Parameters:
    ///   - records: in the order they happened.
    ///   - names: workers (`api`) or instances (`api:1`) to report on; empty: all.
    ///   - topFingerprints: how many fingerprints to list.
    public init(records: [ReliabilityRecord], since: Int64?, now: Int64, names: [String] = [], topFingerprints: Int = 10) {
        sinceNanoseconds = since
        untilNanoseconds = now
        func wanted(_ id: InstanceID) -> Bool {
            names.isEmpty || names.contains(id.worker) || names.contains(id.description)
        }
        var episodes: [Episode] = []
        var open: [InstanceID: Int] = [:]
        for record in records where wanted(record.instance) && record.wallNanoseconds >= (since ?? .min) {
            let at = record.wallNanoseconds
            switch record.kind {
            case .death:
                if let previous = open[record.instance] {
                    episodes[previous].nextDeathAt = at
                    Self.endVerdict(&episodes[previous], at)
                }
                open[record.instance] = episodes.count
                episodes.append(Episode(record: record))
            case .ready:
                guard let index = open[record.instance] else { continue }
                if episodes[index].readyAt == nil { episodes[index].readyAt = at }
                Self.endVerdict(&episodes[index], at)
            case .failed, .quarantined:
                guard let index = open[record.instance], episodes[index].verdict == nil else { continue }
                episodes[index].verdict = record.kind
                episodes[index].verdictAt = at
            case .command:
                guard let index = open[record.instance] else { continue }
                if episodes[index].readyAt == nil { episodes[index].operatorBeforeReady = true }
                if record.command == "reset" || record.command == "stop" { Self.endVerdict(&episodes[index], at) }
            }
        }
        var byWorker: [String: [Episode]] = [:]
        var order: [String] = []
        for episode in episodes {
            let worker = episode.record.instance.worker
            if byWorker[worker] == nil { order.append(worker) }
            byWorker[worker, default: []].append(episode)
        }
        workers = order.sorted().map { Self.figures($0, byWorker[$0] ?? [], now: now) }
        total = Self.figures("all", episodes, now: now)
        fingerprints = Self.fingerprints(episodes, top: topFingerprints)
    }

    private static func endVerdict(_ episode: inout Episode, _ at: Int64) {
        if episode.verdict != nil && episode.verdictEndedAt == nil { episode.verdictEndedAt = at }
    }

    private static func figures(_ name: String, _ episodes: [Episode], now: Int64) -> Figures {
        var f = Figures(name: name)
        var detect: [Int64] = []
        var recovery: [Int64] = []
        var down = Set<InstanceID>()
        for e in episodes {
            let deathAt = e.record.wallNanoseconds
            f.deaths += 1
            if let deathClass = e.record.deathClass { f.byClass[deathClass, default: 0] += 1 }
            if let us = e.record.detectMicroseconds { detect.append(us) }
            if let ready = e.readyAt {
                f.recovered += 1
                recovery.append((ready - deathAt) / 1_000_000)
            }
            let needsOperator = e.verdict != nil || e.operatorBeforeReady
            if needsOperator { f.operatorNeeded += 1 }
            if let ready = e.readyAt, !needsOperator {
                let stable = (e.record.stableAfterMilliseconds ?? 60_000) * 1_000_000
                if (e.nextDeathAt ?? now) - ready >= stable { f.selfHealed += 1 }
            }
            if let verdict = e.verdict, let from = e.verdictAt {
                let lasted = ((e.verdictEndedAt ?? now) - from) / 1_000_000
                if verdict == .failed { f.failedMilliseconds += lasted } else { f.quarantinedMilliseconds += lasted }
                if e.verdictEndedAt == nil { down.insert(e.record.instance) }
            }
        }
        f.detectMicroseconds = Percentiles(detect)
        f.recoveryMilliseconds = Percentiles(recovery)
        f.stillDown = down.sorted()
        return f
    }

    private static func fingerprints(_ episodes: [Episode], top: Int) -> [Fingerprint] {
        var found: [String: Fingerprint] = [:]
        for e in episodes {
            let r = e.record
            guard let print = r.fingerprint, !print.isEmpty, let deathClass = r.deathClass else { continue }
            let key = r.instance.worker + "/" + print
            if var known = found[key] {
                known.count += 1
                known.firstNanoseconds = min(known.firstNanoseconds, r.wallNanoseconds)
                if r.wallNanoseconds >= known.lastNanoseconds {
                    known.lastNanoseconds = r.wallNanoseconds
                    known.exampleCrashID = r.crashID ?? known.exampleCrashID
                    if let headline = r.headline, !headline.isEmpty { known.headline = headline }
                }
                found[key] = known
            } else {
                found[key] = Fingerprint(fingerprint: print, worker: r.instance.worker, deathClass: deathClass, count: 1,
                                         firstNanoseconds: r.wallNanoseconds, lastNanoseconds: r.wallNanoseconds,
                                         headline: r.headline ?? "", exampleCrashID: r.crashID)
            }
        }
        return Array(found.values.sorted {
            ($0.count, $0.lastNanoseconds, $1.fingerprint) > ($1.count, $1.lastNanoseconds, $0.fingerprint)
        }.prefix(top))
    }
}
