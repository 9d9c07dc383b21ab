import BulkheadPolicy

/// Checks that need a worker with `defaults` merged in: a `max` from one level and an
/// `initial` from another must still agree, and the program is looked up with the merged
/// `env.PATH` and `cwd`.
struct MergedWorkerChecks {
    let diagnostics: Diagnostics
    let merge: DefaultsMerge
    let options: ConfigOptions

    func check(_ spec: WorkerSpec, _ fields: WorkerFields) {
        checkBackoff(spec, fields)
        checkHealth(spec, fields)
        if options.checksExecutables, let command = fields.command {
            let searchPath = options.searchPath ?? processSearchPath()
            diagnostics.checkExecutable(command, env: spec.env, cwd: spec.cwd, searchPath: searchPath,
                                        asWarning: options.missingExecutablesAreWarnings)
            for probe in [spec.health.ready, spec.health.live].compactMap({ $0 }) {
                guard case .exec(let argv) = probe.check, let site = fields.health?.site else { continue }
                let program = Located(value: [Located(value: argv[0], site: site)], site: site)
                diagnostics.checkExecutable(program, env: spec.env, cwd: spec.cwd, searchPath: searchPath,
                                            asWarning: options.missingExecutablesAreWarnings)
            }
        }
    }

    /// `ready: DURATION` and a ready probe both say when the instance is ready; a port that
    /// grows with the index must stay a port for the last instance.
    private func checkHealth(_ spec: WorkerSpec, _ fields: WorkerFields) {
        guard let site = fields.health?.site else { return }
        if case .after = spec.ready, spec.health.ready != nil {
            diagnostics.report(fields.ready?.site ?? site, "a ready duration and health.ready both decide readiness: keep one (health.ready's initial_delay waits before the first check)")
        }
        for (role, probe) in [("ready", spec.health.ready), ("live", spec.health.live)] {
            let target: ProbeTarget?
            switch probe?.check {
            case .http(let t, _)?: target = t
            case .tcp(let t)?: target = t
            case .exec?, nil: target = nil
            }
            guard let target, target.portPlusIndex, target.port + spec.instances - 1 > 65535 else { continue }
            diagnostics.report(site, "health.\(role): port \(target.port)+index passes 65535 for instance \(spec.instances - 1)")
        }
    }

    /// Reported at the worker's own key when it wrote one, else at `defaults`' (one message for
    /// every worker that inherits it).
    private func checkBackoff(_ spec: WorkerSpec, _ fields: WorkerFields) {
        let backoff = spec.backoff
        guard backoff.max < backoff.initial else { return }
        let max = Units.format(backoff.max), initial = Units.format(backoff.initial)
        let sites = merge.backoffSites(fields)
        let workerWroteMax = fields.backoff.max != nil
        let workerWroteInitial = fields.backoff.initial != nil
        if let site = sites.max, workerWroteMax || !workerWroteInitial {
            diagnostics.report(site, "max (\(max)) is less than initial (\(initial))")
        } else if let site = sites.initial {
            diagnostics.report(site, "initial (\(initial)) is more than max (\(max))")
        }
    }
}
