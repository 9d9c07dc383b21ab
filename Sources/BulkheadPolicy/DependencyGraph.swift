/// The `depends_on` graph between workers: start order, stop order, cycles and who depends on whom.
public struct DependencyGraph: Sendable {
    /// worker → the workers it depends on, in config order.
    public let dependencies: [String: [String]]
    /// worker → the workers that depend on it directly.
    public let dependents: [String: [String]]
    private let names: [String]

    public init(_ edges: [(name: String, dependsOn: [String])]) {
        var deps: [String: [String]] = [:]
        var rdeps: [String: [String]] = [:]
        for (name, on) in edges {
            deps[name] = on
            for d in on { rdeps[d, default: []].append(name) }
        }
        dependencies = deps
        dependents = rdeps
        names = edges.map(\.name)
    }

    public init(_ workers: [WorkerSpec]) {
        self.init(workers.map { ($0.name, $0.dependsOn) })
    }

    /// One cycle as a path (`a → b → a`), or nil when the graph is acyclic.
    public func cycle() -> [String]? {
        var state: [String: Int] = [:]   // 1: on the current path, 2: done
        var path: [String] = []
        func visit(_ n: String) -> [String]? {
            if state[n] == 2 { return nil }
            if state[n] == 1 {
                let start = path.firstIndex(of: n) ?? 0
                return Array(path[start...]) + [n]
            }
            state[n] = 1
            path.append(n)
            for d in dependencies[n] ?? [] where dependencies[d] != nil {
                if let found = visit(d) { return found }
            }
            path.removeLast()
            state[n] = 2
            return nil
        }
        for n in names {
            if let found = visit(n) { return found }
        }
        return nil
    }

    /// Dependencies before dependents; ties keep config order. Assumes no cycle.
    public func startOrder() -> [String] {
        var placed = Set<String>()
        var order: [String] = []
        func place(_ n: String, _ depth: Int) {
            guard !placed.contains(n), depth <= names.count else { return }
            for d in dependencies[n] ?? [] where dependencies[d] != nil { place(d, depth + 1) }
            if placed.insert(n).inserted { order.append(n) }
        }
        for n in names { place(n, 0) }
        return order
    }

    /// Every worker that depends on `name`, directly or not.
    public func transitiveDependents(of name: String) -> Set<String> {
        var seen = Set<String>()
        var queue = dependents[name] ?? []
        while let next = queue.popLast() {
            if seen.insert(next).inserted { queue.append(contentsOf: dependents[next] ?? []) }
        }
        seen.remove(name)
        return seen
    }

    /// The workers that restart together with `origin` when it dies, under each worker's
    /// strategy: a `rest_for_one` or `one_for_all` dependent restarts after its dependency,
    /// and a `one_for_all` worker pulls its own dependencies along. `origin` itself is excluded.
    public func restartGroup(of origin: String, strategies: [String: RestartStrategy]) -> Set<String> {
        var group = Set<String>([origin])
        var queue = [origin]
        while let current = queue.popLast() {
            for w in dependents[current] ?? [] where (strategies[w] ?? .oneForOne) != .oneForOne {
                if group.insert(w).inserted { queue.append(w) }
            }
            if strategies[current] == .oneForAll {
                for d in dependencies[current] ?? [] where dependencies[d] != nil {
                    if group.insert(d).inserted { queue.append(d) }
                }
            }
        }
        group.remove(origin)
        return group
    }
}
