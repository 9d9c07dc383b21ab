import Glibc
import WorkerKit

/// The misbehaviours jobworker can be told to show. Each leaves a breadcrumb first, so the
/// crash report says what the worker was doing.
enum JobFaults {
    /// A Swift runtime trap: the process dies by SIGILL and no Swift code runs afterwards.
    static func trap(job: Int, kind: JobOptions.TrapKind) -> Never {
        Breadcrumbs.record("trapping", ["job": String(job), "kind": kind.rawValue])
        // Each result is used, so the optimiser cannot drop the operation that traps.
        switch kind {
        case .fatal:
            fatalError("job \(job): ledger invariant violated")
        case .unwrap:
            let account: Int? = job < 0 ? job : nil
            Breadcrumbs.record("unreachable", ["account": String(account!)])
        case .index:
            let lines = [Int](repeating: 0, count: job % 2)
            Breadcrumbs.record("unreachable", ["line": String(lines[job])])
        case .overflow:
            var total = Int.max
            total += job
            Breadcrumbs.record("unreachable", ["total": String(total)])
        }
        fatalError("job \(job): the \(kind) trap did not fire")
    }

    /// Blocks every thread of the cooperative pool (blocking syscalls in async code, the classic
    /// hang): no new job can start, so WorkerKit's watchdog probes stop running.
    static func blockCooperativePool(job: Int) -> Never {
        Breadcrumbs.record("blocking the executor", ["job": String(job)])
        // More blockers than any pool has threads; the queued ones simply never start.
        for _ in 0..<64 {
            Task.detached {
                while true { sleep(3600) }
            }
        }
        while true { sleep(3600) }
    }

    /// A main-actor job that never yields: it sleeps in a loop without ever awaiting.
    static func hogMainActor(job: Int) async -> Never {
        Breadcrumbs.record("hogging the main actor", ["job": String(job)])
        await MainActor.run {
            while true { usleep(100_000) }
        }
        fatalError("unreachable: the main actor loop never ends")
    }
}
