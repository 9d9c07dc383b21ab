import Testing

@testable import WorkerKit

private struct Unclassified: Error {}

private struct DiskFull: ClassifiedError {
    var failureClass: FailureClass { .persistent }
}

@Suite("Exit codes by failure class")
struct ExitCodeTests {
    @Test func documentedCodes() {
        #expect(WorkerExitCode.success.rawValue == 0)
        #expect(WorkerExitCode.transient.rawValue == 75)
        #expect(WorkerExitCode.persistent.rawValue == 78)
        #expect(WorkerExitCode.corruption.rawValue == 86)
    }

    @Test(arguments: [
        (FailureClass.transient, Int32(75)),
        (FailureClass.persistent, Int32(78)),
        (FailureClass.corruption, Int32(86)),
    ])
    func classMapsToCode(failureClass: FailureClass, code: Int32) {
        #expect(failureClass.exitCode.rawValue == code)
        #expect(ExitDecision(error: WorkerError(failureClass, "x"), stopRequested: false).code.rawValue == code)
    }

    @Test func severityOrder() {
        #expect(FailureClass.transient < .persistent)
        #expect(FailureClass.persistent < .corruption)
        #expect([FailureClass.persistent, .corruption, .transient].max() == .corruption)
    }

    @Test func classOfAnyError() {
        #expect(FailureClass(of: Unclassified()) == .transient)
        #expect(FailureClass(of: DiskFull()) == .persistent)
        #expect(FailureClass(of: WorkerError.corruption("bad block")) == .corruption)
        #expect(FailureClass(of: CancellationError()) == .transient)
    }

    @Test func normalReturnIsZero() {
        let decision = ExitDecision(error: nil, stopRequested: false)
        #expect(decision.code == .success)
        #expect(decision.message == nil)
    }

    @Test func unclassifiedErrorIsTransient() {
        let decision = ExitDecision(error: Unclassified(), stopRequested: false)
        #expect(decision.code.rawValue == 75)
        #expect(decision.failureClass == .transient)
        #expect(decision.priority == .error)
        #expect(decision.message == "run failed (transient, exit 75): Unclassified()")
    }

    @Test func cancellationByStopIsZero() {
        let decision = ExitDecision(error: CancellationError(), stopRequested: true)
        #expect(decision.code == .success)
        #expect(decision.message == nil)
    }

    @Test func cancellationWithoutStopIsTransient() {
        #expect(ExitDecision(error: CancellationError(), stopRequested: false).code == .transient)
    }

    @Test func unclassifiedErrorAfterStopIsZeroButSaid() {
        let decision = ExitDecision(error: Unclassified(), stopRequested: true)
        #expect(decision.code == .success)
        #expect(decision.priority == .notice)
        #expect(decision.message?.contains("after the stop request") == true)
    }

    @Test func classifiedErrorSurvivesStop() {
        #expect(ExitDecision(error: WorkerError.corruption("torn page"), stopRequested: true).code == .corruption)
        #expect(ExitDecision(error: DiskFull(), stopRequested: true).code == .persistent)
    }

    @Test func linePriorityFollowsClass() {
        #expect(ExitDecision(error: WorkerError.transient("t"), stopRequested: false).priority == .error)
        #expect(ExitDecision(error: WorkerError.persistent("p"), stopRequested: false).priority == .critical)
        #expect(ExitDecision(error: WorkerError.corruption("c"), stopRequested: false).priority == .alert)
    }

    @Test(arguments: [
        ([FailureClass.transient, .transient], Int32(75)),
        ([FailureClass.transient, .persistent], Int32(78)),
        ([FailureClass.persistent, .corruption, .transient], Int32(86)),
        ([FailureClass.corruption], Int32(86)),
    ])
    func groupErrorExitsWithWorstClass(classes: [FailureClass], code: Int32) {
        let group = WorkerGroupError(failures: classes.enumerated().map { index, failureClass in
            .init(task: "t\(index)", error: WorkerError(failureClass, "failure \(index)"))
        })
        #expect(group.failureClass.exitCode.rawValue == code)
        #expect(ExitDecision(error: group, stopRequested: false).code.rawValue == code)
    }

    @Test func groupOfUnclassifiedErrorsAfterStopIsZero() {
        let group = WorkerGroupError(failures: [.init(task: "a", error: Unclassified())])
        #expect(ExitDecision(error: group, stopRequested: true).code == .success)
        #expect(ExitDecision(error: group, stopRequested: false).code == .transient)
    }

    @Test func workerErrorDescription() {
        #expect(WorkerError.transient("fetch failed", underlying: Unclassified()).description == "fetch failed: Unclassified()")
        let group = WorkerGroupError(failures: [
            .init(task: "fetch", error: WorkerError.transient("timeout")),
            .init(task: nil, error: WorkerError.corruption("bad page")),
        ])
        #expect(group.description == "2 tasks failed (worst: corruption): [transient] fetch: timeout; [corruption] bad page")
    }
}
