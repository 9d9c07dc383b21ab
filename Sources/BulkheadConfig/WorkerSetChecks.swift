import BulkheadPolicy

/// Checks across all workers: names, duplicates, `depends_on` targets and cycles.
struct WorkerSetChecks {
    let diagnostics: Diagnostics

    /// Instance names (`api:0`) end up in journal fields, cgroup and file names: 64 is plenty
    /// and keeps them readable.
    static let maxNameLength = 64

    func check(_ workers: [WorkerFields]) {
        var firstLine: [String: Int] = [:]
        for worker in workers {
            guard let name = worker.name else {
                if !worker.writtenKeys.contains("name") { diagnostics.report(worker.site, "missing key \"name\"") }
                continue
            }
            checkName(name)
            if let line = firstLine[name.value] {
                diagnostics.report(name.site, "duplicate worker name \(quoted(name.value)) (first defined at line \(line))")
            } else {
                firstLine[name.value] = name.site.line
            }
        }
        // An empty or malformed command was reported where it was read.
        for worker in workers where !worker.writtenKeys.contains("command") {
            diagnostics.report(worker.site, "missing key \"command\"")
        }
        checkDependencies(workers, known: Array(firstLine.keys))
        checkTotalInstances(workers)
    }

    /// Each instance costs the daemon a few fds and a little memory: a config that asks for
    /// more than the daemon is built to hold is refused here, not found out while spawning.
    private func checkTotalInstances(_ workers: [WorkerFields]) {
        let total = workers.reduce(0) { $0 + ($1.instances?.value ?? 1) }
        guard total > ConfigRanges.totalInstances, let last = workers.last else { return }
        diagnostics.report(Site(path: "workers", line: last.site.line, column: last.site.column),
                           "\(total) instances in all is above the maximum \(ConfigRanges.totalInstances)")
    }

    private func checkName(_ name: Located<String>) {
        let text = name.value
        let scalars = Array(text.unicodeScalars)
        let isStart: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        guard let first = scalars.first, isStart(first),
              scalars.allSatisfy({ isStart($0) || $0 == "_" || $0 == "-" }) else {
            diagnostics.report(name.site, "\(quoted(text)) is not a valid worker name (lower-case letters, digits, _ and -, starting with a letter or digit)")
            return
        }
        if scalars.count > Self.maxNameLength {
            diagnostics.report(name.site, "is \(scalars.count) characters long; at most \(Self.maxNameLength)")
        }
    }

    private func checkDependencies(_ workers: [WorkerFields], known: [String]) {
        let names = Set(known)
        var edges: [(name: String, dependsOn: [String])] = []
        var dependsOnSite: [String: Site] = [:]
        for worker in workers {
            guard let name = worker.name?.value, dependsOnSite[name] == nil else { continue }
            var targets: [String] = []
            for target in worker.dependsOn?.value ?? [] {
                if target.value == name {
                    diagnostics.report(target.site, "\(quoted(name)) cannot depend on itself")
                } else if !names.contains(target.value) {
                    let hint = Suggestion.hint(for: target.value, in: known.sorted())
                    diagnostics.report(target.site, "unknown worker \(quoted(target.value))\(hint)")
                } else {
                    targets.append(target.value)
                }
            }
            edges.append((name, targets))
            dependsOnSite[name] = worker.dependsOn?.site ?? worker.site
        }
        reportCycles(edges, sites: dependsOnSite)
    }

    /// Every cycle, one at a time: report the one found, cut the edge that closed it, look again.
    /// Each round removes an edge, so this ends.
    private func reportCycles(_ edges: [(name: String, dependsOn: [String])], sites: [String: Site]) {
        var edges = edges
        while let cycle = DependencyGraph(edges).cycle(), cycle.count >= 2 {
            let from = cycle[cycle.count - 2], to = cycle[cycle.count - 1]
            if let site = sites[cycle[0]] {
                diagnostics.report(site, "dependency cycle: \(cycle.joined(separator: " → "))")
            }
            guard let index = edges.firstIndex(where: { $0.name == from }) else { return }
            edges[index].dependsOn.removeAll { $0 == to }
        }
    }
}
