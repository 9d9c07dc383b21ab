/// Which cgroup controllers carry `limits` on this machine, as the mechanism found them at start.
public struct LimitSupport: Equatable, Sendable {
    public enum Controller: String, Equatable, Hashable, Sendable, CaseIterable {
        case memory, cpu, io, pids
    }

    /// The controllers bulkhead cannot use, each with why (one clause: `no cpu controller in
    /// bulkhead's cgroup v2 subtree (set Delegate=yes in its unit)`).
    public var missing: [Controller: String]

    public init(missing: [Controller: String] = [:]) {
        self.missing = missing
    }

    public static let everything = LimitSupport()
}

/// How each limit a worker asks for is enforced here, and what to tell the operator about the
/// ones that are not (SPEC: never silently ignored). Pure: the mechanism says what it has.
public enum LimitEnforcement {
    /// One sentence per limit that some worker sets and this machine cannot enforce as asked,
    /// naming the workers; said once at start (and after a reload) and shown by `status`.
    public static func notes(for workers: [WorkerSpec], support: LimitSupport) -> [String] {
        var notes: [String] = []
        func users(_ uses: (ResourceLimits) -> Bool) -> String? {
            let names = workers.filter { uses($0.limits) }.map(\.name)
            return names.isEmpty ? nil : names.joined(separator: ", ")
        }
        if let reason = support.missing[.memory], let names = users({ $0.memory != nil }) {
            notes.append("limits.memory of \(names) is not enforced: \(reason)")
        }
        if let reason = support.missing[.cpu], let names = users({ $0.cpuPercent != nil }) {
            notes.append("limits.cpu of \(names) is not enforced: \(reason); no rlimit caps a rate of CPU (limits.cpu_time caps the total)")
        }
        if let reason = support.missing[.io], let names = users({ $0.ioWeight != nil }) {
            notes.append("limits.io_weight of \(names) is not enforced: \(reason)")
        }
        if let reason = support.missing[.pids], let names = users({ $0.tasks != nil }) {
            notes.append("limits.tasks of \(names) is enforced with RLIMIT_NPROC instead of pids.max (\(reason)): RLIMIT_NPROC counts every process and thread of the worker's user, not only this instance's, and root ignores it")
        }
        return notes
    }

    /// The RLIMIT_NPROC an instance gets: `processes` when set, else `tasks` where no pids
    /// controller can hold it (nil: none).
    public static func processRlimit(_ limits: ResourceLimits, support: LimitSupport) -> UInt64? {
        if let processes = limits.processes { return processes }
        return support.missing[.pids] != nil ? limits.tasks : nil
    }

    /// cgroup v2 `cpu.max` for a percentage of one CPU: quota and period in microseconds. The
    /// period is the kernel's default 100 ms; the quota at least 1 ms (the kernel's minimum).
    public static func cpuMax(percent: Int) -> (quota: Int, period: Int) {
        let period = 100_000
        return (max(1_000, percent * period / 100), period)
    }
}
