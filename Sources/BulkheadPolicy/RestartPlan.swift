/// The workers that restart when one worker's instance dies and restarts, under every worker's
/// strategy (`DependencyGraph.restartGroup`): worked out once per config and worker, so a death
/// costs a lookup instead of a walk over every worker's strategy.
struct RestartPlan: Sendable, Equatable {
    /// The other workers, sorted by name: their alive instances stop and wait for their
    /// dependencies again.
    var others: [String]
    /// The worker's own other instances too: a `one_for_all` or `rest_for_one` worker that
    /// pulled its own dependency into the restart depends on it like any dependent.
    var includesItself: Bool

    init(_ worker: String, graph: DependencyGraph, strategies: [String: RestartStrategy]) {
        let group = graph.restartGroup(of: worker, strategies: strategies)
        others = group.sorted()
        includesItself = (strategies[worker] ?? .oneForOne) != .oneForOne
            && (graph.dependencies[worker] ?? []).contains(where: group.contains)
    }
}
