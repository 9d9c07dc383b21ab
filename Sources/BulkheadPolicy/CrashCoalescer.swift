/// Deaths that repeat one another during a storm (SPEC §7). Within `window`, the first `burst`
/// deaths of a worker with one fingerprint and class get a crash report and a journal entry of
/// their own — the first of a new fingerprint always does; later ones are folded into the last
/// of those reports, and the journal says "repeated N times" at most once per `summaryEvery` per
/// report. Counters and event subscribers still see every death: only files and journal lines
/// are saved. Pure: instants in, decisions out.
public struct CrashCoalescer: Sendable {
    public struct Settings: Sendable, Equatable {
        public var window: Duration
        public var burst: Int
        public var summaryEvery: Duration
        /// Pids named in one summary (the rest are only counted).
        public var pidsPerSummary: Int

        public init(window: Duration = .seconds(60), burst: Int = 5, summaryEvery: Duration = .seconds(5), pidsPerSummary: Int = 64) {
            self.window = window
            self.burst = burst
            self.summaryEvery = summaryEvery
            self.pidsPerSummary = pidsPerSummary
        }
    }

    /// What makes two deaths the same.
    public struct Key: Hashable, Sendable {
        public var worker: String
        public var fingerprint: String
        public var deathClass: DeathClass

        public init(worker: String, fingerprint: String, deathClass: DeathClass) {
            self.worker = worker
            self.fingerprint = fingerprint
            self.deathClass = deathClass
        }
    }

    public enum Decision: Equatable, Sendable {
        /// A report and a journal entry of its own (then `reported`).
        case report
        /// Folded into this report: no file, no journal entry of its own.
        case repeatOf(reportID: String)
    }

    /// A "repeated N times" line that is due.
    public struct Summary: Equatable, Sendable {
        public var key: Key
        public var reportID: String
        /// What the report's death was, for the line (as the caller gave it to `reported`).
        public var headline: String
        /// Repeats since the previous line (or the report), and folded into the report in all.
        public var repeats: Int
        public var totalRepeats: Int
        /// Since when `repeats` were counted.
        public var since: Instant
        /// The last repeat's instance, and the pids of the repeats counted (at most
        /// `pidsPerSummary`, the earliest).
        public var lastInstance: InstanceID
        public var pids: [Int32]
    }

    private struct Group {
        var windowStart: Instant
        var reportsInWindow = 0
        var reportID: String?
        var headline = ""
        var totalRepeats = 0
        var pending = 0
        var pendingPids: [Int32] = []
        var lastInstance: InstanceID?
        var countedSince: Instant
    }

    public let settings: Settings
    private var groups: [Key: Group] = [:]
    /// Groups with repeats not yet said: the only ones `nextDeadline` and `takeDue` look at.
    private var pending = Set<Key>()
    /// Lines owed at once: a window ended with repeats not yet said.
    private var owed: [Summary] = []

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// A death that is not clean: does it get a report of its own?
    public mutating func death(_ key: Key, instance: InstanceID, pid: Int32?, _ now: Instant) -> Decision {
        var group = groups[key] ?? Group(windowStart: now, countedSince: now)
        if now >= group.windowStart + settings.window {
            // A new window: what the last one folded is said now, and reports start over.
            if let summary = summary(key, &group, now) { owed.append(summary) }
            pending.remove(key)
            group.windowStart = now
            group.reportsInWindow = 0
        }
        defer { groups[key] = group }
        guard let reportID = group.reportID, group.reportsInWindow >= settings.burst else {
            group.reportsInWindow += 1
            return .report
        }
        group.totalRepeats += 1
        group.pending += 1
        group.lastInstance = instance
        if let pid, group.pendingPids.count < settings.pidsPerSummary { group.pendingPids.append(pid) }
        pending.insert(key)
        return .repeatOf(reportID: reportID)
    }

    /// The report written for a `.report` decision: later repeats fold into it.
    public mutating func reported(_ key: Key, reportID: String, headline: String, _ now: Instant) {
        guard var group = groups[key] else { return }
        if group.pending > 0, let summary = summary(key, &group, now) { owed.append(summary) }
        pending.remove(key)
        group.reportID = reportID
        group.headline = headline
        group.totalRepeats = 0
        group.countedSince = now
        groups[key] = group
        pruneIfLarge(now)
    }

    /// When the next "repeated N times" line is due.
    public var nextDeadline: Instant? {
        if !owed.isEmpty { return .zero }
        return pending.compactMap { groups[$0].map { $0.countedSince + settings.summaryEvery } }.min()
    }

    /// The lines due at `now`; with `all`, every line owed (shutdown).
    public mutating func takeDue(_ now: Instant, all: Bool = false) -> [Summary] {
        var due = owed
        owed = []
        for key in pending {
            guard var group = groups[key], all || now >= group.countedSince + settings.summaryEvery else { continue }
            if let summary = summary(key, &group, now) { due.append(summary) }
            groups[key] = group
            pending.remove(key)
        }
        return due
    }

    /// The repeats counted since the last line, as one line; the count starts over.
    private func summary(_ key: Key, _ group: inout Group, _ now: Instant) -> Summary? {
        defer {
            group.pending = 0
            group.pendingPids = []
            group.countedSince = now
        }
        guard group.pending > 0, let reportID = group.reportID, let last = group.lastInstance else { return nil }
        return Summary(key: key, reportID: reportID, headline: group.headline, repeats: group.pending,
                       totalRepeats: group.totalRepeats, since: group.countedSince, lastInstance: last, pids: group.pendingPids)
    }

    /// Fingerprints that differ every time (an address in a message) must not grow this without
    /// bound: groups whose window is over and that owe nothing go once there are many.
    private mutating func pruneIfLarge(_ now: Instant) {
        guard groups.count > 1024 else { return }
        groups = groups.filter { key, group in pending.contains(key) || now < group.windowStart + settings.window }
    }
}
