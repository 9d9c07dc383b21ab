import Foundation
import Testing

/// SPEC §7/§8: breadcrumbs written into the shared ring before a trap are in the crash report;
/// `detect_latency_us` says how long bulkhead took to notice the death.
@Suite("Breadcrumbs and detection latency")
struct BreadcrumbTests {
    @Test("breadcrumbs written before a trap are in the report, in order, and only this run's")
    func breadcrumbs() async throws {
        try await withDaemon("""
        defaults:
          backoff: { initial: 200ms, max: 200ms, jitter: 0 }
          crash_loop: { same_crash: 0, max_restarts: 1, window: 1h, cooldown: 1h }
        workers:
          - name: crumbs
            command: [{{crashlab}}, --breadcrumb, "order 42: charging card", --breadcrumb, "order 42: card charged", --die, fatal-error]
          - name: bare
            command: [{{crashlab}}, --die, fatal-error]
        """) { daemon in
            let first = try await daemon.next("crumbs:0", "exit")
            let second = try await daemon.next("crumbs:0", "exit", after: first.index + 1)
            for exit in [first, second] {
                let report = try daemon.report(for: exit)
                let crumbs = try #require(report["breadcrumbs"] as? [[String: Any]])
                // The ring is reset at every spawn: the second run's report has its own two only.
                #expect(crumbs.compactMap { $0["text"] as? String } == ["order 42: charging card", "order 42: card charged"], "\(crumbs)")
                let sequence = crumbs.compactMap { $0["seq"] as? Int }
                #expect(sequence == sequence.sorted() && Set(sequence).count == sequence.count, "\(sequence)")
                #expect(crumbs.allSatisfy { ($0["at"] as? String)?.hasSuffix("Z") == true })

                let latency = try #require(report["detect_latency_us"] as? Int, "\(report["detect_latency_us"] ?? "nil")")
                let source = report["detect_latency_source"] as? String ?? ""
                if source == "worker exit stamp" {
                    // The fallback counts from just before the trap, so the backtracer's run (a
                    // second or more on a loaded machine) is part of it.
                    #expect(latency > 0 && latency < 10_000_000, "detect_latency_us \(latency) (\(source))")
                } else {
                    #expect(source == "kernel exit event", "detect_latency_source \(source)")
                    #expect(latency > 0 && latency < 1_000_000, "detect_latency_us \(latency) (\(source))")
                }
            }
            let bare = try daemon.report(for: try await daemon.next("bare:0", "exit"))
            #expect((bare["breadcrumbs"] as? [Any])?.isEmpty == true, "\(bare["breadcrumbs"] ?? "nil")")
        }
    }
}
