import Synchronization
import Testing

@testable import WorkerKit

@Suite("WorkerErrorGroup")
struct ErrorGroupTests {
    @Test func returnsBodyResultWhenNothingFails() async throws {
        let counter = Atomic<Int>(0)
        let result = try await withWorkerErrorGroup { group in
            for _ in 0..<10 {
                group.addTask { counter.add(1, ordering: .relaxed) }
            }
            return "done"
        }
        #expect(result == "done")
        let count = counter.load(ordering: .relaxed)
        #expect(count == 10)
    }

    @Test func firstFailureCancelsTheRest() async throws {
        let siblingCancelled = Atomic<Bool>(false)
        await #expect(throws: WorkerGroupError.self) {
            try await withWorkerErrorGroup { group in
                group.addTask(name: "sleeper") {
                    do {
                        try await Task.sleep(for: .seconds(60))
                    } catch {
                        siblingCancelled.store(true, ordering: .relaxed)
                        throw error
                    }
                }
                group.addTask(name: "failer") { throw WorkerError.transient("boom") }
            }
        }
        // Without the cancellation the sleeper would finish its 60 s and never set the flag.
        let cancelled = siblingCancelled.load(ordering: .relaxed)
        #expect(cancelled)
    }

    @Test func keepsEveryErrorAndWorstClassDecides() async throws {
        do {
            try await withWorkerErrorGroup { group in
                group.addTask(name: "fetch") { throw WorkerError.transient("timeout") }
                group.addTask(name: "verify") {
                    // Fails in its own way while the group winds down: kept, not dropped.
                    do {
                        try await Task.sleep(for: .seconds(60))
                    } catch {
                        throw WorkerError.corruption("checksum mismatch during cleanup")
                    }
                }
                group.addTask(name: "config") {
                    do {
                        try await Task.sleep(for: .seconds(60))
                    } catch {
                        throw WorkerError.persistent("credentials rejected")
                    }
                }
            }
            Issue.record("the group did not throw")
        } catch let error as WorkerGroupError {
            #expect(error.failures.count == 3)
            #expect(Set(error.failures.compactMap(\.task)) == ["fetch", "verify", "config"])
            #expect(error.failures.first?.task == "fetch")
            #expect(error.failureClass == .corruption)
            #expect(ExitDecision(error: error, stopRequested: false).code == .corruption)
        }
    }

    @Test func cancellationsAreNotFailures() async throws {
        do {
            try await withWorkerErrorGroup { group in
                group.addTask(name: "a") { try await Task.sleep(for: .seconds(60)) }
                group.addTask(name: "b") { throw WorkerError.persistent("no such table") }
            }
        } catch let error as WorkerGroupError {
            #expect(error.failures.map(\.task) == ["b"])
            #expect(error.failureClass == .persistent)
        }
    }

    @Test func cancelledGroupThrowsCancellation() async throws {
        let task = Task {
            try await withWorkerErrorGroup { group in
                group.addTask { try await Task.sleep(for: .seconds(60)) }
                group.addTask { try await Task.sleep(for: .seconds(60)) }
            }
        }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ExitDecision(error: result.failure, stopRequested: true).code == .success)
    }

    @Test func bodyErrorIsKept() async throws {
        do {
            try await withWorkerErrorGroup { group in
                group.addTask { try await Task.sleep(for: .seconds(60)) }
                throw WorkerError.corruption("index torn")
            }
        } catch let error as WorkerGroupError {
            #expect(error.failures.count == 1)
            #expect(error.failures[0].task == nil)
            #expect(error.failureClass == .corruption)
        }
    }

    @Test func bodySeesCancellationAfterAChildFails() async throws {
        let sawCancel = Atomic<Bool>(false)
        _ = try? await withWorkerErrorGroup { group in
            group.addTask { throw WorkerError.transient("x") }
            let deadline = ContinuousClock.now + .seconds(30)
            while !group.isCancelled && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
            sawCancel.store(group.isCancelled, ordering: .relaxed)
            #expect(!group.addTaskUnlessCancelled { Issue.record("added after cancel") })
        }
        let saw = sawCancel.load(ordering: .relaxed)
        #expect(saw)
    }

    @Test func contextErrorGroupIsTheSame() async throws {
        let context = WorkerContext(environment: .init(variables: [:], programName: "t", processID: 1), breadcrumbs: BreadcrumbRing(capacity: 4))
        await #expect(throws: WorkerGroupError.self) {
            try await context.errorGroup { group in
                group.addTask { throw WorkerError.persistent("p") }
            }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
