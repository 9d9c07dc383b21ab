import Glibc
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import WorkerKit

@testable import WorkerKitLifecycle

/// `WorkerService` in this process, in real `ServiceGroup`s, speaking to a real notify socket.
/// (The process-wide part, signals and exit codes, is tested with hello-server as a child.)
@Suite("WorkerService in a service group", .timeLimit(.minutes(2)))
struct WorkerServiceTests {
    @Test func readyOnceStartedThenStoppingWhenTheGroupShutsDown() async throws {
        let (service, notify) = try makeService(readiness: .whenStarted)
        let idle = IdleService()
        let group = service.makeGroup(services: [idle], logger: quietLogger)
        let run = Task { await service.runGroup(group) }

        let ready = try #require(await notify.waitFor("READY=1"))
        await group.triggerGracefulShutdown()
        let error = await run.value
        #expect(error == nil)
        let stopping = try #require(await notify.waitFor("STOPPING=1"), "a group that shuts itself down says so")
        #expect(ready.receivedAt < stopping.receivedAt)
        #expect(idle.shutDownGracefully)
    }

    @Test func manualReadinessWaitsForReadyAndCarriesTheStatus() async throws {
        let (service, notify) = try makeService(readiness: .manual)
        let group = service.makeGroup(services: [IdleService()], logger: quietLogger)
        let run = Task { await service.runGroup(group) }

        // The group runs; nothing is ready until the app says so.
        await notify.collect(until: deadline(in: 0.3))
        #expect(!notify.datagrams.contains { $0.contains("READY=1") }, "\(notify.datagrams)")
        service.ready(status: "serving on 127.0.0.1:8080")
        let ready = try #require(await notify.waitFor("READY=1"))
        #expect(ready.value(of: "STATUS") == "serving on 127.0.0.1:8080")

        await group.triggerGracefulShutdown()
        #expect(await run.value == nil)
    }

    @Test func aStopRequestShutsTheGroupDownGracefully() async throws {
        let (service, notify) = try makeService(readiness: .whenStarted)
        let draining = DrainingService()
        let group = service.makeGroup(services: [draining], logger: quietLogger)
        let run = Task { await service.runGroup(group) }
        try #require(await notify.waitFor("READY=1") != nil)

        service.context.stop.request(signal: SIGTERM)  // what the signal thread does on SIGTERM
        #expect(await notify.waitFor("STOPPING=1") != nil)
        let error = await run.value
        #expect(error == nil)
        #expect(draining.finishedInFlightWork, "graceful, not cancelled")
        #expect(ExitDecision(error: error, stopRequested: true).code == .success)
    }

    @Test func aGroupBuiltByHandShutsDownGracefullyWhenTheServiceEnds() async throws {
        // No runGroup: the stop ends WorkerService.run, and its serviceConfiguration
        // (.gracefullyShutdownGroup) turns that into the group's graceful shutdown.
        let (service, notify) = try makeService(readiness: .whenStarted)
        let draining = DrainingService()
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: draining), service.serviceConfiguration], logger: quietLogger)
        )
        let run = Task { try await group.run() }
        try #require(await notify.waitFor("READY=1") != nil)

        service.context.stop.request(signal: SIGTERM)
        try await run.value
        #expect(draining.finishedInFlightWork)
    }

    @Test(arguments: FailureClass.allCases)
    func aFailingServiceDecidesTheExitByItsClass(failureClass: FailureClass) async throws {
        let (service, notify) = try makeService(readiness: .whenStarted)
        let failing = FailingService(error: WorkerError(failureClass, "cache refresh failed"))
        let group = service.makeGroup(services: [IdleService(), failing], logger: quietLogger)
        let run = Task { await service.runGroup(group) }
        try #require(await notify.waitFor("READY=1") != nil)

        failing.fail()
        let error = try #require(await run.value)
        let decision = ExitDecision(error: error, stopRequested: service.context.isStopping)
        #expect(decision.code == failureClass.exitCode)
        #expect(decision.message == "run failed (\(failureClass), exit \(failureClass.exitCode)): cache refresh failed")
        await notify.collect(until: deadline(in: 0.2))
        #expect(!notify.datagrams.contains { $0.contains("STOPPING=1") }, "a failure is no stop")
    }

    @Test func aServiceThatEndsUnexpectedlyIsTransient() async throws {
        let (service, _) = try makeService(readiness: .whenStarted)
        let group = service.makeGroup(services: [ReturningService()], logger: quietLogger)
        let error = try #require(await service.runGroup(group))
        #expect(error is ServiceGroupError)
        #expect(ExitDecision(error: error, stopRequested: false).code == .transient)
    }

    @Test func noReadinessWhenTheGroupFailsBeforeItIsReady() async throws {
        let (service, notify) = try makeService(readiness: .manual)
        let failing = FailingService(error: WorkerError.persistent("no database"))
        let group = service.makeGroup(services: [failing], logger: quietLogger)
        let run = Task { await service.runGroup(group) }
        failing.fail()
        #expect(await run.value != nil)
        service.ready()  // too late: the group is gone
        await notify.collect(until: deadline(in: 0.2))
        #expect(!notify.datagrams.contains { $0.contains("READY=1") }, "\(notify.datagrams)")
    }

    // MARK: helpers

    /// A service over a context whose NOTIFY_SOCKET is a receiver of this test's own.
    private func makeService(readiness: WorkerService.Readiness) throws -> (WorkerService, NotifyReceiver) {
        let notify = try NotifyReceiver()
        let environment = WorkerEnvironment(variables: ["NOTIFY_SOCKET": notify.address], programName: "lifecycle-test", processID: getpid())
        let context = WorkerContext(environment: environment, breadcrumbs: BreadcrumbRing(capacity: 16), logger: quietLogger)
        return (WorkerService(context: context, readiness: readiness, process: nil), notify)
    }
}

private let quietLogger: Logger = {
    var logger = Logger(label: "lifecycle-test")
    logger.logLevel = .critical
    return logger
}()

/// Runs until the group shuts down (or cancels it).
private final class IdleService: Service {
    private let sawGracefulShutdown = Atomic<Bool>(false)
    var shutDownGracefully: Bool { sawGracefulShutdown.load(ordering: .relaxed) }

    func run() async throws {
        do {
            try await gracefulShutdown()
            sawGracefulShutdown.store(true, ordering: .relaxed)
        } catch {}  // cancelled
    }
}

/// On graceful shutdown, finishes a piece of in-flight work before it returns; cancelled, it
/// returns without finishing.
private final class DrainingService: Service {
    private let finished = Atomic<Bool>(false)
    var finishedInFlightWork: Bool { finished.load(ordering: .relaxed) }

    func run() async throws {
        try await gracefulShutdown()
        try await Task.sleep(for: .milliseconds(100))  // the in-flight work: cancellation would cut it short
        finished.store(true, ordering: .relaxed)
    }
}

/// Throws its error when told to.
private final class FailingService: Service {
    private let error: WorkerError
    private let (orders, continuation) = AsyncStream.makeStream(of: Void.self)

    init(error: WorkerError) {
        self.error = error
    }

    func fail() {
        continuation.yield()
    }

    func run() async throws {
        for await _ in orders {
            throw error
        }
    }
}

/// Returns at once: a service that ends unexpectedly.
private struct ReturningService: Service {
    func run() async throws {}
}
