/// When bulkhead itself counts as started, for the service manager's `READY=1` (SPEC §6:
/// "once every worker whose dependencies allow has been started").
///
/// An instance holds start-up back only while it is still on its way up by itself:
/// - it is being spawned, or it runs but has not reported ready yet (`ready: notify`, or a
///   `ready: DURATION` that has not passed) — policy bounds this with `start_timeout` / the delay;
/// - it is wanted and waits for dependencies that are themselves on their way up.
///
/// Everything else has had its chance and does not hold READY back: running (ready), stopping,
/// stopped or not wanted, and every instance that died on its way up (`backoff`, `open`,
/// `failed`, `quarantined`) — a crash loop must not keep the unit in `activating` until
/// systemd's start timeout kills everything. An instance waiting for a dependency in one of
/// those states is blocked and does not hold READY back either. What is not up shows in
/// `STATUS=` and in `bulkhead status`.
extension Supervision {
    /// Start-up has settled: nothing holds READY=1 back. While any instance is being spawned
    /// or has not reported ready, that is one count; only then are the waiting ones looked at.
    public func startupSettled() -> Bool {
        guard !shuttingDown else { return true }
        if tally.count(.starting) > 0 { return false }
        return startupPending().isEmpty
    }

    /// The instances start-up still waits for, in config order (empty: send READY=1).
    public func startupPending() -> [InstanceID] {
        guard !shuttingDown else { return [] }
        var blocked: [String: Bool] = [:]
        var pending: [InstanceID] = []
        for id in order {
            guard let i = instances[id] else { continue }
            switch i.phase {
            case .spawning, .starting:
                pending.append(id)
            case .waiting:
                guard i.wanted, let spec = specs[id.worker] else { continue }
                if !isBlocked(spec, memo: &blocked, visiting: []) { pending.append(id) }
            case .running, .stopping, .stopped, .backoff, .open, .failed, .quarantined:
                break
            }
        }
        return pending
    }

    /// Some dependency of `spec`, directly or through its own dependencies, will not come up by
    /// itself: an instance of it died on its way up, was stopped, or is not configured.
    func isBlocked(_ spec: WorkerSpec, memo: inout [String: Bool], visiting: Set<String>) -> Bool {
        if let known = memo[spec.name] { return known }
        // The config loader refuses cycles; a cycle here (mid-reload) counts as blocked rather
        // than recursing forever.
        guard !visiting.contains(spec.name) else { return true }
        var blocked = false
        for dependency in spec.dependsOn where !blocked {
            guard let dependencySpec = specs[dependency], configured.contains(dependency) else {
                blocked = true
                break
            }
            for index in 0..<dependencySpec.instances {
                guard let d = instances[InstanceID(worker: dependency, index: index)] else {
                    blocked = true
                    break
                }
                switch d.phase {
                case .stopped, .backoff, .open, .failed, .quarantined:
                    blocked = true
                case .waiting:
                    blocked = isBlocked(dependencySpec, memo: &memo, visiting: visiting.union([spec.name]))
                case .spawning, .starting, .running, .stopping:
                    break
                }
                if blocked { break }
            }
        }
        memo[spec.name] = blocked
        return blocked
    }
}
