import Synchronization

/// Child tasks that fail together: the first failure cancels the others at once, every error
/// is kept with its class, and the group then throws one ``WorkerGroupError`` whose class (the
/// worst) decides the exit when it leaves `run`.
///
/// ```swift
/// try await context.errorGroup { group in
///     group.addTask(name: "fetch") { try await fetch() }
///     group.addTask(name: "push") { try await push() }
/// }
/// ```
///
/// Built on a throwing discarding task group, so finished children are freed at once and the
/// group suits long-lived lanes. The body runs in the calling task and is not cancelled by a
/// child's failure; a body that keeps adding tasks should check ``isCancelled``
/// (``addTaskUnlessCancelled(name:priority:operation:)`` does it for you).
///
/// Cancellation is not failure: `CancellationError`s thrown while the group winds down are
/// dropped, and a group that ends only with `CancellationError`s (a stop request) throws a plain
/// `CancellationError`, which WorkerKit's `main` turns into exit 0.
public struct WorkerErrorGroup {
    private var group: ThrowingDiscardingTaskGroup<any Error>
    private let collector: FailureCollector

    fileprivate init(group: ThrowingDiscardingTaskGroup<any Error>, collector: FailureCollector) {
        self.group = group
        self.collector = collector
    }

    /// Adds a child task. Its error, if any, is kept and cancels the group.
    public mutating func addTask(
        name: String? = nil,
        priority: TaskPriority? = nil,
        operation: @escaping @Sendable () async throws -> Void
    ) {
        group.addTask(name: name, priority: priority) { [collector] in
            try await collector.run(name: name, operation)
        }
    }

    /// Adds a child task unless the group is cancelled; returns whether it was added.
    @discardableResult
    public mutating func addTaskUnlessCancelled(
        name: String? = nil,
        priority: TaskPriority? = nil,
        operation: @escaping @Sendable () async throws -> Void
    ) -> Bool {
        group.addTaskUnlessCancelled(name: name, priority: priority) { [collector] in
            try await collector.run(name: name, operation)
        }
    }

    /// True once a child failed, the body threw, or the enclosing task was cancelled.
    public var isCancelled: Bool { group.isCancelled }

    /// Cancels every child.
    public func cancelAll() {
        group.cancelAll()
    }
}

/// Runs `body` with a ``WorkerErrorGroup`` and waits for all its children. Returns the body's
/// result when nothing failed; throws a ``WorkerGroupError`` holding every failure otherwise
/// (or `CancellationError` when the only errors were cancellations).
public func withWorkerErrorGroup<Result>(
    _ body: (inout WorkerErrorGroup) async throws -> Result
) async throws -> Result {
    let collector = FailureCollector()
    do {
        return try await withThrowingDiscardingTaskGroup(returning: Result.self) { group in
            var errorGroup = WorkerErrorGroup(group: group, collector: collector)
            do {
                return try await body(&errorGroup)
            } catch {
                collector.record(task: nil, error: error)
                throw error
            }
        }
    } catch {
        let failures = collector.failures
        guard !failures.isEmpty else { throw error is CancellationError ? error : CancellationError() }
        throw WorkerGroupError(failures: failures)
    }
}

/// The failures of one group, shared by its children.
private final class FailureCollector: Sendable {
    private let state = Mutex<[WorkerGroupError.Failure]>([])

    var failures: [WorkerGroupError.Failure] { state.withLock { $0 } }

    func run(name: String?, _ operation: @Sendable () async throws -> Void) async throws {
        do {
            try await operation()
        } catch {
            record(task: name, error: error)
            // Rethrowing is what makes the discarding group cancel the other children.
            throw error
        }
    }

    func record(task: String?, error: any Error) {
        guard !(error is CancellationError) else { return }
        state.withLock { $0.append(WorkerGroupError.Failure(task: task, error: error)) }
    }
}
