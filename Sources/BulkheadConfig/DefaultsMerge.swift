import BulkheadPolicy

/// Builds a `WorkerSpec` from a worker's keys, then `defaults`' keys, then the built-in defaults
/// (`WorkerSpec`'s initialiser): the first level that wrote a key wins, key by key inside
/// `backoff`, `crash_loop`, `stop` and `limits`; `env` merges by variable; `rules` are the
/// worker's own, then `defaults`'.
struct DefaultsMerge {
    let defaults: WorkerFields

    func spec(_ worker: WorkerFields) -> WorkerSpec {
        let builtin = WorkerSpec(name: "", command: [])
        let d = defaults
        return WorkerSpec(
            name: worker.name?.value ?? "",
            command: worker.command?.value.map(\.value) ?? [],
            instances: worker.instances?.value ?? builtin.instances,
            env: environment(worker),
            cwd: pick(worker.cwd, d.cwd, builtin.cwd),
            user: pick(worker.user, d.user, builtin.user),
            group: pick(worker.group, d.group, builtin.group),
            ready: pick(worker.ready, d.ready, builtin.ready),
            startTimeout: pick(worker.startTimeout, d.startTimeout, builtin.startTimeout),
            watchdog: pick(worker.watchdog, d.watchdog, builtin.watchdog),
            watchdogGrace: pick(worker.watchdogGrace, d.watchdogGrace, builtin.watchdogGrace),
            dependsOn: worker.dependsOn?.value.map(\.value) ?? [],
            strategy: pick(worker.strategy, d.strategy, builtin.strategy),
            limits: limits(worker.limits, d.limits),
            rules: worker.rules + d.rules,
            restart: pick(worker.restart, d.restart, builtin.restart),
            backoff: backoff(worker.backoff, d.backoff, builtin.backoff),
            crashLoop: crashLoop(worker.crashLoop, d.crashLoop, builtin.crashLoop),
            stop: stop(worker.stop, d.stop, builtin.stop),
            backtrace: pick(worker.backtrace, d.backtrace, builtin.backtrace),
            sourceLine: worker.site.line,
            output: pick(worker.output, d.output, builtin.output)
        )
    }

    /// `defaults.env` entries the worker does not override, in their order, then the worker's own.
    func environment(_ worker: WorkerFields) -> [EnvironmentEntry] {
        let own = Set(worker.env.map(\.value.key))
        return defaults.env.map(\.value).filter { !own.contains($0.key) } + worker.env.map(\.value)
    }

    /// The site of the value that won for `backoff.initial` / `max` (nil: built in), so a
    /// problem with the merged pair names the line that caused it.
    func backoffSites(_ worker: WorkerFields) -> (initial: Site?, max: Site?) {
        ((worker.backoff.initial ?? defaults.backoff.initial)?.site, (worker.backoff.max ?? defaults.backoff.max)?.site)
    }

    private func limits(_ w: LimitFields, _ d: LimitFields) -> ResourceLimits {
        ResourceLimits(
            memory: pick(w.memory, d.memory, nil), openFiles: pick(w.openFiles, d.openFiles, nil),
            processes: pick(w.processes, d.processes, nil), coreSize: pick(w.coreSize, d.coreSize, nil),
            cpuSeconds: pick(w.cpuSeconds, d.cpuSeconds, nil), fileSize: pick(w.fileSize, d.fileSize, nil)
        )
    }

    private func backoff(_ w: BackoffFields, _ d: BackoffFields, _ b: BackoffPolicy) -> BackoffPolicy {
        BackoffPolicy(
            initial: pick(w.initial, d.initial, b.initial), max: pick(w.max, d.max, b.max),
            multiplier: pick(w.multiplier, d.multiplier, b.multiplier), jitter: pick(w.jitter, d.jitter, b.jitter),
            resetAfter: pick(w.resetAfter, d.resetAfter, b.resetAfter)
        )
    }

    private func crashLoop(_ w: CrashLoopFields, _ d: CrashLoopFields, _ b: CrashLoopPolicy) -> CrashLoopPolicy {
        CrashLoopPolicy(
            maxRestarts: pick(w.maxRestarts, d.maxRestarts, b.maxRestarts), window: pick(w.window, d.window, b.window),
            cooldown: pick(w.cooldown, d.cooldown, b.cooldown), sameCrash: pick(w.sameCrash, d.sameCrash, b.sameCrash)
        )
    }

    private func stop(_ w: StopFields, _ d: StopFields, _ b: StopPolicy) -> StopPolicy {
        StopPolicy(signal: pick(w.signal, d.signal, b.signal), timeout: pick(w.timeout, d.timeout, b.timeout))
    }
}

/// The worker's value if it wrote the key, else `defaults`', else the built-in one. For
/// `Located<T?>` keys a written null is a value (nil) and wins like any other.
private func pick<Value>(_ worker: Located<Value>?, _ defaults: Located<Value>?, _ builtin: Value) -> Value {
    (worker ?? defaults)?.value ?? builtin
}
