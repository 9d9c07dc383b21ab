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
        if options.checksExecutables, let command = fields.command {
            let searchPath = options.searchPath ?? processSearchPath()
            diagnostics.checkExecutable(command, env: spec.env, cwd: spec.cwd, searchPath: searchPath,
                                        asWarning: options.missingExecutablesAreWarnings)
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
